package push_test

import (
	"net/http/httptest"
	"sort"
	"testing"

	"github.com/eventwire/eventwire/internal/fakeaws"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/google/go-cmp/cmp"

	"github.com/eventwire/eventwire/internal/apigwsvc"
	"github.com/eventwire/eventwire/internal/definition"
	"github.com/eventwire/eventwire/internal/elbsvc"
	"github.com/eventwire/eventwire/internal/lambdasvc"
	"github.com/eventwire/eventwire/internal/mototest"
	"github.com/eventwire/eventwire/internal/plan"
	"github.com/eventwire/eventwire/internal/push"
)

// TestIntegration_FakeAWS_PolicyPerAlias wires a route whose integration
// names the alias through a stage variable: the permissions must go to
// each alias's own policy, scoped to the stage that names it, and come
// out of the same policies on destroy. Lambda policies are served by a
// fake of AWS (moto keeps one policy per function); API Gateway is moto.
func TestIntegration_FakeAWS_PolicyPerAlias(t *testing.T) {
	e := newEnv(t)
	fn := e.function(t, "orders")
	api, err := e.fx.HTTPAPI(e.ctx, "shop", []string{"POST /orders"}, map[string]map[string]string{
		"prod": {"lambdaAlias": "live"}, "beta": {"lambdaAlias": "canary"}, "dev": {},
	})
	if err != nil {
		t.Fatal(err)
	}
	fake := &fakeaws.LambdaPolicies{Function: fn.ARN, Aliases: []string{"canary", "live"}}
	fake.SetStatement("live", "by-hand", `{"Sid":"by-hand","Effect":"Allow","Principal":{"Service":"apigateway.amazonaws.com"},"Action":"lambda:InvokeFunction","Resource":"`+fn.ARN+`:live"}`)
	hs := httptest.NewServer(fake)
	defer hs.Close()

	cfg := srv.Config(t)
	e.calls = mototest.Record(&cfg)
	e.r = push.New(
		lambdasvc.NewPermissions(lambda.NewFromConfig(cfg, func(o *lambda.Options) { o.BaseEndpoint = aws.String(hs.URL) })),
		elbsvc.New(elasticloadbalancingv2.NewFromConfig(cfg)),
		apigwsvc.New(apigatewayv2.NewFromConfig(cfg)), push.Options{})

	exec := "arn:aws:execute-api:us-east-1:123456789012:" + api.ID
	desired := []definition.PushSource{{Service: definition.ServiceAPIGateway, ApiId: api.ID, RouteId: api.Routes["POST /orders"], AliasStageVariableName: "lambdaAlias"}}
	e.apply(t, fn, desired)
	want := map[string][]string{
		"canary": {plan.StatementID(definition.ServiceAPIGateway, exec+"/beta/POST/orders", "canary")},
		"live":   sorted("by-hand", plan.StatementID(definition.ServiceAPIGateway, exec+"/prod/POST/orders", "live")),
	}
	if diff := cmp.Diff(want, fake.Sids()); diff != "" {
		t.Errorf("statement ids per qualifier (-want +got):\n%s", diff)
	}
	e.applyAgain(t, fn, desired)

	e.apply(t, fn, nil)
	if diff := cmp.Diff(map[string][]string{"live": {"by-hand"}}, nonEmpty(fake.Sids())); diff != "" {
		t.Errorf("after destroy, statement ids per qualifier (-want +got):\n%s", diff)
	}
	e.applyAgain(t, fn, nil)
}

func sorted(s ...string) []string { sort.Strings(s); return s }

func nonEmpty(m map[string][]string) map[string][]string {
	for k, v := range m {
		if len(v) == 0 {
			delete(m, k)
		}
	}
	return m
}

