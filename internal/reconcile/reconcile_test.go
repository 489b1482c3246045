package reconcile_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/google/go-cmp/cmp"

	"github.com/eventwire/eventwire/internal/cli"
	"github.com/eventwire/eventwire/internal/definition"
	"github.com/eventwire/eventwire/internal/plan"
	"github.com/eventwire/eventwire/internal/progress"
	"github.com/eventwire/eventwire/internal/reconcile"
	"github.com/eventwire/eventwire/internal/testkit/awsfixture"
	"github.com/eventwire/eventwire/internal/testkit/faultproxy"
	"github.com/eventwire/eventwire/internal/testkit/mototest"
)

func TestMain(m *testing.M) { mototest.Main(m) }

// goneWorld is an account where eventwire wired two functions, orders and
// other, each to a queue, a target group and a route of one HTTP API, and
// orders also has a mapping that eventwire does not manage.
type goneWorld struct {
	t                 *testing.T
	srv               *mototest.Server
	cfg               aws.Config
	fx                *awsfixture.Fixture
	calls             *mototest.Calls
	dir               string
	ordersTG, otherTG string
	otherARN          string
	api               awsfixture.API
	unmanaged         string // UUID
}

func newGoneWorld(t *testing.T) *goneWorld {
	t.Helper()
	ctx := context.Background()
	srv := mototest.Fresh(t)
	w := &goneWorld{t: t, srv: srv, cfg: srv.Config(t), fx: awsfixture.New(srv.Config(t)), dir: t.TempDir()}
	w.calls = mototest.Record(&w.cfg)
	must := func(s string, err error) string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	ordersARN := must(w.fx.Function(ctx, "orders"))
	w.otherARN = must(w.fx.Function(ctx, "other"))
	w.ordersTG, w.otherTG = must(w.fx.TargetGroup(ctx, "orders-tg")), must(w.fx.TargetGroup(ctx, "other-tg"))
	api, err := w.fx.HTTPAPI(ctx, "shop", []string{"POST /orders", "POST /other"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	w.api = api
	for _, fn := range []struct{ name, tg, route string }{
		{"orders", w.ordersTG, "POST /orders"},
		{"other", w.otherTG, "POST /other"},
	} {
		queue := must(w.fx.Queue(ctx, fn.name))
		w.writeFile(fn.name, fmt.Sprintf(`{"FunctionName": %q,
  "PushEventSources": [
    {"Service": "elasticloadbalancing.amazonaws.com", "TargetGroupArn": %q},
    {"Service": "apigateway.amazonaws.com", "ApiId": %q, "RouteId": %q}
  ],
  "PullEventSources": {"EventSourceMapping": {"EventSourceArn": %q}}}`, fn.name, fn.tg, api.ID, api.Routes[fn.route], queue))
	}
	// A mapping of orders that eventwire does not manage.
	hand := must(w.fx.Queue(ctx, "hand-made"))
	m, err := w.fx.Lambda.CreateEventSourceMapping(ctx, &lambda.CreateEventSourceMappingInput{
		FunctionName: aws.String(ordersARN), EventSourceArn: aws.String(hand),
	})
	if err != nil {
		t.Fatal(err)
	}
	w.unmanaged = aws.ToString(m.UUID)
	if code, out, errOut := w.cli("apply", "--yes", w.dir); code != 0 {
		t.Fatalf("apply: exit %d\n%s\n%s", code, out, errOut)
	}
	return w
}

// throughProxy returns w's configuration with every call through a fault
// proxy started with cfg (and stopped with the test); w.calls records its
// calls from then on.
func (w *goneWorld) throughProxy(cfg faultproxy.Config) aws.Config {
	w.t.Helper()
	p := faultproxy.ForTest(w.t, w.srv.URL, cfg)
	c := w.srv.Config(w.t, config.WithBaseEndpoint(p.URL))
	w.calls = mototest.Record(&c)
	return c
}

func (w *goneWorld) writeFile(name, doc string) {
	w.t.Helper()
	path := filepath.Join(w.dir, name, "_lambdaeventsourcedef.json")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		w.t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		w.t.Fatal(err)
	}
}

func (w *goneWorld) cli(args ...string) (int, string, string) {
	var stdout, stderr bytes.Buffer
	code := cli.Run(context.Background(), args, cli.Env{
		Stdin: strings.NewReader(""), Stdout: &stdout, Stderr: &stderr,
		AWSConfig: func(context.Context) (aws.Config, error) { return w.cfg, nil },
	})
	return code, stdout.String(), stderr.String()
}

// state is what the test reads back with the SDK directly.
type state struct {
	// Mappings are "UUID function-name" of every mapping.
	Mappings []string
	// OrdersTargets and OtherTargets are the targets of each group.
	OrdersTargets, OtherTargets []string
	// Integrations are the integration URIs of the API.
	Integrations []string
	// Routes are each route's key and target.
	Routes []string
}

func (w *goneWorld) state() state {
	w.t.Helper()
	ctx := context.Background()
	var s state
	ms, err := w.fx.Lambda.ListEventSourceMappings(ctx, &lambda.ListEventSourceMappingsInput{})
	if err != nil {
		w.t.Fatal(err)
	}
	for _, m := range ms.EventSourceMappings {
		name := aws.ToString(m.FunctionArn)
		name = name[strings.LastIndex(name, ":")+1:]
		id := name
		if aws.ToString(m.UUID) == w.unmanaged {
			id = "unmanaged " + name
		}
		s.Mappings = append(s.Mappings, id)
	}
	targets := func(tg string) []string {
		out, err := w.fx.ELB.DescribeTargetHealth(ctx, &elasticloadbalancingv2.DescribeTargetHealthInput{TargetGroupArn: aws.String(tg)})
		if err != nil {
			w.t.Fatal(err)
		}
		var ids []string
		for _, d := range out.TargetHealthDescriptions {
			ids = append(ids, aws.ToString(d.Target.Id))
		}
		return ids
	}
	s.OrdersTargets, s.OtherTargets = targets(w.ordersTG), targets(w.otherTG)
	ins, err := w.fx.API.GetIntegrations(ctx, &apigatewayv2.GetIntegrationsInput{ApiId: aws.String(w.api.ID)})
	if err != nil {
		w.t.Fatal(err)
	}
	byID := map[string]string{}
	for _, in := range ins.Items {
		s.Integrations = append(s.Integrations, aws.ToString(in.IntegrationUri))
		byID["integrations/"+aws.ToString(in.IntegrationId)] = aws.ToString(in.IntegrationUri)
	}
	rs, err := w.fx.API.GetRoutes(ctx, &apigatewayv2.GetRoutesInput{ApiId: aws.String(w.api.ID)})
	if err != nil {
		w.t.Fatal(err)
	}
	for _, r := range rs.Items {
		// A route's target is shown as the URI of the integration it
		// points at, or "(no integration)" when that is gone: moto ignores
		// UpdateRoute's empty Target (where AWS detaches the route), so
		// the route's Target text is not evidence of a detach.
		to, ok := byID[aws.ToString(r.Target)]
		if !ok {
			to = "(no integration)"
		}
		s.Routes = append(s.Routes, aws.ToString(r.RouteKey)+" -> "+to)
	}
	slices.Sort(s.Mappings)
	slices.Sort(s.Integrations)
	slices.Sort(s.Routes)
	return s
}

// TestPlanDestroy_FunctionGone: after DeleteFunction, AWS (and moto) keep
// the function's mappings, target registrations and integrations. Destroy,
// through the CLI and through Reconciler.PlanDestroy with the file's push
// sources, removes eventwire's, touches nothing else, and calls no policy
// API (the policy went with the function). The third way is the
// reconciler where ListEventSourceMappings answers, as AWS may, an empty
// list for a function that does not exist (through the fault proxy).
func TestPlanDestroy_FunctionGone(t *testing.T) {
	for _, via := range []string{"cli", "reconciler", "reconciler-AWSListsNothingForAMissingFunction"} {
		t.Run(via, func(t *testing.T) {
			w := newGoneWorld(t)
			ctx := context.Background()
			ordersARN := fmt.Sprintf("arn:aws:lambda:%s:%s:function:orders", mototest.Region, mototest.Account)
			before := w.state()
			want := state{
				Mappings:      []string{"other", "unmanaged orders"},
				OrdersTargets: nil,
				OtherTargets:  before.OtherTargets,
				Integrations:  []string{w.otherARN},
				Routes:        []string{"POST /orders -> (no integration)", "POST /other -> " + w.otherARN},
			}
			if diff := cmp.Diff([]string{ordersARN}, before.OrdersTargets); diff != "" {
				t.Fatalf("orders' targets after apply (-want +got):\n%s", diff)
			}
			if _, err := w.fx.Lambda.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String("orders")}); err != nil {
				t.Fatal(err)
			}
			if code, _, errOut := w.cli("plan", filepath.Join(w.dir, "orders")); code != 1 || !strings.Contains(errOut, "FunctionName: function orders does not exist (ResourceNotFoundException)") {
				t.Errorf("plan of a file naming a deleted function: exit %d, stderr %q; want 1 and the function not found", code, errOut)
			}
			w.calls.Reset()
			var planText string
			switch via {
			case "cli":
				code, out, errOut := w.cli("destroy", "--yes", filepath.Join(w.dir, "orders"))
				if code != 0 {
					t.Fatalf("destroy: exit %d\n%s\n%s", code, out, errOut)
				}
				planText = out
			case "reconciler", "reconciler-AWSListsNothingForAMissingFunction":
				f, err := definition.Load(filepath.Join(w.dir, "orders", "_lambdaeventsourcedef.json"))
				if err != nil {
					t.Fatal(err)
				}
				cfg := w.cfg
				if via != "reconciler" {
					cfg = w.throughProxy(faultproxy.Config{Quotas: map[string]faultproxy.Quota{}, MissingFunctionListsNothing: true})
				}
				r := reconcile.New(cfg, reconcile.Options{})
				p, err := r.PlanDestroy(ctx, "orders", f.Push)
				if err != nil {
					t.Fatal(err)
				}
				if !p.Function.Missing || p.Function.ARN != ordersARN {
					t.Errorf("plan's function = %+v; want missing, with ARN %s", p.Function, ordersARN)
				}
				if err := r.Apply(ctx, p); err != nil {
					t.Fatal(err)
				}
				planText = p.String()
			}
			if !strings.Contains(planText, "function orders (") || !strings.Contains(planText, "gone: tearing down what is left") {
				t.Errorf("plan does not say the function is gone:\n%s", planText)
			}
			if diff := cmp.Diff(want, w.state()); diff != "" {
				t.Errorf("after destroy (-want +got):\n%s", diff)
			}
			for _, c := range w.calls.All() {
				if strings.Contains(c, "Policy") || strings.Contains(c, "Permission") || c == "Lambda.ListAliases" {
					t.Errorf("destroy of a deleted function called %s", c)
				}
			}
			if !slices.Contains(w.calls.Writes(), "ApiGatewayV2.UpdateRoute") {
				t.Errorf("destroy did not detach the route: writes %v", w.calls.Writes())
			}
		})
	}
}

