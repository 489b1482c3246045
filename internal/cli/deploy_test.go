package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/eventwire/eventwire/internal/plan"
	"github.com/eventwire/eventwire/internal/testkit/awsfixture"
	"github.com/eventwire/eventwire/internal/testkit/mototest"
	"github.com/eventwire/eventwire/internal/wiring"
)

func TestMain(m *testing.M) { mototest.Main(m) }

// world is one test's emulated account, and a way to run the CLI in it.
type world struct {
	t     *testing.T
	dir   string
	cfg   aws.Config
	calls *mototest.Calls
	fx    *awsfixture.Fixture
	fnArn string
}

func newWorld(t *testing.T) *world {
	t.Helper()
	srv := mototest.Fresh(t)
	w := &world{t: t, dir: t.TempDir(), cfg: srv.Config(t)}
	w.fx = awsfixture.New(srv.Config(t)) // unrecorded: fixtures are not eventwire's calls
	w.calls = mototest.Record(&w.cfg)
	arn, err := w.fx.Function(context.Background(), "orders")
	if err != nil {
		t.Fatal(err)
	}
	w.fnArn = arn
	return w
}

// write puts a definition file for the function into the world's folder.
func (w *world) write(doc string) string {
	w.t.Helper()
	path := filepath.Join(w.dir, "orders", "_lambdaeventsourcedef.json")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		w.t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		w.t.Fatal(err)
	}
	return path
}

// run runs the CLI with the world's AWS configuration and returns the exit
// code, stdout and stderr.
func (w *world) run(args ...string) (int, string, string) {
	w.t.Helper()
	var stdout, stderr bytes.Buffer
	env := Env{
		Stdin:  strings.NewReader(""),
		Stdout: &stdout,
		Stderr: &stderr,
		AWSConfig: func(context.Context) (aws.Config, error) {
			return w.cfg, nil
		},
	}
	code := Run(context.Background(), args, env)
	return code, stdout.String(), stderr.String()
}

