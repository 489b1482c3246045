package sweep_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/google/go-cmp/cmp"

	"github.com/eventwire/eventwire/internal/aws/lambdasvc"
	"github.com/eventwire/eventwire/internal/contract"
	"github.com/eventwire/eventwire/internal/deployer/bucket"
	"github.com/eventwire/eventwire/internal/deployer/compose"
	"github.com/eventwire/eventwire/internal/deployer/sweep"
	"github.com/eventwire/eventwire/internal/reconcile"
	"github.com/eventwire/eventwire/internal/records"
	"github.com/eventwire/eventwire/internal/testkit/awsfixture"
	"github.com/eventwire/eventwire/internal/testkit/deployertest"
	"github.com/eventwire/eventwire/internal/wiring"
)

const account = "123456789012"

// sweepWorld is a world with the sweep queue, and handlers that sweep
// (report only, and heal), writing their metric lines to metrics.
type sweepWorld struct {
	*deployertest.World
	queueURL, queueARN string
	sqs                *sqs.Client
	metrics            *bytes.Buffer
	api                awsfixture.API
}

func newSweepWorld(t *testing.T) *sweepWorld {
	t.Helper()
	w := deployertest.NewWorld(t, nil, nil)
	sw := &sweepWorld{World: w, sqs: w.Fixture.SQS, metrics: &bytes.Buffer{}}
	ctx := context.Background()
	var err error
	if sw.queueARN, err = w.Fixture.Queue(ctx, "eventwire-sweep"); err != nil {
		t.Fatal(err)
	}
	u, err := w.Fixture.SQS.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("eventwire-sweep")})
	if err != nil {
		t.Fatal(err)
	}
	sw.queueURL = aws.ToString(u.QueueUrl)
	return sw
}

// handler is the deployer's handler with the sweep configured; heal sets
// heal mode.
func (sw *sweepWorld) handler(heal bool) *compose.Handler {
	cfg := sw.Config
	cfg.Deployer = reconcile.New(sw.Env.AWS, reconcile.Options{})
	cfg.Sweep = sweep.Config{
		QueueARN: sw.queueARN, QueueURL: sw.queueURL, SQS: sw.sqs, Heal: heal,
		Mappings: lambdasvc.NewMappings(sw.Fixture.Lambda), Metrics: sw.metrics,
	}
	return compose.New(cfg)
}

// sweepTimeout bounds one sweep of a test (every batch of it).
const sweepTimeout = 3 * time.Minute

// sweep starts a sweep, then delivers its checks (start, drain).
func (sw *sweepWorld) sweep(h *compose.Handler) []string {
	sw.T.Helper()
	sw.start(h)
	return sw.drain(h)
}

// start starts a sweep with the schedule's event (the checks are left on
// the queue).
func (sw *sweepWorld) start(h *compose.Handler) {
	sw.T.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), sweepTimeout)
	defer cancel()
	scheduled := json.RawMessage(`{"version":"0","id":"1","detail-type":"Scheduled Event","source":"aws.events","account":"123456789012",` +
		`"time":"2026-12-01T03:00:00Z","region":"us-east-1","resources":["arn:aws:events:us-east-1:123456789012:rule/sweep"],"detail":{}}`)
	if err := h.Handle(ctx, scheduled); err != nil {
		sw.T.Fatalf("scheduled sweep: %v", err)
	}
}

