package deployertest

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
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/google/go-cmp/cmp"

	"github.com/eventwire/eventwire/internal/deployer"
	"github.com/eventwire/eventwire/internal/deployer/bucket"
	"github.com/eventwire/eventwire/internal/deployer/compose"
	"github.com/eventwire/eventwire/internal/reconcile"
	"github.com/eventwire/eventwire/internal/testkit/awsfixture"
	"github.com/eventwire/eventwire/internal/testkit/mototest"
)

// World is the deployer on moto with the real reconciler, and what its
// definition files may wire: per variant ("a", "b", ...) a queue and a
// target group. Functions are made per test (fn).
type World struct {
	*Env
	h       *compose.Handler
	Fixture *awsfixture.Fixture
	Seq     atomic.Int64
	// names are made unique per world with prefix, so that runs of one
	// test can share a moto server.
	prefix    string
	Functions []string
	variants  []string
	tgs       map[string]string // variant → target group ARN
	// Calls are the AWS calls of the handler.
	Calls *mototest.Calls
	// sweepURL and sweepARN are the world's sweep queue, once
	// DeferTeardowns made it with grace (deferred.go).
	sweepURL, sweepARN string
	grace              time.Duration
}

// NewWorld starts from an emptied moto (the bucket and table of newEnv).
func NewWorld(t *testing.T, functions []string, variants []string) *World {
	t.Helper()
	e := NewEnv(t)
	return e.World(t, "", functions, variants)
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

// World makes the functions and the variants' queues and target groups,
// with names starting with prefix, and a handler with the real reconciler.
func (e *Env) World(t *testing.T, prefix string, functions, variants []string) *World {
	t.Helper()
	w := &World{Env: e, Fixture: awsfixture.New(e.AWS), prefix: prefix, tgs: map[string]string{}}
	ctx := context.Background()
	for _, fn := range functions {
		if _, err := w.Fixture.Function(ctx, prefix+fn); err != nil {
			t.Fatal(err)
		}
		w.Functions = append(w.Functions, prefix+fn)
	}
	for _, v := range variants {
		if _, err := w.Fixture.Queue(ctx, prefix+"q-"+v); err != nil {
			t.Fatal(err)
		}
		arn, err := w.Fixture.TargetGroup(ctx, prefix+"tg-"+v)
		if err != nil {
			t.Fatal(err)
		}
		w.tgs[v] = arn
		w.variants = append(w.variants, v)
	}
	w.build(deployer.Settings{})
	return w
}

// build makes the world's handler with the real reconciler, as the
// deployer's main does, on the settings of its Env and those of s that
// are set (the sweep queue, the teardown grace).
func (w *World) build(s deployer.Settings) {
	e := w.Env
	cfg := e.AWS.Copy()
	if e.CodeCommitURL != "" {
		u, _ := url.Parse(e.CodeCommitURL)
		cfg.HTTPClient = &http.Client{Transport: toServer{"CodeCommit_20150413.", u, http.DefaultTransport}}
	}
	w.Calls = mototest.Record(&cfg)
	s.Table, s.Bucket, s.Repository, s.Branches = e.Table, e.Config.S3.Bucket, e.Config.CodeCommit.Repository, e.Config.CodeCommit.Branches
	w.h = compose.NewFromConfig(cfg, reconcile.New(cfg, reconcile.Options{}).Runs(), s, e.Config.Logger, S3Options)
}

// RecordCalls are the AWS calls of the world's handler.
func RecordCalls(w *World) *mototest.Calls { return w.Calls }

// File is a definition file wiring function fn to the variant's queue
// (batch size n) and target group; variant "!" is an invalid file that
// names fn.
func (w *World) File(fn, variant string) string {
	if variant == "!" {
		return fmt.Sprintf(`{"FunctionName": %q, "PullEventSorces": {}}`, w.prefix+fn)
	}
	return fmt.Sprintf(`{
  "FunctionName": %q,
  "PushEventSources": [{"Service": "elasticloadbalancing.amazonaws.com", "TargetGroupArn": %q}],
  "PullEventSources": {"EventSourceMapping": {"EventSourceArn": "arn:aws:sqs:us-east-1:123456789012:%sq-%s", "BatchSize": 5}}
}`, w.prefix+fn, w.tgs[variant], w.prefix, variant)
}

// NextSequencer is a sequencer later than every one before it, as S3's
// are for each key.
func (w *World) NextSequencer() string { return fmt.Sprintf("%018X", 0x55AED6DCD90281E5+w.Seq.Add(1)) }

// Upload puts the key's file in the bucket and returns its event.
func (w *World) Upload(key, fn, variant string) json.RawMessage {
	w.T.Helper()
	v := w.Put(w.prefix+key, w.File(fn, variant))
	b, _ := json.Marshal(bucket.S3PutEvent(Bucket, w.prefix+key, v, w.NextSequencer()))
	return b
}

// Delete removes the key (a delete marker) and returns the event.
func (w *World) Delete(key string) json.RawMessage {
	w.T.Helper()
	dm := w.Remove(w.prefix + key)
	b, _ := json.Marshal(bucket.S3RemovalEvent(Bucket, w.prefix+key, dm, w.NextSequencer()))
	return b
}

// Deliver invokes the handler with each event in turn, as Lambda would
// (each its own request id).
func (w *World) Deliver(events ...json.RawMessage) {
	w.T.Helper()
	for i, ev := range events {
		ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: fmt.Sprintf("req-%d-%d", w.Seq.Add(1), i)})
		if err := w.h.Handle(ctx, ev); err != nil {
			w.T.Fatalf("event %d: %v", i, err)
		}
	}
}

