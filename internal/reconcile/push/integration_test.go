package push_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/google/go-cmp/cmp"

	"github.com/eventwire/eventwire/internal/aws/apigwsvc"
	"github.com/eventwire/eventwire/internal/aws/elbsvc"
	"github.com/eventwire/eventwire/internal/aws/lambdasvc"
	"github.com/eventwire/eventwire/internal/definition"
	"github.com/eventwire/eventwire/internal/plan"
	"github.com/eventwire/eventwire/internal/reconcile/push"
	"github.com/eventwire/eventwire/internal/testkit/awsfixture"
	"github.com/eventwire/eventwire/internal/testkit/mototest"
	"github.com/eventwire/eventwire/internal/wiring"
)

func TestMain(m *testing.M) { mototest.Main(m) }

// env is one test's view of moto: a Reconciler whose SDK calls are
// recorded, and plain SDK clients to check the result independently.
type env struct {
	ctx    context.Context
	r      *push.Reconciler
	calls  *mototest.Calls
	fx     *awsfixture.Fixture
	lambda *lambda.Client
	elb    *elasticloadbalancingv2.Client
	api    *apigatewayv2.Client
}

func newEnv(t *testing.T) *env {
	t.Helper()
	return newEnvWith(t, push.Options{})
}

func newEnvWith(t *testing.T, opts push.Options) *env {
	t.Helper()
	srv := mototest.Fresh(t)
	cfg := srv.Config(t)
	calls := mototest.Record(&cfg)
	plain := srv.Config(t)
	return &env{
		ctx: context.Background(),
		r: push.New(lambdasvc.NewPermissions(lambda.NewFromConfig(cfg)),
			elbsvc.New(elasticloadbalancingv2.NewFromConfig(cfg)),
			apigwsvc.New(apigatewayv2.NewFromConfig(cfg)), opts),
		calls:  calls,
		fx:     awsfixture.New(plain),
		lambda: lambda.NewFromConfig(plain),
		elb:    elasticloadbalancingv2.NewFromConfig(plain),
		api:    apigatewayv2.NewFromConfig(plain),
	}
}

