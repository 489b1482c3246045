package trigger_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/google/go-cmp/cmp"

	"github.com/eventwire/eventwire/internal/reconcile"
	"github.com/eventwire/eventwire/internal/testkit/awsfixture"
	"github.com/eventwire/eventwire/internal/testkit/mototest"
	"github.com/eventwire/eventwire/internal/trigger"
)

// world is the deployer on moto with the real reconciler, and what its
// definition files may wire: per variant ("a", "b", ...) a queue and a
// target group. Functions are made per test (fn).
type world struct {
	*env
	h   *trigger.Handler
	fx  *awsfixture.Fixture
	seq atomic.Int64
	// names are made unique per world with prefix, so that runs of one
	// test can share a moto server.
	prefix    string
	functions []string
	variants  []string
	tgs       map[string]string // variant → target group ARN
	// calls are the AWS calls of the handler.
	calls *mototest.Calls
}

// newWorld starts from an emptied moto (the bucket and table of newEnv).
func newWorld(t *testing.T, functions []string, variants []string) *world {
	t.Helper()
	e := newEnv(t)
	return e.world(t, "", functions, variants)
}

// toServer sends the requests whose X-Amz-Target starts with prefix to
// another server (the handler's CodeCommit calls to a fake: moto has no
// CodeCommit), the others on.
type toServer struct {
	prefix string
	url    *url.URL
	next   http.RoundTripper
}

func (ts toServer) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.HasPrefix(r.Header.Get("X-Amz-Target"), ts.prefix) {
		r = r.Clone(r.Context())
		r.URL.Scheme, r.URL.Host, r.Host = ts.url.Scheme, ts.url.Host, ts.url.Host
	}
	return ts.next.RoundTrip(r)
}

// world makes the functions and the variants' queues and target groups,
// with names starting with prefix, and a handler with the real reconciler.
func (e *env) world(t *testing.T, prefix string, functions, variants []string) *world {
	t.Helper()
	w := &world{env: e, fx: awsfixture.New(e.cfg), prefix: prefix, tgs: map[string]string{}}
	ctx := context.Background()
	for _, fn := range functions {
		if _, err := w.fx.Function(ctx, prefix+fn); err != nil {
			t.Fatal(err)
		}
		w.functions = append(w.functions, prefix+fn)
	}
	for _, v := range variants {
		if _, err := w.fx.Queue(ctx, prefix+"q-"+v); err != nil {
			t.Fatal(err)
		}
		arn, err := w.fx.TargetGroup(ctx, prefix+"tg-"+v)
		if err != nil {
			t.Fatal(err)
		}
		w.tgs[v] = arn
		w.variants = append(w.variants, v)
	}
	cfg := e.cfg.Copy()
	if e.codeCommitURL != "" {
		u, _ := url.Parse(e.codeCommitURL)
		cfg.HTTPClient = &http.Client{Transport: toServer{"CodeCommit_20150413.", u, http.DefaultTransport}}
	}
	w.calls = mototest.Record(&cfg)
	w.h = trigger.NewFromConfig(cfg, reconcile.New(cfg, reconcile.Options{}), trigger.Settings{Table: e.table, Bucket: e.tcfg.Bucket, Repository: e.tcfg.Repository, Branches: e.tcfg.Branches}, e.tcfg.Logger, s3Options)
	return w
}

func recordCalls(w *world) *mototest.Calls { return w.calls }

// file is a definition file wiring function fn to the variant's queue
// (batch size n) and target group; variant "!" is an invalid file that
// names fn.
func (w *world) file(fn, variant string) string {
	if variant == "!" {
		return fmt.Sprintf(`{"FunctionName": %q, "PullEventSorces": {}}`, w.prefix+fn)
	}
	return fmt.Sprintf(`{
  "FunctionName": %q,
  "PushEventSources": [{"Service": "elasticloadbalancing.amazonaws.com", "TargetGroupArn": %q}],
  "PullEventSources": {"EventSourceMapping": {"EventSourceArn": "arn:aws:sqs:us-east-1:123456789012:%sq-%s", "BatchSize": 5}}
}`, w.prefix+fn, w.tgs[variant], w.prefix, variant)
}

// nextSequencer is a sequencer later than every one before it, as S3's
// are for each key.
func (w *world) nextSequencer() string { return fmt.Sprintf("%018X", 0x55AED6DCD90281E5+w.seq.Add(1)) }

// upload puts the key's file in the bucket and returns its event.
func (w *world) upload(key, fn, variant string) json.RawMessage {
	w.t.Helper()
	v := w.put(w.prefix+key, w.file(fn, variant))
	b, _ := json.Marshal(trigger.S3EventFor(bucket, w.prefix+key, v, w.nextSequencer(), false))
	return b
}