// DeliverAtOnce invokes the handler with every event at the same time.
func (w *World) DeliverAtOnce(events ...json.RawMessage) {
	w.T.Helper()
	errs := make(chan error, len(events))
	for i, ev := range events {
		ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: fmt.Sprintf("req-%d-%d", w.Seq.Add(1), i)})
		go func() { errs <- w.h.Handle(ctx, ev) }()
	}
	for range events {
		if err := <-errs; err != nil {
			w.T.Error(err)
		}
	}
}

// Wiring is what AWS has for the world's functions, as sorted lines:
// "FN mapping q-V", "FN target tg-V" (a registration), "FN permission
// tg-V" (an invoke permission for the target group), without the prefix.
func (w *World) Wiring() []string {
	w.T.Helper()
	ctx := context.Background()
	var out []string
	short := func(s string) string { return strings.TrimPrefix(s, w.prefix) }
	ms, err := w.Fixture.Lambda.ListEventSourceMappings(ctx, &awslambda.ListEventSourceMappingsInput{})
	if err != nil {
		w.T.Fatal(err)
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
		th, err := w.Fixture.ELB.DescribeTargetHealth(ctx, &elasticloadbalancingv2.DescribeTargetHealthInput{TargetGroupArn: aws.String(w.tgs[v])})
		if err != nil {
			w.T.Fatal(err)
		}
		for _, d := range th.TargetHealthDescriptions {
			id := aws.ToString(d.Target.Id)
			out = append(out, short(id[strings.LastIndex(id, ":")+1:])+" target tg-"+v)
		}
	}
	for _, fn := range w.Functions {
		out = append(out, w.permissions(fn)...)
	}
	sort.Strings(out)
	return out
}

// permissions lists eventwire's invoke permissions of fn for the world's
// target groups.
func (w *World) permissions(fn string) []string {
	w.T.Helper()
	pol, err := w.Fixture.Lambda.GetPolicy(context.Background(), &awslambda.GetPolicyInput{FunctionName: aws.String(fn)})
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
		w.T.Fatal(err)
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

// Wired is the wiring a set of live files describes: function → variant.
func Wired(live map[string]string) []string {
	var out []string
	for fn, v := range live {
		out = append(out, fn+" mapping q-"+v, fn+" target tg-"+v, fn+" permission tg-"+v)
	}
	sort.Strings(out)
	return out
}

// CheckWiring compares AWS with what live (function → variant) describes.
func (w *World) CheckWiring(what string, live map[string]string) {
	w.T.Helper()
	if diff := cmp.Diff(Wired(live), w.Wiring()); diff != "" {
		w.T.Errorf("%s: AWS (-want +got):\n%s", what, diff)
	}
}

// LambdaWrites keeps the Lambda and ELB writes of recorded calls.
func LambdaWrites(ops []string) []string {
	var out []string
	for _, op := range ops {
		if strings.HasPrefix(op, "Lambda.") || strings.HasPrefix(op, "Elastic Load Balancing v2.") {
			out = append(out, op)
		}
	}
	return out
}