func (e *env) function(t *testing.T, name string) plan.Function {
	t.Helper()
	arn, err := e.fx.Function(e.ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	return plan.Function{Ref: name, Name: name, ARN: arn}
}

// apply plans and executes, and returns the plan.
func (e *env) apply(t *testing.T, fn plan.Function, desired []definition.PushSource) []plan.Action {
	t.Helper()
	actions, err := e.r.Plan(e.ctx, fn, desired)
	if err != nil {
		t.Fatalf("plan: %v", err)
	}
	for _, a := range actions {
		if err := e.r.Execute(e.ctx, fn, a); err != nil {
			t.Fatalf("execute %s %s %s: %v", a.Kind, a.Resource, a.ID, err)
		}
	}
	return actions
}

// applyAgain applies desired once more and checks that the plan is empty
// and that no write call was made.
func (e *env) applyAgain(t *testing.T, fn plan.Function, desired []definition.PushSource) {
	t.Helper()
	e.calls.Reset()
	if actions := e.apply(t, fn, desired); len(actions) != 0 {
		p := plan.Plan{Function: fn, Actions: actions}
		t.Errorf("second apply planned changes:\n%s", p.String())
	}
	if w := e.calls.Writes(); len(w) != 0 {
		t.Errorf("second apply made write calls: %v", w)
	}
}

type grant struct {
	Sid, Qualifier, Principal, SourceArn string
}

// policy reads the function's policy at qualifier with the SDK and returns
// its statements (moto keeps one policy per function and records the
// qualifier in each statement's Resource; so does AWS, per qualifier).
func (e *env) policy(t *testing.T, fnArn, qualifier string) []grant {
	t.Helper()
	in := &lambda.GetPolicyInput{FunctionName: aws.String(fnArn)}
	if qualifier != "" {
		in.Qualifier = aws.String(qualifier)
	}
	out, err := e.lambda.GetPolicy(e.ctx, in)
	var nf *lambdatypes.ResourceNotFoundException
	if errors.As(err, &nf) {
		return nil
	}
	if err != nil {
		t.Fatalf("get policy: %v", err)
	}
	var doc struct {
		Statement []struct {
			Sid       string
			Principal struct{ Service string }
			Resource  string
			Condition struct {
				ArnLike map[string]string
			}
		}
	}
	if err := json.Unmarshal([]byte(aws.ToString(out.Policy)), &doc); err != nil {
		t.Fatalf("policy document: %v", err)
	}
	var gs []grant
	for _, s := range doc.Statement {
		q := ""
		if len(s.Resource) > len(fnArn) {
			q = s.Resource[len(fnArn)+1:]
		}
		gs = append(gs, grant{Sid: s.Sid, Qualifier: q, Principal: s.Principal.Service, SourceArn: s.Condition.ArnLike["AWS:SourceArn"]})
	}
	sort.Slice(gs, func(i, j int) bool { return gs[i].Sid < gs[j].Sid })
	return gs
}

func want(gs ...grant) []grant {
	for i := range gs {
		if gs[i].Sid == "" {
			gs[i].Sid = wiring.StatementID(gs[i].Principal, gs[i].SourceArn, gs[i].Qualifier)
		}
	}
	sort.Slice(gs, func(i, j int) bool { return gs[i].Sid < gs[j].Sid })
	return gs
}

func (e *env) targets(t *testing.T, tg string) []string {
	t.Helper()
	out, err := e.elb.DescribeTargetHealth(e.ctx, &elasticloadbalancingv2.DescribeTargetHealthInput{TargetGroupArn: aws.String(tg)})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, d := range out.TargetHealthDescriptions {
		ids = append(ids, aws.ToString(d.Target.Id))
	}
	sort.Strings(ids)
	return ids
}

// foreign adds a statement eventwire did not make.
func (e *env) foreign(t *testing.T, fnArn, sid, principal, sourceArn string) {
	t.Helper()
	_, err := e.lambda.AddPermission(e.ctx, &lambda.AddPermissionInput{
		FunctionName: aws.String(fnArn), StatementId: aws.String(sid), Action: aws.String("lambda:InvokeFunction"),
		Principal: aws.String(principal), SourceArn: aws.String(sourceArn),
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestIntegration_ELB_TakeoverAllowed wires two target groups, one of them
// serving another function, which the operator allowed eventwire to take
// over (internal/cli's tests cover the refusal without it).
func TestIntegration_ELB_TakeoverAllowed(t *testing.T) {
	e := newEnvWith(t, push.Options{AllowTakeover: true})
	fn := e.function(t, "orders")
	legacy := e.function(t, "legacy")
	tg, err := e.fx.TargetGroup(e.ctx, "orders")
	if err != nil {
		t.Fatal(err)
	}
	tg2, err := e.fx.TargetGroup(e.ctx, "legacy")
	if err != nil {
		t.Fatal(err)
	}
	// Someone else's function is in tg2, and a statement not made by
	// eventwire names tg.
	if _, err := e.elb.RegisterTargets(e.ctx, &elasticloadbalancingv2.RegisterTargetsInput{
		TargetGroupArn: aws.String(tg2), Targets: []elbtypes.TargetDescription{{Id: aws.String(legacy.ARN)}},
	}); err != nil {
		t.Fatal(err)
	}
	e.foreign(t, fn.ARN, "by-hand", definition.ServiceELB, tg)
	byHand := grant{Sid: "by-hand", Principal: definition.ServiceELB, SourceArn: tg}

	desired := []definition.PushSource{
		{Service: definition.ServiceELB, TargetGroupArn: tg},
		{Service: definition.ServiceELB, TargetGroupArn: tg2},
	}
	t.Run("apply", func(t *testing.T) {
		actions := e.apply(t, fn, desired)
		kinds := map[plan.Kind]int{}
		for _, a := range actions {
			kinds[a.Kind]++
		}
		if diff := cmp.Diff(map[plan.Kind]int{plan.Create: 3, plan.Replace: 1}, kinds); diff != "" {
			t.Errorf("plan kinds (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(want(byHand,
			grant{Principal: definition.ServiceELB, SourceArn: tg},
			grant{Principal: definition.ServiceELB, SourceArn: tg2}), e.policy(t, fn.ARN, "")); diff != "" {
			t.Errorf("policy (-want +got):\n%s", diff)
		}
		for _, g := range []string{tg, tg2} {
			if diff := cmp.Diff([]string{fn.ARN}, e.targets(t, g)); diff != "" {
				t.Errorf("targets of %s (-want +got):\n%s", g, diff)
			}
		}
	})
	t.Run("second apply", func(t *testing.T) { e.applyAgain(t, fn, desired) })
	t.Run("remove one", func(t *testing.T) {
		e.apply(t, fn, desired[:1])
		if got := e.targets(t, tg2); len(got) != 0 {
			t.Errorf("targets of %s = %v, want none", tg2, got)
		}
		if diff := cmp.Diff(want(byHand, grant{Principal: definition.ServiceELB, SourceArn: tg}), e.policy(t, fn.ARN, "")); diff != "" {
			t.Errorf("policy (-want +got):\n%s", diff)
		}
		e.applyAgain(t, fn, desired[:1])
	})
	t.Run("destroy", func(t *testing.T) {
		e.apply(t, fn, nil)
		if got := e.targets(t, tg); len(got) != 0 {
			t.Errorf("targets of %s = %v, want none", tg, got)
		}
		if diff := cmp.Diff(want(byHand), e.policy(t, fn.ARN, "")); diff != "" {
			t.Errorf("policy (-want +got): the statement eventwire did not make must stay\n%s", diff)
		}
		e.applyAgain(t, fn, nil)
	})
}

func TestIntegration_ELB_QualifiedFunction(t *testing.T) {
	e := newEnv(t)
	fn := e.function(t, "orders")
	if _, err := e.fx.Alias(e.ctx, "orders", "live"); err != nil {
		t.Fatal(err)
	}
	fn.Ref, fn.Qualifier = "orders:live", "live"
	tg, err := e.fx.TargetGroup(e.ctx, "orders")
	if err != nil {
		t.Fatal(err)
	}
	desired := []definition.PushSource{{Service: definition.ServiceELB, TargetGroupArn: tg}}
	e.apply(t, fn, desired)
	if diff := cmp.Diff([]string{fn.ARN + ":live"}, e.targets(t, tg)); diff != "" {
		t.Errorf("targets (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want(grant{Qualifier: "live", Principal: definition.ServiceELB, SourceArn: tg}), e.policy(t, fn.ARN, "live")); diff != "" {
		t.Errorf("policy of alias live (-want +got):\n%s", diff)
	}
	e.applyAgain(t, fn, desired)
	e.apply(t, fn, nil)
	if got := e.targets(t, tg); len(got) != 0 {
		t.Errorf("targets after destroy = %v", got)
	}
	if got := e.policy(t, fn.ARN, "live"); len(got) != 0 {
		t.Errorf("policy after destroy = %v", got)
	}
}

func TestIntegration_ELB_MissingTargetGroup(t *testing.T) {
	e := newEnv(t)
	fn := e.function(t, "orders")
	missing := "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/nope/0000000000000000"
	_, err := e.r.Plan(e.ctx, fn, []definition.PushSource{{Service: definition.ServiceELB, TargetGroupArn: missing}})
	if !errors.Is(err, elbsvc.ErrNotFound) {
		t.Errorf("plan with a missing target group: err = %v, want elbsvc.ErrNotFound", err)
	}
	if w := e.calls.Writes(); len(w) != 0 {
		t.Errorf("writes = %v, want none", w)
	}
}

func TestIntegration_APIGateway(t *testing.T) {
	e := newEnv(t)
	fn := e.function(t, "orders")
	for _, alias := range []string{"live", "canary"} {
		if _, err := e.fx.Alias(e.ctx, "orders", alias); err != nil {
			t.Fatal(err)
		}
	}
	api, err := e.fx.HTTPAPI(e.ctx, "shop", []string{"GET /orders/{id}", "$default", "POST /orders"},
		map[string]map[string]string{
			"prod": {"lambdaAlias": "live"},
			"beta": {"lambdaAlias": "canary"},
			"dev":  nil,
		})
	if err != nil {
		t.Fatal(err)
	}
	get, def, post := api.Routes["GET /orders/{id}"], api.Routes["$default"], api.Routes["POST /orders"]
	// POST /orders belongs to someone else's integration.
	theirs, err := e.api.CreateIntegration(e.ctx, &apigatewayv2.CreateIntegrationInput{
		ApiId: aws.String(api.ID), IntegrationType: "HTTP_PROXY", IntegrationUri: aws.String("https://example.com"),
		IntegrationMethod: aws.String("ANY"), PayloadFormatVersion: aws.String("1.0"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.api.UpdateRoute(e.ctx, &apigatewayv2.UpdateRouteInput{
		ApiId: aws.String(api.ID), RouteId: aws.String(post), Target: aws.String("integrations/" + aws.ToString(theirs.IntegrationId)),
	}); err != nil {
		t.Fatal(err)
	}
	exec := "arn:aws:execute-api:us-east-1:123456789012:" + api.ID
	desired := []definition.PushSource{
		{Service: definition.ServiceAPIGateway, ApiId: api.ID, RouteId: get},
		{Service: definition.ServiceAPIGateway, ApiId: api.ID, RouteId: def, AliasStageVariableName: "lambdaAlias"},
	}
	wantGrants := want(
		grant{Principal: definition.ServiceAPIGateway, SourceArn: exec + "/*/GET/orders/*"},
		grant{Qualifier: "live", Principal: definition.ServiceAPIGateway, SourceArn: exec + "/prod/$default"},
		grant{Qualifier: "canary", Principal: definition.ServiceAPIGateway, SourceArn: exec + "/beta/$default"},
	)

	t.Run("apply", func(t *testing.T) {
		e.apply(t, fn, desired)
		// moto keeps one policy per function (AWS: one per qualifier, see
		// the FakeAWS test); the qualifier is in each statement's Resource.
		if diff := cmp.Diff(wantGrants, e.policy(t, fn.ARN, "")); diff != "" {
			t.Errorf("policy (-want +got):\n%s", diff)
		}
		for route, uri := range map[string]string{
			get: fn.ARN,
			def: fn.ARN + ":${stageVariables.lambdaAlias}",
		} {
			r, err := e.api.GetRoute(e.ctx, &apigatewayv2.GetRouteInput{ApiId: aws.String(api.ID), RouteId: aws.String(route)})
			if err != nil {
				t.Fatal(err)
			}
			id, ok := cutPrefix(aws.ToString(r.Target), "integrations/")
			if !ok {
				t.Fatalf("route %s target = %q, want integrations/ID", route, aws.ToString(r.Target))
			}
			in, err := e.api.GetIntegration(e.ctx, &apigatewayv2.GetIntegrationInput{ApiId: aws.String(api.ID), IntegrationId: aws.String(id)})
			if err != nil {
				t.Fatal(err)
			}
			got := [4]string{string(in.IntegrationType), aws.ToString(in.IntegrationUri), aws.ToString(in.PayloadFormatVersion), aws.ToString(in.Description)}
			if diff := cmp.Diff([4]string{"AWS_PROXY", uri, "2.0", "managed by eventwire for " + fn.ARN}, got); diff != "" {
				t.Errorf("integration of route %s (-want +got):\n%s", route, diff)
			}
		}
		r, _ := e.api.GetRoute(e.ctx, &apigatewayv2.GetRouteInput{ApiId: aws.String(api.ID), RouteId: aws.String(post)})
		if got := aws.ToString(r.Target); got != "integrations/"+aws.ToString(theirs.IntegrationId) {
			t.Errorf("undeclared route's target = %s, want it untouched", got)
		}
	})
	t.Run("second apply", func(t *testing.T) { e.applyAgain(t, fn, desired) })
	t.Run("remove the stage variable route", func(t *testing.T) {
		e.apply(t, fn, desired[:1])
		if got := filter(e.policy(t, fn.ARN, ""), "live", "canary"); len(got) != 0 {
			t.Errorf("alias statements left: %v", got)
		}
		if n := e.managedIntegrations(t, api.ID, fn); n != 1 {
			t.Errorf("managed integrations = %d, want 1", n)
		}
		e.applyAgain(t, fn, desired[:1])
	})
	t.Run("destroy", func(t *testing.T) {
		e.calls.Reset()
		e.apply(t, fn, nil)
		if got := e.policy(t, fn.ARN, ""); len(got) != 0 {
			t.Errorf("policy after destroy = %v, want empty", got)
		}
		if n := e.managedIntegrations(t, api.ID, fn); n != 0 {
			t.Errorf("managed integrations after destroy = %d, want 0", n)
		}
		// moto ignores an empty Target in UpdateRoute (AWS clears it, see
		// TestSetRouteTarget_FakeAWS_EmptyTargetDetaches): check the call.
		if !containsOp(e.calls.Writes(), "ApiGatewayV2.UpdateRoute") {
			t.Errorf("destroy did not detach the route: writes %v", e.calls.Writes())
		}
		// The routes and the API stay.
		out, err := e.api.GetRoutes(e.ctx, &apigatewayv2.GetRoutesInput{ApiId: aws.String(api.ID)})
		if err != nil || len(out.Items) != 3 {
			t.Errorf("routes after destroy: %d, %v; want 3", len(out.Items), err)
		}
		e.applyAgain(t, fn, nil)
	})
}

func (e *env) managedIntegrations(t *testing.T, apiID string, fn plan.Function) int {
	t.Helper()
	out, err := e.api.GetIntegrations(e.ctx, &apigatewayv2.GetIntegrationsInput{ApiId: aws.String(apiID)})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, in := range out.Items {
		if aws.ToString(in.Description) == wiring.IntegrationDescription(fn.QualifiedARN()) {
			n++
		}
	}
	return n
}

func filter(gs []grant, qualifiers ...string) []grant {
	var out []grant
	for _, g := range gs {
		for _, q := range qualifiers {
			if g.Qualifier == q {
				out = append(out, g)
			}
		}
	}
	return out
}

func containsOp(ops []string, op string) bool {
	for _, o := range ops {
		if o == op {
			return true
		}
	}
	return false
}

func cutPrefix(s, prefix string) (string, bool) {
	if len(s) < len(prefix) || s[:len(prefix)] != prefix {
		return "", false
	}
	return s[len(prefix):], true
}

func TestIntegration_APIGateway_RefusedBeforeAnyWrite(t *testing.T) {
	e := newEnv(t)
	fn := e.function(t, "orders")
	api, err := e.fx.HTTPAPI(e.ctx, "shop", []string{"GET /orders"}, map[string]map[string]string{"prod": {"lambdaAlias": "ghost"}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		src  definition.PushSource
		want string
	}{
		{"stage names a missing alias", definition.PushSource{Service: definition.ServiceAPIGateway, ApiId: api.ID, RouteId: api.Routes["GET /orders"], AliasStageVariableName: "lambdaAlias"},
			`names alias "ghost" in stage variable lambdaAlias`},
		{"missing route", definition.PushSource{Service: definition.ServiceAPIGateway, ApiId: api.ID, RouteId: "nope"}, "route nope"},
		{"missing api", definition.PushSource{Service: definition.ServiceAPIGateway, ApiId: "nope", RouteId: "r"}, "api nope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.calls.Reset()
			_, err := e.r.Plan(e.ctx, fn, []definition.PushSource{tt.src})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want one containing %q", err, tt.want)
			}
			if w := e.calls.Writes(); len(w) != 0 {
				t.Errorf("writes = %v, want none", w)
			}
		})
	}
}

// An apply (or a destroy) interrupted after any action converges on the
// next run, without a second integration or statement.
func TestIntegration_InterruptedApplyConverges(t *testing.T) {
	e := newEnv(t)
	fn := e.function(t, "orders")
	tg, err := e.fx.TargetGroup(e.ctx, "orders")
	if err != nil {
		t.Fatal(err)
	}
	api, err := e.fx.HTTPAPI(e.ctx, "shop", []string{"GET /orders"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	desired := []definition.PushSource{
		{Service: definition.ServiceELB, TargetGroupArn: tg},
		{Service: definition.ServiceAPIGateway, ApiId: api.ID, RouteId: api.Routes["GET /orders"]},
	}
	// interrupt starts from the state `from` leads to, runs the first stop
	// actions of the plan for `to`, then applies `to` in full.
	interrupt := func(t *testing.T, from, to []definition.PushSource, stop int) {
		e.apply(t, fn, from)
		actions, err := e.r.Plan(e.ctx, fn, to)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range actions[:stop] {
			if err := e.r.Execute(e.ctx, fn, a); err != nil {
				t.Fatalf("execute %s %s: %v", a.Kind, a.ID, err)
			}
		}
		e.apply(t, fn, to)
		e.applyAgain(t, fn, to)
		wantInts, wantStmts, wantTargets := 1, 2, []string{fn.ARN}
		if to == nil {
			wantInts, wantStmts, wantTargets = 0, 0, nil
		}
		if n := e.managedIntegrations(t, api.ID, fn); n != wantInts {
			t.Errorf("managed integrations = %d, want %d", n, wantInts)
		}
		if got := e.policy(t, fn.ARN, ""); len(got) != wantStmts {
			t.Errorf("policy = %v, want %d statements", got, wantStmts)
		}
		if diff := cmp.Diff(wantTargets, e.targets(t, tg)); diff != "" {
			t.Errorf("targets (-want +got):\n%s", diff)
		}
	}
	const n = 5 // 2 grants, register, integration, route
	for stop := 0; stop <= n; stop++ {
		t.Run(fmt.Sprintf("apply stopped after %d", stop), func(t *testing.T) { interrupt(t, nil, desired, stop) })
	}
	const m = 5 // detach, deregister, delete integration, 2 revocations
	for stop := 0; stop <= m; stop++ {
		t.Run(fmt.Sprintf("destroy stopped after %d", stop), func(t *testing.T) { interrupt(t, desired, nil, stop) })
	}
}