// drain delivers the sweep queue's messages to the handler, as the
// deployer's mapping would (batches of up to 10, failed items left on the
// queue), and returns the messages as "FUNCTION KIND".
func (sw *sweepWorld) drain(h *compose.Handler) []string {
	sw.T.Helper()
	// Bounded: a check that hangs fails the test instead of hanging it.
	ctx, cancel := context.WithTimeout(context.Background(), sweepTimeout)
	defer cancel()
	var got []string
	for {
		out, err := sw.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(sw.queueURL), MaxNumberOfMessages: 10, VisibilityTimeout: 60})
		if err != nil {
			sw.T.Fatal(err)
		}
		if len(out.Messages) == 0 {
			break
		}
		ev := sweep.SQSEventFor(sw.queueARN, "us-east-1", out.Messages)
		for _, m := range out.Messages {
			var msg contract.SweepMessage
			if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &msg); err != nil {
				sw.T.Fatal(err)
			}
			got = append(got, msg.Function+" "+msg.Kind)
		}
		raw, _ := json.Marshal(ev)
		ictx := lambdacontext.NewContext(ctx, &lambdacontext.LambdaContext{AwsRequestID: fmt.Sprintf("sweep-%d", sw.Seq.Add(1))})
		resp, err := h.Invoke(ictx, raw)
		if err != nil {
			sw.T.Fatalf("sweep batch: %v", err)
		}
		failed := map[string]bool{}
		for _, f := range resp.BatchItemFailures {
			failed[f.ItemIdentifier] = true
		}
		for _, m := range out.Messages {
			if failed[aws.ToString(m.MessageId)] {
				sw.T.Errorf("check failed: %s", aws.ToString(m.Body))
				continue
			}
			if _, err := sw.sqs.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(sw.queueURL), ReceiptHandle: m.ReceiptHandle}); err != nil {
				sw.T.Fatal(err)
			}
		}
	}
	sort.Strings(got)
	return got
}

// results are the latest drift results as "FUNCTION OUTCOME CHANGES".
func (sw *sweepWorld) results() []string {
	sw.T.Helper()
	rs, err := sw.Store.DriftResults(context.Background())
	if err != nil {
		sw.T.Fatal(err)
	}
	var out []string
	for _, r := range rs {
		out = append(out, fmt.Sprintf("%s %s %d", r.Function, r.Outcome, r.Changes))
	}
	return out
}

// plans are the latest drift results' plans, by function.
func (sw *sweepWorld) plans() map[string]string {
	sw.T.Helper()
	rs, err := sw.Store.DriftResults(context.Background())
	if err != nil {
		sw.T.Fatal(err)
	}
	out := map[string]string{}
	for _, r := range rs {
		out[r.Function] = r.Plan
	}
	return out
}

// metricLines returns the metric lines written since the last call, each
// re-encoded with its timestamp, request id and duration zeroed.
func (sw *sweepWorld) metricLines() string {
	sw.T.Helper()
	var out []string
	for _, line := range strings.Split(strings.TrimSpace(sw.metrics.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			sw.T.Fatalf("metric line is not JSON: %v: %s", err, line)
		}
		m["_aws"].(map[string]any)["Timestamp"] = 0
		if _, ok := m["SweepDurationSeconds"]; ok {
			m["SweepDurationSeconds"] = 0
		}
		if _, ok := m["requestId"]; ok {
			m["requestId"] = "REQUEST"
		}
		b, _ := json.Marshal(m)
		out = append(out, string(b))
	}
	sw.metrics.Reset()
	return strings.Join(out, "\n") + "\n"
}

// apply uploads each function's file and delivers its event.
func (sw *sweepWorld) apply(files map[string]string) {
	sw.T.Helper()
	var fns []string
	for fn := range files {
		fns = append(fns, fn)
	}
	sort.Strings(fns)
	for _, fn := range fns {
		key := fn + "/_lambdaeventsourcedef.json"
		v := sw.Put(key, files[fn])
		b, _ := json.Marshal(bucket.S3PutEvent(deployertest.Bucket, key, v, sw.NextSequencer()))
		sw.Deliver(b)
	}
}

// wireQueues creates each function and its queue q-FN, and applies a file
// wiring the one to the other (BatchSize 5) through its S3 event.
func (sw *sweepWorld) wireQueues(fns ...string) {
	sw.T.Helper()
	sw.mustFunction(fns...)
	files := map[string]string{}
	for _, fn := range fns {
		if _, err := sw.Fixture.Queue(context.Background(), "q-"+fn); err != nil {
			sw.T.Fatal(err)
		}
		files[fn] = queueFile(fn, 5)
	}
	sw.apply(files)
}

// mapping returns fn's mapping (the first Lambda lists for it).
func (sw *sweepWorld) mapping(fn string) (uuid string, batch int32, state string) {
	sw.T.Helper()
	out, err := sw.Fixture.Lambda.ListEventSourceMappings(context.Background(), &awslambda.ListEventSourceMappingsInput{FunctionName: aws.String(functionARN(fn))})
	if err != nil || len(out.EventSourceMappings) == 0 {
		sw.T.Fatalf("mapping of %s: %v (%d)", fn, err, len(out.EventSourceMappings))
	}
	m := out.EventSourceMappings[0]
	return aws.ToString(m.UUID), aws.ToInt32(m.BatchSize), aws.ToString(m.State)
}