// mustRun runs the CLI and fails the test unless it exits with want.
func (w *world) mustRun(want int, args ...string) string {
	w.t.Helper()
	code, out, errOut := w.run(args...)
	if code != want {
		w.t.Fatalf("eventwire %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, want, out, errOut)
	}
	return out
}

// mappings lists, with the SDK directly, the mappings on the function.
func (w *world) mappings() []lambdatypes.EventSourceMappingConfiguration {
	w.t.Helper()
	out, err := w.fx.Lambda.ListEventSourceMappings(context.Background(), &lambda.ListEventSourceMappingsInput{})
	if err != nil {
		w.t.Fatal(err)
	}
	var mine []lambdatypes.EventSourceMappingConfiguration
	for _, m := range out.EventSourceMappings {
		if strings.HasPrefix(aws.ToString(m.FunctionArn), w.fnArn) {
			mine = append(mine, m)
		}
	}
	return mine
}

func (w *world) tags(arn string) map[string]string {
	w.t.Helper()
	out, err := w.fx.Lambda.ListTags(context.Background(), &lambda.ListTagsInput{Resource: aws.String(arn)})
	if err != nil {
		w.t.Fatal(err)
	}
	return out.Tags
}

// statements returns the function's policy statements, by Sid.
func (w *world) statements() map[string]json.RawMessage {
	w.t.Helper()
	out, err := w.fx.Lambda.GetPolicy(context.Background(), &lambda.GetPolicyInput{FunctionName: aws.String("orders")})
	if err != nil {
		if strings.Contains(err.Error(), "ResourceNotFound") {
			return map[string]json.RawMessage{}
		}
		w.t.Fatal(err)
	}
	var doc struct {
		Statement []json.RawMessage
	}
	if err := json.Unmarshal([]byte(aws.ToString(out.Policy)), &doc); err != nil {
		w.t.Fatal(err)
	}
	got := map[string]json.RawMessage{}
	for _, s := range doc.Statement {
		var sid struct{ Sid string }
		json.Unmarshal(s, &sid)
		got[sid.Sid] = s
	}
	return got
}

func (w *world) targets(tg string) []string {
	w.t.Helper()
	out, err := w.fx.ELB.DescribeTargetHealth(context.Background(), &elasticloadbalancingv2.DescribeTargetHealthInput{TargetGroupArn: aws.String(tg)})
	if err != nil {
		w.t.Fatal(err)
	}
	var ids []string
	for _, d := range out.TargetHealthDescriptions {
		ids = append(ids, aws.ToString(d.Target.Id))
	}
	return ids
}

func (w *world) route(api, route string) *apigatewayv2.GetRouteOutput {
	w.t.Helper()
	out, err := w.fx.API.GetRoute(context.Background(), &apigatewayv2.GetRouteInput{ApiId: aws.String(api), RouteId: aws.String(route)})
	if err != nil {
		w.t.Fatal(err)
	}
	return out
}

func (w *world) integrations(api string) []string {
	w.t.Helper()
	out, err := w.fx.API.GetIntegrations(context.Background(), &apigatewayv2.GetIntegrationsInput{ApiId: aws.String(api)})
	if err != nil {
		w.t.Fatal(err)
	}
	var uris []string
	for _, i := range out.Items {
		uris = append(uris, fmt.Sprintf("%s %s %s", aws.ToString(i.IntegrationId), aws.ToString(i.IntegrationUri), aws.ToString(i.PayloadFormatVersion)))
	}
	return uris
}

func must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func TestApply_PullAndPush_CreatesThenSecondApplyWritesNothing(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	queue := must[string](t)(w.fx.Queue(ctx, "orders"))
	tg := must[string](t)(w.fx.TargetGroup(ctx, "orders-tg"))
	api := must[awsfixture.API](t)(w.fx.HTTPAPI(ctx, "shop", []string{"POST /orders"}, nil))
	route := api.Routes["POST /orders"]
	w.write(fmt.Sprintf(`{
  "PushEventSources": [
    {"Service": "elasticloadbalancing.amazonaws.com", "TargetGroupArn": %q},
    {"Service": "apigateway.amazonaws.com", "ApiId": %q, "RouteId": %q}
  ],
  "PullEventSources": {"EventSourceMapping": {"EventSourceArn": %q, "FunctionName": "orders", "BatchSize": 5}}
}`, tg, api.ID, route, queue))

	out := w.mustRun(2, "plan", "--detailed-exitcode", w.dir)
	for _, want := range []string{"create", plan.ResourceMapping, queue, tg, plan.ResourcePermission} {
		if !strings.Contains(out, want) {
			t.Errorf("plan output lacks %q:\n%s", want, out)
		}
	}
	if writes := w.calls.Writes(); len(writes) != 0 {
		t.Fatalf("plan wrote to AWS: %v", writes)
	}

	w.mustRun(0, "apply", "--yes", w.dir)

	ms := w.mappings()
	if len(ms) != 1 {
		t.Fatalf("mappings = %d, want 1", len(ms))
	}
	if got := aws.ToInt32(ms[0].BatchSize); got != 5 {
		t.Errorf("BatchSize = %d, want 5", got)
	}
	if aws.ToString(ms[0].EventSourceArn) != queue {
		t.Errorf("EventSourceArn = %s, want %s", aws.ToString(ms[0].EventSourceArn), queue)
	}
	if _, ok := w.tags(aws.ToString(ms[0].EventSourceMappingArn))[wiring.TagKey]; !ok {
		t.Errorf("mapping lacks the managed tag %s", wiring.TagKey)
	}
	if got := w.targets(tg); !slices.Equal(got, []string{w.fnArn}) {
		t.Errorf("targets of %s = %v, want [%s]", tg, got, w.fnArn)
	}
	r := w.route(api.ID, route)
	integ := w.integrations(api.ID)
	if len(integ) != 1 || !strings.Contains(integ[0], w.fnArn) || !strings.HasSuffix(integ[0], " 2.0") {
		t.Errorf("integrations = %v, want one AWS_PROXY 2.0 to %s", integ, w.fnArn)
	} else if want := "integrations/" + strings.Fields(integ[0])[0]; aws.ToString(r.Target) != want {
		t.Errorf("route target = %q, want %q", aws.ToString(r.Target), want)
	}
	st := w.statements()
	var sources []string
	for sid, s := range st {
		if !strings.HasPrefix(sid, wiring.StatementPrefix) {
			t.Errorf("statement %s lacks the prefix %s", sid, wiring.StatementPrefix)
		}
		sources = append(sources, string(s))
	}
	joined := strings.Join(sources, "\n")
	for _, want := range []string{tg, "elasticloadbalancing.amazonaws.com", "apigateway.amazonaws.com",
		fmt.Sprintf("arn:aws:execute-api:%s:%s:%s/*/POST/orders", mototest.Region, mototest.Account, api.ID)} {
		if !strings.Contains(joined, want) {
			t.Errorf("policy lacks %q:\n%s", want, joined)
		}
	}
	if len(st) != 2 {
		t.Errorf("policy has %d statements, want 2", len(st))
	}

	// Second apply: an empty plan and not one write call.
	w.calls.Reset()
	out = w.mustRun(0, "apply", "--yes", w.dir)
	if !strings.Contains(out, "No changes") {
		t.Errorf("second apply output lacks \"No changes\":\n%s", out)
	}
	if writes := w.calls.Writes(); len(writes) != 0 {
		t.Errorf("second apply wrote to AWS: %v", writes)
	}
	w.mustRun(0, "plan", "--detailed-exitcode", w.dir)
	if n := len(w.statements()); n != 2 {
		t.Errorf("after re-apply the policy has %d statements, want 2", n)
	}
}

func TestApply_UpdateInPlaceKeepsUUID_ReplaceMakesNewOne(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	stream := must[string](t)(w.fx.Stream(ctx, "clicks"))
	doc := func(batch int, start string) string {
		return fmt.Sprintf(`{"FunctionName": "orders", "PullEventSources": {"EventSourceMapping": [
  {"EventSourceArn": %q, "BatchSize": %d, "StartingPosition": %q}
]}}`, stream, batch, start)
	}
	w.write(doc(100, "LATEST"))
	w.mustRun(0, "apply", "--yes", w.dir)
	first := w.mappings()
	if len(first) != 1 {
		t.Fatalf("mappings = %d, want 1", len(first))
	}

	w.write(doc(50, "LATEST"))
	out := w.mustRun(2, "plan", "--detailed-exitcode", w.dir)
	if !strings.Contains(out, "BatchSize: 100 → 50") {
		t.Errorf("plan does not show the BatchSize change:\n%s", out)
	}
	w.calls.Reset()
	w.mustRun(0, "apply", "--yes", w.dir)
	if got := w.calls.Writes(); !slices.Equal(got, []string{"Lambda.UpdateEventSourceMapping"}) {
		t.Errorf("update in place made writes %v, want one UpdateEventSourceMapping", got)
	}
	second := w.mappings()
	if len(second) != 1 || aws.ToString(second[0].UUID) != aws.ToString(first[0].UUID) {
		t.Fatalf("after update: %d mappings, UUID %s, want the same UUID %s", len(second), aws.ToString(second[0].UUID), aws.ToString(first[0].UUID))
	}
	if aws.ToInt32(second[0].BatchSize) != 50 {
		t.Errorf("BatchSize = %d, want 50", aws.ToInt32(second[0].BatchSize))
	}

	w.write(doc(50, "TRIM_HORIZON"))
	out = w.mustRun(2, "plan", "--detailed-exitcode", w.dir)
	if !strings.Contains(out, "replace") || !strings.Contains(out, "StartingPosition") {
		t.Errorf("plan does not show a replace for StartingPosition:\n%s", out)
	}
	w.mustRun(0, "apply", "--yes", w.dir)
	third := w.mappings()
	if len(third) != 1 {
		t.Fatalf("after replace: %d mappings, want 1", len(third))
	}
	if aws.ToString(third[0].UUID) == aws.ToString(first[0].UUID) {
		t.Errorf("replace kept the UUID %s", aws.ToString(first[0].UUID))
	}
	if third[0].StartingPosition != lambdatypes.EventSourcePositionTrimHorizon {
		t.Errorf("StartingPosition = %s, want TRIM_HORIZON", third[0].StartingPosition)
	}
}

func TestApply_AdoptsDeclaredUnmanaged_LeavesUndeclaredAlone(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	declared := must[string](t)(w.fx.Queue(ctx, "declared"))
	foreign := must[string](t)(w.fx.Queue(ctx, "foreign"))
	for _, q := range []string{declared, foreign} {
		if _, err := w.fx.Lambda.CreateEventSourceMapping(ctx, &lambda.CreateEventSourceMappingInput{
			FunctionName: aws.String(w.fnArn), EventSourceArn: aws.String(q), BatchSize: aws.Int32(10),
		}); err != nil {
			t.Fatal(err)
		}
	}
	w.write(fmt.Sprintf(`{"FunctionName": "orders", "PullEventSources": {"EventSourceMapping": {"EventSourceArn": %q, "BatchSize": 7}}}`, declared))

	out := w.mustRun(2, "plan", "--detailed-exitcode", w.dir)
	for _, want := range []string{"adopt", "leave-alone", foreign} {
		if !strings.Contains(out, want) {
			t.Errorf("plan lacks %q:\n%s", want, out)
		}
	}
	w.mustRun(0, "apply", "--yes", w.dir)
	ms := w.mappings()
	if len(ms) != 2 {
		t.Fatalf("mappings = %d, want 2 (adopted, no duplicate; foreign kept)", len(ms))
	}
	for _, m := range ms {
		_, managed := w.tags(aws.ToString(m.EventSourceMappingArn))[wiring.TagKey]
		switch aws.ToString(m.EventSourceArn) {
		case declared:
			if !managed || aws.ToInt32(m.BatchSize) != 7 {
				t.Errorf("declared mapping: managed=%v BatchSize=%d, want managed and 7", managed, aws.ToInt32(m.BatchSize))
			}
		case foreign:
			if managed || aws.ToInt32(m.BatchSize) != 10 {
				t.Errorf("foreign mapping was touched: managed=%v BatchSize=%d", managed, aws.ToInt32(m.BatchSize))
			}
		}
	}
	// Only the left-alone entry remains: information, not a change.
	out = w.mustRun(0, "plan", "--detailed-exitcode", w.dir)
	if !strings.Contains(out, "leave-alone") {
		t.Errorf("plan no longer shows the foreign mapping as left alone:\n%s", out)
	}
	w.calls.Reset()
	w.mustRun(0, "apply", "--yes", w.dir)
	if writes := w.calls.Writes(); len(writes) != 0 {
		t.Errorf("second apply after adoption wrote to AWS: %v", writes)
	}
}

func TestApply_StageVariable_PermissionPerAliasScopedToStage(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	must[string](t)(w.fx.Alias(ctx, "orders", "live"))
	must[string](t)(w.fx.Alias(ctx, "orders", "beta"))
	api := must[awsfixture.API](t)(w.fx.HTTPAPI(ctx, "shop", []string{"GET /orders/{id}"}, map[string]map[string]string{
		"prod": {"lambdaAlias": "live"},
		"test": {"lambdaAlias": "beta"},
	}))
	route := api.Routes["GET /orders/{id}"]
	w.write(fmt.Sprintf(`{"FunctionName": "orders", "PushEventSources": [
  {"Service": "apigateway.amazonaws.com", "ApiId": %q, "RouteId": %q, "AliasStageVariableName": "lambdaAlias"}
]}`, api.ID, route))
	w.mustRun(0, "apply", "--yes", w.dir)

	integ := w.integrations(api.ID)
	wantURI := w.fnArn + ":${stageVariables.lambdaAlias}"
	if len(integ) != 1 || !strings.Contains(integ[0], wantURI) {
		t.Errorf("integrations = %v, want one to %s", integ, wantURI)
	}
	joined := ""
	for _, s := range w.statements() {
		joined += string(s) + "\n"
	}
	for _, stage := range []string{"prod", "test"} {
		want := fmt.Sprintf("arn:aws:execute-api:%s:%s:%s/%s/GET/orders/*", mototest.Region, mototest.Account, api.ID, stage)
		if !strings.Contains(joined, want) {
			t.Errorf("policy lacks a statement scoped to %s:\n%s", want, joined)
		}
	}
	for _, alias := range []string{":live", ":beta"} {
		if !strings.Contains(joined, w.fnArn+alias) {
			t.Errorf("policy lacks a statement on alias %s:\n%s", alias, joined)
		}
	}
	w.calls.Reset()
	w.mustRun(0, "apply", "--yes", w.dir)
	if writes := w.calls.Writes(); len(writes) != 0 {
		t.Errorf("second apply wrote to AWS: %v", writes)
	}
}

func TestApply_RemovalOfEachKind_ThenDestroy(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	queue := must[string](t)(w.fx.Queue(ctx, "orders"))
	keep := must[string](t)(w.fx.Queue(ctx, "keep"))
	tg := must[string](t)(w.fx.TargetGroup(ctx, "orders-tg"))
	api := must[awsfixture.API](t)(w.fx.HTTPAPI(ctx, "shop", []string{"$default"}, nil))
	route := api.Routes["$default"]
	// A statement eventwire did not make: never removed.
	if _, err := w.fx.Lambda.AddPermission(ctx, &lambda.AddPermissionInput{
		FunctionName: aws.String("orders"), StatementId: aws.String("hand-made"), Action: aws.String("lambda:InvokeFunction"),
		Principal: aws.String("s3.amazonaws.com"), SourceArn: aws.String("arn:aws:s3:::bucket"),
	}); err != nil {
		t.Fatal(err)
	}
	full := fmt.Sprintf(`{"FunctionName": "orders",
  "PushEventSources": [
    {"Service": "elasticloadbalancing.amazonaws.com", "TargetGroupArn": %q},
    {"Service": "apigateway.amazonaws.com", "ApiId": %q, "RouteId": %q}
  ],
  "PullEventSources": {"EventSourceMapping": [{"EventSourceArn": %q}, {"EventSourceArn": %q}]}}`, tg, api.ID, route, queue, keep)
	w.write(full)
	w.mustRun(0, "apply", "--yes", w.dir)
	if len(w.statements()) != 3 || len(w.mappings()) != 2 {
		t.Fatalf("after apply: %d statements, %d mappings; want 3 and 2", len(w.statements()), len(w.mappings()))
	}

	// Remove the ELB source, the API route and one mapping.
	w.write(fmt.Sprintf(`{"FunctionName": "orders", "PullEventSources": {"EventSourceMapping": {"EventSourceArn": %q}}}`, keep))
	out := w.mustRun(2, "plan", "--detailed-exitcode", w.dir)
	if strings.Count(out, "delete") < 4 {
		t.Errorf("plan should delete the mapping, the target, the integration and two permissions:\n%s", out)
	}
	w.calls.Reset()
	w.mustRun(0, "apply", "--yes", w.dir)
	if got := w.targets(tg); len(got) != 0 {
		t.Errorf("target group still has %v", got)
	}
	// moto ignores UpdateRoute with an empty Target, where AWS detaches the
	// route (apigwsvc's TestSetRouteTarget_FakeAWS_EmptyTargetDetaches
	// covers AWS); here, check that the detaching call was made.
	if !slices.Contains(w.calls.Writes(), "ApiGatewayV2.UpdateRoute") {
		t.Errorf("removal did not detach the route: writes %v", w.calls.Writes())
	}
	if got := w.integrations(api.ID); len(got) != 0 {
		t.Errorf("integrations left: %v", got)
	}
	st := w.statements()
	if _, ok := st["hand-made"]; !ok || len(st) != 1 {
		t.Errorf("statements = %v, want only the hand-made one", keys(st))
	}
	ms := w.mappings()
	if len(ms) != 1 || aws.ToString(ms[0].EventSourceArn) != keep {
		t.Fatalf("mappings after removal = %d, want only %s", len(ms), keep)
	}

	// Destroy removes what eventwire manages, and nothing else.
	w.mustRun(0, "destroy", "--yes", w.dir)
	if n := len(w.mappings()); n != 0 {
		t.Errorf("after destroy %d mappings remain", n)
	}
	if _, ok := w.statements()["hand-made"]; !ok {
		t.Error("destroy removed a statement eventwire did not make")
	}
	if _, err := w.fx.API.GetRoute(ctx, &apigatewayv2.GetRouteInput{ApiId: aws.String(api.ID), RouteId: aws.String(route)}); err != nil {
		t.Errorf("the route must survive: %v", err)
	}
}

func TestApply_BadFileChangesNothing(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	queue := must[string](t)(w.fx.Queue(ctx, "orders"))
	good := filepath.Join(w.dir, "good", "_lambdaeventsourcedef.json")
	os.MkdirAll(filepath.Dir(good), 0o755)
	os.WriteFile(good, []byte(fmt.Sprintf(`{"FunctionName": "orders", "PullEventSources": {"EventSourceMapping": {"EventSourceArn": %q}}}`, queue)), 0o644)
	w.write(`{"FunctionName": "orders", "PullEventSources": {"EventSourceMapping": {"EventSourceArn": "arn:aws:sqs:us-east-1:123456789012:x", "BatchSize": 0}}}`)

	code, _, errOut := w.run("apply", "--yes", w.dir)
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	if !strings.Contains(errOut, "BatchSize") {
		t.Errorf("stderr does not name the field:\n%s", errOut)
	}
	// Only the caller's identity, for the default allowlists.
	if calls := w.calls.All(); len(calls) != 1 || calls[0] != "STS.GetCallerIdentity" {
		t.Errorf("a bad file led to AWS calls: %v", calls)
	}
	if n := len(w.mappings()); n != 0 {
		t.Errorf("%d mappings were created", n)
	}
}

func TestApply_NonInteractiveWithoutYesRefuses(t *testing.T) {
	w := newWorld(t)
	queue := must[string](t)(w.fx.Queue(context.Background(), "orders"))
	w.write(fmt.Sprintf(`{"FunctionName": "orders", "PullEventSources": {"EventSourceMapping": {"EventSourceArn": %q}}}`, queue))
	code, _, errOut := w.run("apply", w.dir)
	if code != 1 || !strings.Contains(errOut, "--yes") {
		t.Errorf("exit %d, stderr %q; want 1 and a hint about --yes", code, errOut)
	}
	if writes := w.calls.Writes(); len(writes) != 0 {
		t.Errorf("refused apply wrote: %v", writes)
	}
}

func TestPlan_JSONOutput(t *testing.T) {
	w := newWorld(t)
	queue := must[string](t)(w.fx.Queue(context.Background(), "orders"))
	w.write(fmt.Sprintf(`{"FunctionName": "orders", "PullEventSources": {"EventSourceMapping": {"EventSourceArn": %q}}}`, queue))
	out := w.mustRun(0, "plan", "-o", "json", w.dir)
	var doc deployDocument
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("plan -o json is not JSON: %v\n%s", err, out)
	}
	if doc.FormatVersion != FormatVersion || doc.Command != "plan" || !doc.Changes || len(doc.Functions) != 1 || len(doc.Functions[0].Actions) != 1 {
		t.Fatalf("json plan = %+v, want one function with one action", doc)
	}
	a := doc.Functions[0].Actions[0]
	if a.Kind != string(plan.Create) || a.Resource != plan.ResourceMapping || !strings.Contains(a.ID, queue) {
		t.Errorf("action = %+v, want create %s %s", a, plan.ResourceMapping, queue)
	}
	if f := doc.Functions[0].Function; f == nil || f.ARN != w.fnArn || f.Qualifier != nil {
		t.Errorf("function = %+v, want ARN %s and no qualifier", f, w.fnArn)
	}
	if doc.Functions[0].Outcome != nil || doc.Summary.Applied != nil {
		t.Errorf("a plan has an outcome: %+v", doc)
	}
}