// delete removes the key (a delete marker) and returns the event.
func (w *world) delete(key string) json.RawMessage {
	w.t.Helper()
	dm := w.remove(w.prefix + key)
	b, _ := json.Marshal(trigger.S3EventFor(bucket, w.prefix+key, dm, w.nextSequencer(), true))
	return b
}

// deliver invokes the handler with each event in turn, as Lambda would
// (each its own request id).
func (w *world) deliver(events ...json.RawMessage) {
	w.t.Helper()
	for i, ev := range events {
		ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: fmt.Sprintf("req-%d-%d", w.seq.Add(1), i)})
		if err := w.h.Handle(ctx, ev); err != nil {
			w.t.Fatalf("event %d: %v", i, err)
		}
	}
}

// deliverAtOnce invokes the handler with every event at the same time.
func (w *world) deliverAtOnce(events ...json.RawMessage) {
	w.t.Helper()
	errs := make(chan error, len(events))
	for i, ev := range events {
		ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: fmt.Sprintf("req-%d-%d", w.seq.Add(1), i)})
		go func() { errs <- w.h.Handle(ctx, ev) }()
	}
	for range events {
		if err := <-errs; err != nil {
			w.t.Error(err)
		}
	}
}

// wiring is what AWS has for the world's functions, as sorted lines:
// "FN mapping q-V", "FN target tg-V" (a registration), "FN permission
// tg-V" (an invoke permission for the target group), without the prefix.
func (w *world) wiring() []string {
	w.t.Helper()
	ctx := context.Background()
	var out []string
	short := func(s string) string { return strings.TrimPrefix(s, w.prefix) }
	ms, err := w.fx.Lambda.ListEventSourceMappings(ctx, &awslambda.ListEventSourceMappingsInput{})
	if err != nil {
		w.t.Fatal(err)
	}
	for _, m := range ms.EventSourceMappings {
		fn := aws.ToString(m.FunctionArn)
		queue := aws.ToString(m.EventSourceArn)
		if !strings.Contains(queue, ":"+w.prefix+"q-") {
			continue
		}
		out = append(out, short(fn[strings.LastIndex(fn, ":")+1:])+" mapping "+short(queue[strings.LastIndex(queue, ":")+1:]))
	}
	for _, v := range w.variants {
		th, err := w.fx.ELB.DescribeTargetHealth(ctx, &elasticloadbalancingv2.DescribeTargetHealthInput{TargetGroupArn: aws.String(w.tgs[v])})
		if err != nil {
			w.t.Fatal(err)
		}
		for _, d := range th.TargetHealthDescriptions {
			id := aws.ToString(d.Target.Id)
			out = append(out, short(id[strings.LastIndex(id, ":")+1:])+" target tg-"+v)
		}
	}
	for _, fn := range w.functions {
		out = append(out, w.permissions(fn)...)
	}
	sort.Strings(out)
	return out
}

// permissions lists eventwire's invoke permissions of fn for the world's
// target groups.
func (w *world) permissions(fn string) []string {
	w.t.Helper()
	pol, err := w.fx.Lambda.GetPolicy(context.Background(), &awslambda.GetPolicyInput{FunctionName: aws.String(fn)})
	if err != nil {
		return nil // no policy
	}
	var doc struct {
		Statement []struct {
			Sid       string
			Condition map[string]map[string]string
		}
	}
	if err := json.Unmarshal([]byte(aws.ToString(pol.Policy)), &doc); err != nil {
		w.t.Fatal(err)
	}
	var out []string
	for _, s := range doc.Statement {
		for v, tg := range w.tgs {
			if strings.HasPrefix(s.Sid, "eventwire-") && s.Condition["ArnLike"]["AWS:SourceArn"] == tg {
				out = append(out, strings.TrimPrefix(fn, w.prefix)+" permission tg-"+v)
			}
		}
	}
	return out
}

// wired is the wiring a set of live files describes: function → variant.
func wired(live map[string]string) []string {
	var out []string
	for fn, v := range live {
		out = append(out, fn+" mapping q-"+v, fn+" target tg-"+v, fn+" permission tg-"+v)
	}
	sort.Strings(out)
	return out
}

// checkWiring compares AWS with what live (function → variant) describes.
func (w *world) checkWiring(what string, live map[string]string) {
	w.t.Helper()
	if diff := cmp.Diff(wired(live), w.wiring()); diff != "" {
		w.t.Errorf("%s: AWS (-want +got):\n%s", what, diff)
	}
}
