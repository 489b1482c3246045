package pull

import (
	"context"
	"errors"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/google/go-cmp/cmp"

	"github.com/eventwire/eventwire/internal/aws/lambdasvc"
	"github.com/eventwire/eventwire/internal/definition"
	"github.com/eventwire/eventwire/internal/plan"
	"github.com/eventwire/eventwire/internal/testkit/awsfixture"
	"github.com/eventwire/eventwire/internal/testkit/faultproxy"
	"github.com/eventwire/eventwire/internal/testkit/golden"
	"github.com/eventwire/eventwire/internal/testkit/mototest"
	"github.com/eventwire/eventwire/internal/wiring"
)

func TestMain(m *testing.M) { mototest.Main(m) }

// env is one test's account on moto: the sources, the function, eventwire's
// pull reconciler on a recorded configuration, and an SDK client of its
// own to check the result independently.
type env struct {
	t       *testing.T
	srv     *mototest.Server
	ctx     context.Context
	fn      plan.Function
	queue   string
	queue2  string
	stream  string
	ddb     string
	r       *Reconciler
	funcs   *lambdasvc.Functions
	calls   *mototest.Calls
	sdk     *lambda.Client
	fixture *awsfixture.Fixture
}

func newEnv(t *testing.T) *env {
	t.Helper()
	srv := mototest.Fresh(t)
	ctx := context.Background()
	plain := srv.Config(t)
	e := &env{t: t, srv: srv, ctx: ctx, sdk: lambda.NewFromConfig(plain), fixture: awsfixture.New(plain)}
	must := func(s string, err error) string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	must(e.fixture.Function(ctx, "orders"))
	e.queue = must(e.fixture.Queue(ctx, "orders"))
	e.queue2 = must(e.fixture.Queue(ctx, "refunds"))
	e.stream = must(e.fixture.Stream(ctx, "clicks"))
	table, err := dynamodb.NewFromConfig(plain).CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String("carts"),
		AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String("id"), AttributeType: ddbtypes.ScalarAttributeTypeS}},
		KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: ddbtypes.KeyTypeHash}},
		BillingMode:          ddbtypes.BillingModePayPerRequest,
		StreamSpecification:  &ddbtypes.StreamSpecification{StreamEnabled: aws.Bool(true), StreamViewType: ddbtypes.StreamViewTypeNewImage},
	})
	if err != nil {
		t.Fatal(err)
	}
	e.ddb = aws.ToString(table.TableDescription.LatestStreamArn)

	recorded := srv.Config(t)
	e.calls = mototest.Record(&recorded)
	lc := lambda.NewFromConfig(recorded)
	e.funcs = lambdasvc.NewFunctions(lc)
	e.r = New(lambdasvc.NewMappings(lc), Options{PollInterval: 10 * time.Millisecond, RetryBackoff: 10 * time.Millisecond})
	e.fn, err = e.funcs.Resolve(ctx, "orders")
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// apply plans desired and executes every change, returning the plan.
func (e *env) apply(desired []definition.Mapping) *plan.Plan {
	e.t.Helper()
	actions, err := e.r.Plan(e.ctx, e.fn, desired)
	if err != nil {
		e.t.Fatalf("plan: %v", err)
	}
	for _, a := range actions {
		if err := e.r.Execute(e.ctx, e.fn, a, ExecuteOptions{}); err != nil {
			e.t.Fatalf("execute %s %s: %v", a.Kind, a.ID, err)
		}
	}
	return &plan.Plan{Function: e.fn, Actions: actions}
}

// awsMapping is a mapping as the SDK reports it, with its tags.
type awsMapping struct {
	UUID      string
	Source    string
	BatchSize int32
	Filters   int
	Position  string
	Tags      map[string]string
}