func keys[V any](m map[string]V) []string {
	var k []string
	for s := range m {
		k = append(k, s)
	}
	slices.Sort(k)
	return k
}

func TestApply_OneFunctionFailing_DoesNotStopTheOthers(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	queue := must[string](t)(w.fx.Queue(ctx, "orders"))
	w.write(fmt.Sprintf(`{"FunctionName": "orders", "PullEventSources": {"EventSourceMapping": {"EventSourceArn": %q}}}`, queue))
	missing := filepath.Join(w.dir, "missing", "_lambdaeventsourcedef.json")
	os.MkdirAll(filepath.Dir(missing), 0o755)
	os.WriteFile(missing, []byte(fmt.Sprintf(`{"FunctionName": "no-such-function", "PullEventSources": {"EventSourceMapping": {"EventSourceArn": %q}}}`, queue)), 0o644)

	code, out, errOut := w.run("apply", "--yes", w.dir)
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	if !strings.Contains(errOut, "no-such-function") {
		t.Errorf("stderr does not name the failing function:\n%s", errOut)
	}
	if !strings.Contains(out, "orders: done") {
		t.Errorf("the good function was not applied:\n%s", out)
	}
	if n := len(w.mappings()); n != 1 {
		t.Errorf("mappings = %d, want 1", n)
	}
}