func (sw *sweepWorld) mustFunction(names ...string) {
	sw.T.Helper()
	for _, n := range names {
		if _, err := sw.Fixture.Function(context.Background(), n); err != nil {
			sw.T.Fatal(err)
		}
		sw.Functions = append(sw.Functions, n)
	}
}

func queueFile(fn string, batch int) string { return deployertest.SQSFile(fn, "q-"+fn, batch) }

// Through the real handler on moto: files applied through S3 events, then
// AWS changed by hand (a BatchSize, a disabled mapping, a removed
// permission statement, a deregistered target, a detached route), a
// managed mapping of a function no file declares (an orphan) and a
// function torn down by its file's removal. The scheduled sweep enqueues
// one check per function; the checks, delivered as the queue's mapping
// would, report (changing nothing), then heal with heal on, after which a
// sweep finds everything in sync.
func TestSweep_DriftReportedThenHealed(t *testing.T) {
	sw := newSweepWorld(t)
	ctx := context.Background()
	fns := []string{"batch", "paused", "perm", "target", "route", "insync", "retired", "stray"}
	sw.mustFunction(fns...)
	for _, q := range []string{"batch", "paused", "insync", "retired", "stray"} {
		if _, err := sw.Fixture.Queue(ctx, "q-"+q); err != nil {
			t.Fatal(err)
		}
	}
	tgPerm, err := sw.Fixture.TargetGroup(ctx, "tg-perm")
	if err != nil {
		t.Fatal(err)
	}
	tgTarget, err := sw.Fixture.TargetGroup(ctx, "tg-target")
	if err != nil {
		t.Fatal(err)
	}
	if sw.api, err = sw.Fixture.HTTPAPI(ctx, "shop", []string{"POST /orders"}, nil); err != nil {
		t.Fatal(err)
	}
	elbFile := func(fn, tg string) string {
		return fmt.Sprintf(`{"FunctionName": %q, "PushEventSources": [{"Service": "elasticloadbalancing.amazonaws.com", "TargetGroupArn": %q}]}`, fn, tg)
	}
	sw.apply(map[string]string{
		"batch": queueFile("batch", 5), "paused": queueFile("paused", 5), "insync": queueFile("insync", 5), "retired": queueFile("retired", 5),
		"perm": elbFile("perm", tgPerm), "target": elbFile("target", tgTarget),
		"route": fmt.Sprintf(`{"FunctionName": "route", "PushEventSources": [{"Service": "apigateway.amazonaws.com", "ApiId": %q, "RouteId": %q}]}`,
			sw.api.ID, sw.api.Routes["POST /orders"]),
	})
	sw.Deliver(sw.Delete("retired/_lambdaeventsourcedef.json"))

	// By hand.
	uuid, _, _ := sw.mapping("batch")
	noErr(t)(sw.Fixture.Lambda.UpdateEventSourceMapping(ctx, &awslambda.UpdateEventSourceMappingInput{UUID: aws.String(uuid), BatchSize: aws.Int32(9)}))
	uuid, _, _ = sw.mapping("paused")
	noErr(t)(sw.Fixture.Lambda.UpdateEventSourceMapping(ctx, &awslambda.UpdateEventSourceMappingInput{UUID: aws.String(uuid), Enabled: aws.Bool(false)}))
	for _, sid := range sw.statements("perm") {
		noErr(t)(sw.Fixture.Lambda.RemovePermission(ctx, &awslambda.RemovePermissionInput{FunctionName: aws.String("perm"), StatementId: aws.String(sid)}))
	}
	noErr(t)(sw.Fixture.ELB.DeregisterTargets(ctx, &elasticloadbalancingv2.DeregisterTargetsInput{TargetGroupArn: aws.String(tgTarget),
		Targets: []elbtypes.TargetDescription{{Id: aws.String(functionARN("target"))}}}))
	for _, id := range sw.integrations() {
		noErr(t)(sw.Fixture.API.DeleteIntegration(ctx, &apigatewayv2.DeleteIntegrationInput{ApiId: aws.String(sw.api.ID), IntegrationId: aws.String(id)}))
	}
	// A managed mapping no live file declares (as `eventwire apply`
	// without a table leaves it once its file is gone).
	noErr(t)(sw.Fixture.Lambda.CreateEventSourceMapping(ctx, &awslambda.CreateEventSourceMappingInput{FunctionName: aws.String(functionARN("stray")),
		EventSourceArn: aws.String("arn:aws:sqs:us-east-1:123456789012:q-stray"), Tags: map[string]string{wiring.TagKey: "stray"}}))

	// Report only.
	wantMessages := []string{"batch declared", "insync declared", "paused declared", "perm declared", "retired orphan",
		"route declared", "stray orphan", "target declared"}
	if diff := cmp.Diff(wantMessages, sw.sweep(sw.handler(false))); diff != "" {
		t.Errorf("sweep messages (-want +got):\n%s", diff)
	}
	want := []string{"batch drifted 1", "insync in-sync 0", "paused drifted 1", "perm drifted 1", "route drifted 2", "stray orphaned 1", "target drifted 1"}
	if diff := cmp.Diff(want, sw.results()); diff != "" {
		t.Errorf("drift results (-want +got):\n%s", diff)
	}
	plans := sw.plans()
	for fn, text := range map[string]string{
		"batch": "BatchSize: 9 → 5", "paused": "Enabled: false → true", "perm": "+ create      permission eventwire-",
		"target": "+ create      elb-target", "route": "+ create      apigateway-integration",
		"stray": "- delete      event-source-mapping arn:aws:sqs:us-east-1:123456789012:q-stray",
	} {
		if !strings.Contains(plans[fn], text) {
			t.Errorf("plan of %s lacks %q:\n%s", fn, text, plans[fn])
		}
	}
	if _, batch, _ := sw.mapping("batch"); batch != 9 {
		t.Errorf("report only: BatchSize %d, want 9 still", batch)
	}
	if got := sw.Outcomes("batch"); len(got) != 2 || got[0] != "drifted check s3://"+deployertest.Bucket+"/batch/_lambdaeventsourcedef.json?versionId="+sw.active(t, "batch") {
		t.Errorf("history of batch: %q", got)
	}
	deployertest.Golden(t, "sweep-metrics-report.golden", sw.metricLines())

	// Heal.
	// retired was forgotten: nothing of it was left.
	if diff := cmp.Diff(without(wantMessages, "retired orphan"), sw.sweep(sw.handler(true))); diff != "" {
		t.Errorf("sweep messages, heal (-want +got):\n%s", diff)
	}
	want = []string{"batch healed 1", "insync in-sync 0", "paused healed 1", "perm healed 1", "route healed 2", "stray pruned 1", "target healed 1"}
	if diff := cmp.Diff(want, sw.results()); diff != "" {
		t.Errorf("drift results after heal (-want +got):\n%s", diff)
	}
	deployertest.Golden(t, "sweep-metrics-heal.golden", sw.metricLines())
	sw.checkHealed(tgPerm, tgTarget)

	// In sync.
	if diff := cmp.Diff([]string{"batch declared", "insync declared", "paused declared", "perm declared", "route declared", "target declared"},
		sw.sweep(sw.handler(false))); diff != "" {
		t.Errorf("sweep messages after heal (-want +got):\n%s", diff)
	}
	want = []string{"batch in-sync 0", "insync in-sync 0", "paused in-sync 0", "perm in-sync 0", "route in-sync 0", "stray pruned 1", "target in-sync 0"}
	if diff := cmp.Diff(want, sw.results()); diff != "" {
		t.Errorf("drift results after heal (-want +got):\n%s", diff)
	}
}