// TestIntegration_FakeAWS_QualifiersOwnTheirGrants wires two aliases of one
// function, each from its own file (orders:live and orders:canary, a
// target group each), and the unqualified function to a route with a
// stage variable whose stages name both aliases. Each file's apply and
// destroy must leave the others' statements and targets alone, and a
// second apply of each must write nothing. Lambda policies are served by
// a fake of AWS (moto keeps one policy per function); ELB and API Gateway
// are moto.
func TestIntegration_FakeAWS_QualifiersOwnTheirGrants(t *testing.T) {
	e := newEnv(t)
	base := e.function(t, "orders")
	live := plan.Function{Ref: "orders:live", Name: "orders", Qualifier: "live", ARN: base.ARN}
	canary := plan.Function{Ref: "orders:canary", Name: "orders", Qualifier: "canary", ARN: base.ARN}
	tgLive, err := e.fx.TargetGroup(e.ctx, "live")
	if err != nil {
		t.Fatal(err)
	}
	tgCanary, err := e.fx.TargetGroup(e.ctx, "canary")
	if err != nil {
		t.Fatal(err)
	}
	api, err := e.fx.HTTPAPI(e.ctx, "shop", []string{"POST /orders"}, map[string]map[string]string{
		"prod": {"alias": "live"}, "beta": {"alias": "canary"},
	})
	if err != nil {
		t.Fatal(err)
	}
	fake := &fakeaws.LambdaPolicies{Function: base.ARN, Aliases: []string{"canary", "live"}}
	hs := httptest.NewServer(fake)
	defer hs.Close()
	cfg := srv.Config(t)
	e.calls = mototest.Record(&cfg)
	e.r = push.New(
		lambdasvc.NewPermissions(lambda.NewFromConfig(cfg, func(o *lambda.Options) { o.BaseEndpoint = aws.String(hs.URL) })),
		elbsvc.New(elasticloadbalancingv2.NewFromConfig(cfg)),
		apigwsvc.New(apigatewayv2.NewFromConfig(cfg)), push.Options{})

	files := []struct {
		fn      plan.Function
		desired []definition.PushSource
	}{
		{live, []definition.PushSource{{Service: definition.ServiceELB, TargetGroupArn: tgLive}}},
		{canary, []definition.PushSource{{Service: definition.ServiceELB, TargetGroupArn: tgCanary}}},
		{base, []definition.PushSource{{Service: definition.ServiceAPIGateway, ApiId: api.ID, RouteId: api.Routes["POST /orders"], AliasStageVariableName: "alias"}}},
	}
	for _, f := range files {
		e.apply(t, f.fn, f.desired)
	}
	all := fake.Sids()
	if n := len(all["live"]) + len(all["canary"]); n != 4 {
		t.Fatalf("statements per qualifier = %v, want an ELB and a stage grant on each alias", all)
	}
	for _, f := range files {
		e.applyAgain(t, f.fn, f.desired)
	}
	if diff := cmp.Diff(all, fake.Sids()); diff != "" {
		t.Errorf("second applies changed statements (-want +got):\n%s", diff)
	}
	if got := e.targets(t, tgLive); !cmp.Equal(got, []string{base.ARN + ":live"}) {
		t.Errorf("live target group holds %v", got)
	}
	if got := e.targets(t, tgCanary); !cmp.Equal(got, []string{base.ARN + ":canary"}) {
		t.Errorf("canary target group holds %v", got)
	}

	// Destroying the live file removes its grant and target, nothing else.
	e.apply(t, live, nil)
	want := map[string][]string{"canary": all["canary"], "live": nil}
	for _, sid := range all["live"] {
		if sid != plan.StatementID(definition.ServiceELB, tgLive, "live") {
			want["live"] = append(want["live"], sid)
		}
	}
	if diff := cmp.Diff(want, fake.Sids()); diff != "" {
		t.Errorf("after destroying orders:live (-want +got):\n%s", diff)
	}
	if got := e.targets(t, tgLive); len(got) != 0 {
		t.Errorf("live target group still holds %v", got)
	}
	if got := e.targets(t, tgCanary); !cmp.Equal(got, []string{base.ARN + ":canary"}) {
		t.Errorf("destroying orders:live changed the canary target group: %v", got)
	}
	for _, f := range files[1:] {
		e.applyAgain(t, f.fn, f.desired)
	}
}