// failWrite makes the n-th write call (counting from 1) of cfg fail, as a
// crash or a lost connection would at that point of an apply.
func failWrite(cfg *aws.Config, n int) {
	count := 0
	cfg.APIOptions = append(cfg.APIOptions, func(st *middleware.Stack) error {
		return st.Initialize.Add(middleware.InitializeMiddlewareFunc("failWrite",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				op := middleware.GetOperationName(ctx)
				if !isRead(op) {
					count++
					if count == n {
						return middleware.InitializeOutput{}, middleware.Metadata{}, fmt.Errorf("injected failure before %s", op)
					}
				}
				return next.HandleInitialize(ctx, in)
			}), middleware.After)
	})
}

func isRead(op string) bool {
	for _, p := range []string{"Get", "List", "Describe", "Head"} {
		if strings.HasPrefix(op, p) {
			return true
		}
	}
	return false
}

// TestApply_InterruptedAtEveryWrite_NextRunConverges stops an apply before
// each of its writes in turn; the next apply must reach the same state as
// an uninterrupted one, with nothing duplicated.
func TestApply_InterruptedAtEveryWrite_NextRunConverges(t *testing.T) {
	setup := func(t *testing.T) (*world, string, string, awsfixture.API) {
		w := newWorld(t)
		ctx := context.Background()
		queue := must[string](t)(w.fx.Queue(ctx, "orders"))
		tg := must[string](t)(w.fx.TargetGroup(ctx, "orders-tg"))
		api := must[awsfixture.API](t)(w.fx.HTTPAPI(ctx, "shop", []string{"POST /orders"}, nil))
		w.write(fmt.Sprintf(`{"FunctionName": "orders",
  "PushEventSources": [
    {"Service": "elasticloadbalancing.amazonaws.com", "TargetGroupArn": %q},
    {"Service": "apigateway.amazonaws.com", "ApiId": %q, "RouteId": %q}
  ],
  "PullEventSources": {"EventSourceMapping": {"EventSourceArn": %q, "BatchSize": 5, "Tags": {"team": "payments"}}}}`,
			tg, api.ID, api.Routes["POST /orders"], queue))
		return w, queue, tg, api
	}
	// An uninterrupted apply, to count its writes.
	w, _, _, _ := setup(t)
	w.mustRun(0, "apply", "--yes", w.dir)
	writes := len(w.calls.Writes())
	if writes < 5 {
		t.Fatalf("a full apply made %d writes, want at least 5", writes)
	}
	for n := 1; n <= writes; n++ {
		t.Run(fmt.Sprintf("write %d of %d", n, writes), func(t *testing.T) {
			w, queue, tg, api := setup(t)
			good := w.cfg
			failWrite(&w.cfg, n)
			if code, _, _ := w.run("apply", "--yes", w.dir); code != 1 {
				t.Fatalf("interrupted apply: exit %d, want 1", code)
			}
			w.cfg = good
			w.mustRun(0, "apply", "--yes", w.dir)
			w.mustRun(0, "plan", "--detailed-exitcode", w.dir)

			ms := w.mappings()
			if len(ms) != 1 || aws.ToString(ms[0].EventSourceArn) != queue || aws.ToInt32(ms[0].BatchSize) != 5 {
				t.Errorf("mappings = %d, want one on %s with BatchSize 5", len(ms), queue)
			} else if tags := w.tags(aws.ToString(ms[0].EventSourceMappingArn)); tags["team"] != "payments" || tags[wiring.TagKey] == "" {
				t.Errorf("tags = %v, want team and the managed tag", tags)
			}
			if n := len(w.statements()); n != 2 {
				t.Errorf("statements = %d, want 2", n)
			}
			if got := w.targets(tg); !slices.Equal(got, []string{w.fnArn}) {
				t.Errorf("targets = %v", got)
			}
			if got := w.integrations(api.ID); len(got) != 1 {
				t.Errorf("integrations = %v, want exactly one", got)
			}
		})
	}
}