// checkHealed: AWS is back to the files, and the orphan's mapping is gone.
func (sw *sweepWorld) checkHealed(tgPerm, tgTarget string) {
	sw.T.Helper()
	if _, batch, _ := sw.mapping("batch"); batch != 5 {
		sw.T.Errorf("healed: BatchSize %d, want 5", batch)
	}
	if _, _, state := sw.mapping("paused"); state != "Enabled" {
		sw.T.Errorf("healed: paused mapping %s", state)
	}
	if len(sw.statements("perm")) != 1 {
		sw.T.Errorf("healed: perm's statements %v", sw.statements("perm"))
	}
	th, err := sw.Fixture.ELB.DescribeTargetHealth(context.Background(), &elasticloadbalancingv2.DescribeTargetHealthInput{TargetGroupArn: aws.String(tgTarget)})
	if err != nil || len(th.TargetHealthDescriptions) != 1 {
		sw.T.Errorf("healed: targets of tg-target: %v %v", th, err)
	}
	if len(sw.integrations()) != 1 {
		sw.T.Errorf("healed: route's integrations %v", sw.integrations())
	}
	out, err := sw.Fixture.Lambda.ListEventSourceMappings(context.Background(), &awslambda.ListEventSourceMappingsInput{FunctionName: aws.String(functionARN("stray"))})
	if err != nil || len(out.EventSourceMappings) != 0 {
		sw.T.Errorf("pruned: stray's mappings %v %v", out, err)
	}
}