// inAWS lists the function's mappings with the SDK directly.
func (e *env) inAWS() []awsMapping {
	e.t.Helper()
	out, err := e.sdk.ListEventSourceMappings(e.ctx, &lambda.ListEventSourceMappingsInput{FunctionName: aws.String(e.fn.ARN)})
	if err != nil {
		e.t.Fatal(err)
	}
	var ms []awsMapping
	for _, c := range out.EventSourceMappings {
		tags, err := e.sdk.ListTags(e.ctx, &lambda.ListTagsInput{Resource: c.EventSourceMappingArn})
		if err != nil {
			e.t.Fatal(err)
		}
		m := awsMapping{
			UUID: aws.ToString(c.UUID), Source: aws.ToString(c.EventSourceArn),
			BatchSize: aws.ToInt32(c.BatchSize), Position: string(c.StartingPosition), Tags: tags.Tags,
		}
		if c.FilterCriteria != nil {
			m.Filters = len(c.FilterCriteria.Filters)
		}
		ms = append(ms, m)
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Source < ms[j].Source })
	return ms
}

func (e *env) withoutUUIDs(ms []awsMapping) []awsMapping {
	out := append([]awsMapping(nil), ms...)
	for i := range out {
		out[i].UUID = ""
	}
	return out
}

func (e *env) desired() []definition.Mapping {
	return []definition.Mapping{
		{EventSourceArn: p(e.queue), FunctionName: p("orders"), BatchSize: p(int32(5)),
			FilterCriteria: &definition.FilterCriteria{Filters: []definition.Filter{{Pattern: p(`{"body": {"type": ["order"]}}`)}}},
			Tags:           map[string]string{"team": "payments"}},
		{EventSourceArn: p(e.stream), FunctionName: p("orders"), StartingPosition: p("LATEST")},
		{EventSourceArn: p(e.ddb), FunctionName: p("orders"), StartingPosition: p("TRIM_HORIZON"), BatchSize: p(int32(100))},
	}
}

// checkGolden compares a plan with testdata/moto/NAME.golden. The DynamoDB
// stream's ARN holds its creation time: it is shown as <ddb-stream>.
func (e *env) checkGolden(name, got string) {
	t := e.t
	t.Helper()
	got = strings.ReplaceAll(got, e.ddb, "<ddb-stream>")
	golden.Check(t, filepath.Join("testdata", "moto", name+".golden"), got)
}

func TestMoto_CreateThenNothingToDo(t *testing.T) {
	e := newEnv(t)
	p1 := e.apply(e.desired())
	e.checkGolden("create", p1.String())

	managed := map[string]string{wiring.TagKey: "orders"}
	want := []awsMapping{
		{Source: e.ddb, BatchSize: 100, Position: "TRIM_HORIZON", Tags: managed},
		{Source: e.stream, BatchSize: 100, Position: "LATEST", Tags: managed},
		{Source: e.queue, BatchSize: 5, Filters: 1, Tags: map[string]string{wiring.TagKey: "orders", TagKeysTag: "team", "team": "payments"}},
	}
	if diff := cmp.Diff(want, e.withoutUUIDs(e.inAWS())); diff != "" {
		t.Errorf("mappings in AWS (-want +got):\n%s", diff)
	}

	// The same file again: an empty plan and no write call at all.
	e.calls.Reset()
	p2 := e.apply(e.desired())
	if p2.HasChanges() {
		t.Errorf("second plan has changes:\n%s", p2)
	}
	if w := e.calls.Writes(); len(w) != 0 {
		t.Errorf("second apply made write calls: %v", w)
	}
}