// TestApply_TwoAliasesOfOneFunction_EachFileOwnsItsOwn applies two files,
// one for orders:live and one for orders:canary, each with a target
// group. Each file's apply leaves the other's permission and target alone
// (a second apply of both writes nothing), and destroying one leaves the
// other wired. Checked with the SDK. (Mappings on aliases are left to the
// planner's golden tests: moto reports a version ARN for them.)
func TestApply_TwoAliasesOfOneFunction_EachFileOwnsItsOwn(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	must[string](t)(w.fx.Alias(ctx, "orders", "live"))
	must[string](t)(w.fx.Alias(ctx, "orders", "canary"))
	tgs := map[string]string{}
	for _, alias := range []string{"live", "canary"} {
		tgs[alias] = must[string](t)(w.fx.TargetGroup(ctx, alias))
		path := filepath.Join(w.dir, alias, "_lambdaeventsourcedef.json")
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		doc := fmt.Sprintf(`{"FunctionName": "orders:%s",
  "PushEventSources": [{"Service": "elasticloadbalancing.amazonaws.com", "TargetGroupArn": %q}]}`, alias, tgs[alias])
		if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	check := func(when string, aliases ...string) {
		t.Helper()
		for _, alias := range []string{"live", "canary"} {
			wired := slices.Contains(aliases, alias)
			sid := wiring.StatementID("elasticloadbalancing.amazonaws.com", tgs[alias], alias)
			if _, ok := w.statements()[sid]; ok != wired {
				t.Errorf("%s: permission for %s present = %v, want %v", when, alias, ok, wired)
			}
			if got := w.targets(tgs[alias]); slices.Equal(got, []string{w.fnArn + ":" + alias}) != wired {
				t.Errorf("%s: target group of %s holds %v", when, alias, got)
			}
		}
	}
	w.mustRun(0, "apply", "--yes", w.dir)
	check("after apply", "live", "canary")

	w.calls.Reset()
	w.mustRun(0, "apply", "--yes", w.dir)
	if writes := w.calls.Writes(); len(writes) != 0 {
		t.Errorf("second apply wrote to AWS: %v", writes)
	}
	w.mustRun(0, "destroy", "--yes", filepath.Join(w.dir, "live"))
	check("after destroying orders:live", "canary")
	w.calls.Reset()
	w.mustRun(0, "apply", "--yes", filepath.Join(w.dir, "canary"))
	if writes := w.calls.Writes(); len(writes) != 0 {
		t.Errorf("apply of orders:canary after destroying orders:live wrote to AWS: %v", writes)
	}
}

// TestApply_RemovedSettingsAreClearedInAWS removes a destination, filters
// and a batch size from a stream's mapping: AWS ends up without them (the
// batch size back to its default), with the same mapping, and a second
// apply writes nothing. Checked with the SDK.
func TestApply_RemovedSettingsAreClearedInAWS(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	stream := must[string](t)(w.fx.Stream(ctx, "clicks"))
	dlq := must[string](t)(w.fx.Queue(ctx, "dlq"))
	w.write(fmt.Sprintf(`{"FunctionName": "orders", "PullEventSources": {"EventSourceMapping": {
  "EventSourceArn": %q, "StartingPosition": "LATEST", "BatchSize": 50,
  "DestinationConfig": {"OnFailure": {"Destination": %q}},
  "FilterCriteria": {"Filters": [{"Pattern": "{\"data\": {\"kind\": [\"order\"]}}"}]}}}}`, stream, dlq))
	w.mustRun(0, "apply", "--yes", w.dir)
	before := w.mappings()
	if len(before) != 1 || before[0].DestinationConfig == nil || before[0].FilterCriteria == nil {
		t.Fatalf("after apply: %+v", before)
	}

	w.write(fmt.Sprintf(`{"FunctionName": "orders", "PullEventSources": {"EventSourceMapping": {
  "EventSourceArn": %q, "StartingPosition": "LATEST"}}}`, stream))
	out := w.mustRun(2, "plan", "--detailed-exitcode", w.dir)
	for _, want := range []string{"BatchSize: 50 → 100", "DestinationConfig:", "FilterCriteria:"} {
		if !strings.Contains(out, want) {
			t.Errorf("plan lacks %q:\n%s", want, out)
		}
	}
	w.mustRun(0, "apply", "--yes", w.dir)
	after := w.mappings()
	if len(after) != 1 || aws.ToString(after[0].UUID) != aws.ToString(before[0].UUID) {
		t.Fatalf("after clearing: %d mappings, want the same one", len(after))
	}
	m := after[0]
	if aws.ToInt32(m.BatchSize) != 100 {
		t.Errorf("BatchSize = %d, want the default 100", aws.ToInt32(m.BatchSize))
	}
	if m.FilterCriteria != nil && len(m.FilterCriteria.Filters) != 0 {
		t.Errorf("filters left: %+v", m.FilterCriteria.Filters)
	}
	if d := m.DestinationConfig; d != nil && d.OnFailure != nil && aws.ToString(d.OnFailure.Destination) != "" {
		t.Errorf("on-failure destination left: %s", aws.ToString(d.OnFailure.Destination))
	}
	w.calls.Reset()
	w.mustRun(0, "apply", "--yes", w.dir)
	if writes := w.calls.Writes(); len(writes) != 0 {
		t.Errorf("second apply wrote to AWS: %v", writes)
	}
}