// statements are eventwire's statement ids in fn's policy.
func (sw *sweepWorld) statements(fn string) []string {
	pol, err := sw.Fixture.Lambda.GetPolicy(context.Background(), &awslambda.GetPolicyInput{FunctionName: aws.String(fn)})
	if err != nil {
		return nil
	}
	return regexp.MustCompile(`eventwire-[0-9a-f]+`).FindAllString(aws.ToString(pol.Policy), -1)
}

// integrations are the ids of eventwire's integrations of the API.
func (sw *sweepWorld) integrations() []string {
	out, err := sw.Fixture.API.GetIntegrations(context.Background(), &apigatewayv2.GetIntegrationsInput{ApiId: aws.String(sw.api.ID)})
	if err != nil {
		sw.T.Fatal(err)
	}
	var ids []string
	for _, i := range out.Items {
		if wiring.IsIntegrationDescription(aws.ToString(i.Description)) {
			ids = append(ids, aws.ToString(i.IntegrationId))
		}
	}
	return ids
}

// active is the version of fn's active declaration.
func (sw *sweepWorld) active(t *testing.T, fn string) string {
	_, a, err := sw.Store.Declarations(context.Background(), fn)
	if err != nil || a == nil {
		t.Fatalf("active declaration of %s: %v %v", fn, a, err)
	}
	return a.Source.Version
}

func functionARN(fn string) string { return "arn:aws:lambda:us-east-1:" + account + ":function:" + fn }

// noErr fails the test on the error of a call: noErr(t)(f()).
func noErr(t *testing.T) func(any, error) {
	return func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
}

func without(l []string, s string) []string {
	var out []string
	for _, x := range l {
		if x != s {
			out = append(out, x)
		}
	}
	return out
}

// A sweep message is held to the bounds a definition file is, whoever
// sent it: a check (or a deferred teardown) of a function outside the
// deployer's prefix, or of a kind it does not know, is dropped and logged,
// and nothing is checked, recorded or pruned.
func TestSweep_MessageOutOfBounds_Dropped(t *testing.T) {
	sw := newSweepWorld(t)
	sw.Config.FunctionPrefix = "shop-"
	h := sw.handler(true)
	var msgs []sqstypes.Message
	for i, m := range []contract.SweepMessage{
		{Function: "payroll", Kind: records.KindOrphan, Sweep: "forged"},
		{Function: "payroll", Kind: contract.SweepKindTeardown, Sweep: "forged"},
		{Function: "shop-orders", Kind: "prune-everything", Sweep: "forged"},
	} {
		body, _ := json.Marshal(m)
		msgs = append(msgs, sqstypes.Message{MessageId: aws.String(fmt.Sprint("m", i)), ReceiptHandle: aws.String("r"), Body: aws.String(string(body))})
	}
	raw, _ := json.Marshal(sweep.SQSEventFor(sw.queueARN, "us-east-1", msgs))
	resp, err := h.Invoke(context.Background(), raw)
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("Invoke: %v, %+v; want every message dropped, none failed", err, resp)
	}
	if got := sw.Log.Grep(sweep.OutOfBoundsLogMessage); len(got) != 3 {
		t.Errorf("log lines %q: %q, want 3", sweep.OutOfBoundsLogMessage, got)
	}
	if got := sw.results(); len(got) != 0 {
		t.Errorf("drift results %v, want none", got)
	}
}