func TestMoto_UpdateInPlaceKeepsUUID(t *testing.T) {
	e := newEnv(t)
	e.apply(e.desired())
	before := e.inAWS()

	d := e.desired()
	d[0].BatchSize = p(int32(8))
	d[0].FilterCriteria = nil // removed from the file: cleared in AWS
	d[0].Tags = map[string]string{"team": "billing"}
	e.calls.Reset()
	p1 := e.apply(d)
	e.checkGolden("update", replaceUUIDs(p1.String(), before))

	after := e.inAWS()
	if after[2].UUID != before[2].UUID {
		t.Errorf("UUID changed from %s to %s", before[2].UUID, after[2].UUID)
	}
	want := awsMapping{UUID: before[2].UUID, Source: e.queue, BatchSize: 8, Filters: 0,
		Tags: map[string]string{wiring.TagKey: "orders", TagKeysTag: "team", "team": "billing"}}
	if diff := cmp.Diff(want, after[2]); diff != "" {
		t.Errorf("updated mapping (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"Lambda.UpdateEventSourceMapping", "Lambda.TagResource"}, e.calls.Writes()); diff != "" {
		t.Errorf("write calls (-want +got):\n%s", diff)
	}
	if p2 := e.apply(d); p2.HasChanges() {
		t.Errorf("plan after the update has changes:\n%s", p2)
	}
}

func TestMoto_ReplaceOnCreateOnlyField(t *testing.T) {
	e := newEnv(t)
	e.apply(e.desired())
	before := e.inAWS()

	d := e.desired()
	d[1].StartingPosition = p("TRIM_HORIZON")
	p1 := e.apply(d)
	e.checkGolden("replace", replaceUUIDs(p1.String(), before))

	after := e.inAWS()
	if after[1].UUID == before[1].UUID || after[1].Position != "TRIM_HORIZON" {
		t.Errorf("stream mapping %+v, want a new one (not %s) at TRIM_HORIZON", after[1], before[1].UUID)
	}
	_, err := e.sdk.GetEventSourceMapping(e.ctx, &lambda.GetEventSourceMappingInput{UUID: aws.String(before[1].UUID)})
	var nf *lambdatypes.ResourceNotFoundException
	if !errors.As(err, &nf) {
		t.Errorf("old mapping %s: %v, want it gone", before[1].UUID, err)
	}
	if len(after) != 3 {
		t.Errorf("%d mappings, want 3: %+v", len(after), after)
	}
}

func TestMoto_AdoptAndLeaveAlone(t *testing.T) {
	e := newEnv(t)
	// Made by someone else, with the SDK, on the function's ARN.
	var unmanaged []string
	for _, q := range []string{e.queue, e.queue2} {
		out, err := e.sdk.CreateEventSourceMapping(e.ctx, &lambda.CreateEventSourceMappingInput{
			FunctionName: aws.String(e.fn.ARN), EventSourceArn: aws.String(q), Tags: map[string]string{"owner": "ops"},
		})
		if err != nil {
			t.Fatal(err)
		}
		unmanaged = append(unmanaged, aws.ToString(out.UUID))
	}
	d := []definition.Mapping{{EventSourceArn: p(e.queue), BatchSize: p(int32(3)), Tags: map[string]string{"owner": "ops"}}}
	p1 := e.apply(d)
	e.checkGolden("adopt", replaceUUIDs(p1.String(), []awsMapping{{UUID: unmanaged[0], Source: "A"}, {UUID: unmanaged[1], Source: "B"}}))

	want := []awsMapping{
		{UUID: unmanaged[0], Source: e.queue, BatchSize: 3, Tags: map[string]string{wiring.TagKey: "orders", TagKeysTag: "owner", "owner": "ops"}},
		{UUID: unmanaged[1], Source: e.queue2, BatchSize: 10, Tags: map[string]string{"owner": "ops"}},
	}
	if diff := cmp.Diff(want, e.inAWS()); diff != "" {
		t.Errorf("mappings in AWS (-want +got):\n%s", diff)
	}
	e.calls.Reset()
	p2 := e.apply(d)
	if p2.HasChanges() || len(e.calls.Writes()) != 0 {
		t.Errorf("after adoption: plan\n%s\nwrites %v; want no change", p2, e.calls.Writes())
	}
	if n := p2.Counts()[plan.LeaveAlone]; n != 1 {
		t.Errorf("%d left alone, want 1", n)
	}
}

func TestMoto_Destroy(t *testing.T) {
	e := newEnv(t)
	e.apply(e.desired()[:2])
	out, err := e.sdk.CreateEventSourceMapping(e.ctx, &lambda.CreateEventSourceMappingInput{
		FunctionName: aws.String(e.fn.ARN), EventSourceArn: aws.String(e.queue2),
	})
	if err != nil {
		t.Fatal(err)
	}
	before := append(e.inAWS(), awsMapping{UUID: aws.ToString(out.UUID), Source: "U"})
	p1 := e.apply(nil)
	e.checkGolden("destroy", replaceUUIDs(p1.String(), before))
	want := []awsMapping{{UUID: aws.ToString(out.UUID), Source: e.queue2, BatchSize: 10, Tags: map[string]string{}}}
	if diff := cmp.Diff(want, e.inAWS(), cmp.Comparer(func(a, b map[string]string) bool { return len(a) == 0 && len(b) == 0 || cmp.Equal(a, b) })); diff != "" {
		t.Errorf("mappings left in AWS (-want +got):\n%s", diff)
	}
}

// TestMoto_Resolve resolves function references against moto. A partial
// ARN (ACCOUNT:function:NAME) crashes moto's GetFunction (HTTP 500): that
// form is covered against a fake in lambdasvc's TestResolve_FakeAWS.
func TestMoto_Resolve(t *testing.T) {
	e := newEnv(t)
	if _, err := e.fixture.Alias(e.ctx, "orders", "live"); err != nil {
		t.Fatal(err)
	}
	arn := e.fn.ARN
	tests := []struct {
		ref  string
		want plan.Function
	}{
		{"orders", plan.Function{Ref: "orders", Name: "orders", ARN: arn}},
		{arn, plan.Function{Ref: arn, Name: "orders", ARN: arn}},
		{"orders:live", plan.Function{Ref: "orders:live", Name: "orders", Qualifier: "live", ARN: arn}},
		{arn + ":live", plan.Function{Ref: arn + ":live", Name: "orders", Qualifier: "live", ARN: arn}},
	}
	for _, tt := range tests {
		got, err := e.funcs.Resolve(e.ctx, tt.ref)
		if err != nil {
			t.Errorf("Resolve(%q): %v", tt.ref, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("Resolve(%q) (-want +got):\n%s", tt.ref, diff)
		}
	}
	if _, err := e.funcs.Resolve(e.ctx, "missing"); !errors.Is(err, lambdasvc.ErrNotFound) {
		t.Errorf("Resolve(missing): %v, want ErrNotFound", err)
	}
}

// replaceUUIDs makes a plan with UUIDs stable for a golden file.
func replaceUUIDs(s string, ms []awsMapping) string {
	for i, m := range ms {
		if m.UUID != "" {
			s = strings.ReplaceAll(s, m.UUID, "<uuid-"+string(rune('a'+i))+">")
		}
	}
	return s
}

// TestMoto_UserDisabledStream_AWSSaysUserAction: AWS reports a user's
// disable of a stream's mapping as "User action" (moto reports none; the
// fault proxy answers as AWS does). Applying a file that wants it enabled
// re-enables it as the drift it is, not as a mapping Lambda disabled.
func TestMoto_UserDisabledStream_AWSSaysUserAction(t *testing.T) {
	e := newEnv(t)
	e.apply([]definition.Mapping{{EventSourceArn: aws.String(e.stream), StartingPosition: aws.String("LATEST")}})
	ms := e.inAWS()
	if len(ms) != 1 {
		t.Fatalf("mappings after apply: %+v", ms)
	}
	if _, err := e.sdk.UpdateEventSourceMapping(e.ctx, &lambda.UpdateEventSourceMappingInput{UUID: aws.String(ms[0].UUID), Enabled: aws.Bool(false)}); err != nil {
		t.Fatal(err)
	}
	p := faultproxy.ForTest(t, e.srv.URL, faultproxy.Config{Quotas: map[string]faultproxy.Quota{}, UserDisableReasons: true})
	cfg := e.srv.Config(t, config.WithBaseEndpoint(p.URL))
	r := New(lambdasvc.NewMappings(lambda.NewFromConfig(cfg)), Options{PollInterval: 10 * time.Millisecond, RetryBackoff: 10 * time.Millisecond})
	actions, err := r.Plan(e.ctx, e.fn, []definition.Mapping{{EventSourceArn: aws.String(e.stream), StartingPosition: aws.String("LATEST")}})
	if err != nil {
		t.Fatal(err)
	}
	if len(actions) != 1 || actions[0].Kind != plan.Update {
		t.Fatalf("plan: %+v, want one update", actions)
	}
	if reason := actions[0].Reason; reason != "" {
		t.Errorf("the update's reason is %q: a user's disable taken for Lambda's", reason)
	}
}