// TestRun_SharesReadsAndReports: the plans of one Run read the HTTP API
// both files name once; a Reconciler's own plans, outside any run, and
// the plans of a new run read it again. A run's apply reports each change
// to the run's progress.Func, scoped to the function and the action.
func TestRun_SharesReadsAndReports(t *testing.T) {
	w := newGoneWorld(t)
	ctx := context.Background()
	var files []*definition.File
	for _, name := range []string{"orders", "other"} {
		f, err := definition.Load(filepath.Join(w.dir, name, "_lambdaeventsourcedef.json"))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	rec := reconcile.New(w.cfg, reconcile.Options{})
	getRoutes := func(planFile func(context.Context, *definition.File) (*plan.Plan, error)) int {
		t.Helper()
		w.calls.Reset()
		for _, f := range files {
			if _, err := planFile(ctx, f); err != nil {
				t.Fatal(err)
			}
		}
		return count(w.calls.All(), "ApiGatewayV2.GetRoutes")
	}
	if n := getRoutes(rec.Plan); n != 2 {
		t.Errorf("Reconciler.Plan of two files on one API: %d GetRoutes, want 2 (no run: nothing shared)", n)
	}
	run := rec.NewRun(nil)
	if n := getRoutes(run.Plan); n != 1 {
		t.Errorf("Run.Plan of two files on one API: %d GetRoutes, want 1", n)
	}
	if n := getRoutes(run.Plan); n != 0 {
		t.Errorf("the same run again: %d GetRoutes, want 0", n)
	}
	if n := getRoutes(rec.NewRun(nil).Plan); n != 1 {
		t.Errorf("a new run: %d GetRoutes, want 1 (nothing kept across runs)", n)
	}
	// Runs, as the deployer uses it: one run per invocation.
	runs := rec.Runs()
	runs.Begin()
	if n := getRoutes(runs.Plan); n != 1 {
		t.Errorf("Runs.Plan of two files on one API: %d GetRoutes, want 1", n)
	}
	if n := getRoutes(runs.Plan); n != 0 {
		t.Errorf("Runs.Plan in the same invocation: %d GetRoutes, want 0", n)
	}
	runs.Begin()
	if n := getRoutes(runs.Plan); n != 1 {
		t.Errorf("Runs.Plan after Begin: %d GetRoutes, want 1 (nothing kept across invocations)", n)
	}

	var events []progress.Event
	var mu sync.Mutex
	run = rec.NewRun(func(e progress.Event) { mu.Lock(); events = append(events, e); mu.Unlock() })
	p, err := run.PlanDestroy(ctx, "orders", files[0].Push)
	if err != nil {
		t.Fatal(err)
	}
	if err := run.Apply(ctx, p); err != nil {
		t.Fatal(err)
	}
	var want []progress.Event
	for _, a := range p.Actions {
		if a.Kind.IsChange() {
			action := fmt.Sprintf("%s %s %s", a.Kind, a.Resource, a.ID)
			want = append(want, progress.Event{Function: "orders", Action: action, Step: progress.Started},
				progress.Event{Function: "orders", Action: action, Step: progress.Finished})
		}
	}
	if len(want) == 0 {
		t.Fatal("the destroy plan has no changes")
	}
	if diff := cmp.Diff(want, events); diff != "" {
		t.Errorf("progress of the run's apply (-want +got):\n%s", diff)
	}
}

func count(ops []string, op string) int {
	n := 0
	for _, o := range ops {
		if o == op {
			n++
		}
	}
	return n
}
