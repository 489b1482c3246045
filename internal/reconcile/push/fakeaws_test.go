package push_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eventwire/eventwire/internal/testkit/fakeaws"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/google/go-cmp/cmp"

	"github.com/eventwire/eventwire/internal/aws/apigwsvc"
	"github.com/eventwire/eventwire/internal/aws/elbsvc"
	"github.com/eventwire/eventwire/internal/aws/lambdasvc"
	"github.com/eventwire/eventwire/internal/definition"
	"github.com/eventwire/eventwire/internal/plan"
	"github.com/eventwire/eventwire/internal/reconcile/push"
	"github.com/eventwire/eventwire/internal/testkit/mototest"
	"github.com/eventwire/eventwire/internal/wiring"
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

	cfg := mototest.Shared(t).Config(t)
	e.calls = mototest.Record(&cfg)
	e.r = push.New(
		lambdasvc.NewPermissions(lambda.NewFromConfig(cfg, func(o *lambda.Options) { o.BaseEndpoint = aws.String(hs.URL) })),
		elbsvc.New(elasticloadbalancingv2.NewFromConfig(cfg)),
		apigwsvc.New(apigatewayv2.NewFromConfig(cfg)), push.Options{})

	exec := "arn:aws:execute-api:us-east-1:123456789012:" + api.ID
	desired := []definition.PushSource{{Service: definition.ServiceAPIGateway, ApiId: api.ID, RouteId: api.Routes["POST /orders"], AliasStageVariableName: "lambdaAlias"}}
	e.apply(t, fn, desired)
	want := map[string][]string{
		"canary": {wiring.StatementID(definition.ServiceAPIGateway, exec+"/beta/POST/orders", "canary")},
		"live":   sorted("by-hand", wiring.StatementID(definition.ServiceAPIGateway, exec+"/prod/POST/orders", "live")),
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
	cfg := mototest.Shared(t).Config(t)
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
		if sid != wiring.StatementID(definition.ServiceELB, tgLive, "live") {
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

// busyPolicies wraps the fake of Lambda's policies as AWS behaves under
// concurrent changes: the first conflicts changes are refused with
// ResourceConflictException (another change in progress), and a change
// that overlaps another one of the same function is recorded (Lambda may
// then drop one of the two statements).
type busyPolicies struct {
	next      http.Handler
	mu        sync.Mutex
	conflicts int
	inFlight  int
	overlaps  int
	refused   int
}

func (b *busyPolicies) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet {
		b.next.ServeHTTP(w, r)
		return
	}
	b.mu.Lock()
	b.inFlight++
	if b.inFlight > 1 {
		b.overlaps++
	}
	refuse := b.conflicts > 0
	if refuse {
		b.conflicts--
		b.refused++
	}
	b.mu.Unlock()
	defer func() { b.mu.Lock(); b.inFlight--; b.mu.Unlock() }()
	if refuse {
		w.Header().Set("X-Amzn-ErrorType", "ResourceConflictException")
		w.WriteHeader(http.StatusConflict)
		io.WriteString(w, `{"Type":"User","message":"The operation cannot be performed at this time. An update is in progress for resource: function"}`)
		return
	}
	time.Sleep(2 * time.Millisecond) // leave room for an overlap to show
	b.next.ServeHTTP(w, r)
}

// TestExecute_FakeAWS_PolicyChangesSerialisedAndRetried grants the
// permissions of two files of one function (orders:live and
// orders:canary, three target groups each) all at once, through one
// Reconciler, while Lambda answers the first changes with
// ResourceConflictException: every statement must end up in its
// alias's policy, no two changes of the function's policies may overlap,
// and the refused ones are retried.
func TestExecute_FakeAWS_PolicyChangesSerialisedAndRetried(t *testing.T) {
	e := newEnv(t)
	base := e.function(t, "orders")
	fake := &fakeaws.LambdaPolicies{Function: base.ARN, Aliases: []string{"canary", "live"}}
	busy := &busyPolicies{next: fake, conflicts: 3}
	hs := httptest.NewServer(busy)
	defer hs.Close()
	cfg := mototest.Shared(t).Config(t)
	r := push.New(
		lambdasvc.NewPermissions(lambda.NewFromConfig(cfg, func(o *lambda.Options) { o.BaseEndpoint = aws.String(hs.URL) })),
		elbsvc.New(elasticloadbalancingv2.NewFromConfig(cfg)),
		apigwsvc.New(apigatewayv2.NewFromConfig(cfg)), push.Options{RetryBackoff: time.Millisecond})

	want := map[string][]string{}
	var wg sync.WaitGroup
	var grants []func() error
	errs := make(chan error, 16)
	for _, alias := range []string{"live", "canary"} {
		fn := plan.Function{Ref: "orders:" + alias, Name: "orders", Qualifier: alias, ARN: base.ARN}
		var desired []definition.PushSource
		for i := range 3 {
			tg, err := e.fx.TargetGroup(e.ctx, fmt.Sprintf("%s-%d", alias, i))
			if err != nil {
				t.Fatal(err)
			}
			desired = append(desired, definition.PushSource{Service: definition.ServiceELB, TargetGroupArn: tg})
			want[alias] = append(want[alias], wiring.StatementID(definition.ServiceELB, tg, alias))
		}
		sort.Strings(want[alias])
		actions, err := r.Plan(e.ctx, fn, desired)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range actions {
			if a.Resource == plan.ResourcePermission {
				grants = append(grants, func() error { return r.Execute(e.ctx, fn, a) })
			}
		}
	}
	// Every grant at once, as files applied concurrently would.
	for _, grant := range grants {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := grant(); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("execute: %v", err)
	}
	if diff := cmp.Diff(want, fake.Sids()); diff != "" {
		t.Errorf("statement ids per qualifier (-want +got):\n%s", diff)
	}
	if busy.overlaps != 0 || busy.refused != 3 {
		t.Errorf("%d overlapping policy changes (want 0), %d refused (want 3)", busy.overlaps, busy.refused)
	}
}

// TestIntegration_FakeAWS_StageVariableNamingAVersion: a stage variable
// may name a version ("3") instead of an alias. The grant goes to that
// version's own policy, and a second apply finds it there and writes
// nothing. Lambda policies are served by a fake of AWS (moto keeps one
// policy per function); API Gateway is moto.
func TestIntegration_FakeAWS_StageVariableNamingAVersion(t *testing.T) {
	e := newEnv(t)
	fn := e.function(t, "orders")
	api, err := e.fx.HTTPAPI(e.ctx, "shop", []string{"POST /orders"}, map[string]map[string]string{
		"prod": {"fnVersion": "3"},
	})
	if err != nil {
		t.Fatal(err)
	}
	fake := &fakeaws.LambdaPolicies{Function: fn.ARN}
	hs := httptest.NewServer(fake)
	defer hs.Close()
	cfg := mototest.Shared(t).Config(t)
	e.calls = mototest.Record(&cfg)
	e.r = push.New(
		lambdasvc.NewPermissions(lambda.NewFromConfig(cfg, func(o *lambda.Options) { o.BaseEndpoint = aws.String(hs.URL) })),
		elbsvc.New(elasticloadbalancingv2.NewFromConfig(cfg)),
		apigwsvc.New(apigatewayv2.NewFromConfig(cfg)), push.Options{})

	desired := []definition.PushSource{{Service: definition.ServiceAPIGateway, ApiId: api.ID, RouteId: api.Routes["POST /orders"], AliasStageVariableName: "fnVersion"}}
	e.apply(t, fn, desired)
	exec := "arn:aws:execute-api:us-east-1:123456789012:" + api.ID
	want := map[string][]string{"3": {wiring.StatementID(definition.ServiceAPIGateway, exec+"/prod/POST/orders", "3")}}
	if diff := cmp.Diff(want, fake.Sids()); diff != "" {
		t.Errorf("statement ids per qualifier (-want +got):\n%s", diff)
	}
	e.applyAgain(t, fn, desired)
}

// refusingELB stands in front of moto's ELBv2 as AWS behaves right after a
// permission is granted: the first refusals RegisterTargets calls are
// answered InvalidTargetException (Elastic Load Balancing does not see the
// permission yet); everything else goes to moto.
type refusingELB struct {
	moto     http.Handler
	mu       sync.Mutex
	refusals int
	refused  int
}

func (f *refusingELB) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	f.mu.Lock()
	refuse := f.refusals > 0 && bytes.Contains(body, []byte("Action=RegisterTargets"))
	if refuse {
		f.refusals--
		f.refused++
	}
	f.mu.Unlock()
	if !refuse {
		f.moto.ServeHTTP(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(http.StatusBadRequest)
	io.WriteString(w, `<ErrorResponse xmlns="http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"><Error><Type>Sender</Type><Code>InvalidTarget</Code><Message>elasticloadbalancing principal does not have permission to invoke the function from target group</Message></Error><RequestId>r</RequestId></ErrorResponse>`)
}

// TestExecute_FakeAWS_RegistrationRetriedUntilPermissionSeen: ELB refuses
// the registration twice, as it does while a new permission propagates;
// the apply retries and the function ends up registered.
func TestExecute_FakeAWS_RegistrationRetriedUntilPermissionSeen(t *testing.T) {
	e := newEnv(t)
	fn := e.function(t, "orders")
	tg, err := e.fx.TargetGroup(e.ctx, "orders")
	if err != nil {
		t.Fatal(err)
	}
	target, err := url.Parse(mototest.Shared(t).URL)
	if err != nil {
		t.Fatal(err)
	}
	front := &refusingELB{moto: httputil.NewSingleHostReverseProxy(target), refusals: 2}
	hs := httptest.NewServer(front)
	defer hs.Close()
	cfg := mototest.Shared(t).Config(t)
	e.r = push.New(lambdasvc.NewPermissions(lambda.NewFromConfig(cfg)),
		elbsvc.New(elasticloadbalancingv2.NewFromConfig(cfg, func(o *elasticloadbalancingv2.Options) { o.BaseEndpoint = aws.String(hs.URL) })),
		apigwsvc.New(apigatewayv2.NewFromConfig(cfg)), push.Options{RetryBackoff: time.Millisecond})

	e.apply(t, fn, []definition.PushSource{{Service: definition.ServiceELB, TargetGroupArn: tg}})
	if front.refused != 2 {
		t.Errorf("refused %d registrations, want 2", front.refused)
	}
	if got := e.targets(t, tg); !cmp.Equal(got, []string{fn.ARN}) {
		t.Errorf("target group holds %v, want %s", got, fn.ARN)
	}
}

// TestIntegration_RoutePointedAtOurIntegrationByOthers: someone points a
// route the file does not declare at eventwire's integration. eventwire
// leaves that route alone (no write on the next apply), and destroy
// detaches only the route it wired, keeping the integration the other
// route still uses. moto; checked with the SDK.
func TestIntegration_RoutePointedAtOurIntegrationByOthers(t *testing.T) {
	e := newEnv(t)
	fn := e.function(t, "orders")
	api, err := e.fx.HTTPAPI(e.ctx, "shop", []string{"GET /orders", "POST /orders"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ours, theirs := api.Routes["GET /orders"], api.Routes["POST /orders"]
	desired := []definition.PushSource{{Service: definition.ServiceAPIGateway, ApiId: api.ID, RouteId: ours}}
	e.apply(t, fn, desired)
	got, err := e.api.GetRoute(e.ctx, &apigatewayv2.GetRouteInput{ApiId: aws.String(api.ID), RouteId: aws.String(ours)})
	if err != nil {
		t.Fatal(err)
	}
	target := aws.ToString(got.Target)
	if _, err := e.api.UpdateRoute(e.ctx, &apigatewayv2.UpdateRouteInput{
		ApiId: aws.String(api.ID), RouteId: aws.String(theirs), Target: aws.String(target),
	}); err != nil {
		t.Fatal(err)
	}

	e.calls.Reset()
	actions := e.apply(t, fn, desired)
	if w := e.calls.Writes(); len(w) != 0 {
		t.Errorf("apply wrote to AWS: %v", w)
	}
	if len(actions) != 1 || actions[0].Kind != plan.LeaveAlone || !strings.Contains(actions[0].ID, theirs) {
		t.Errorf("plan = %+v, want the other route left alone", actions)
	}

	e.calls.Reset()
	e.apply(t, fn, nil)
	if n := strings.Count(strings.Join(e.calls.Writes(), " "), "UpdateRoute"); n != 1 {
		t.Errorf("destroy made %d UpdateRoute calls, want 1 (its own route): %v", n, e.calls.Writes())
	}
	got, err = e.api.GetRoute(e.ctx, &apigatewayv2.GetRouteInput{ApiId: aws.String(api.ID), RouteId: aws.String(theirs)})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(got.Target) != target {
		t.Errorf("the other route's target = %q, want %q", aws.ToString(got.Target), target)
	}
	ints, err := e.api.GetIntegrations(e.ctx, &apigatewayv2.GetIntegrationsInput{ApiId: aws.String(api.ID)})
	if err != nil {
		t.Fatal(err)
	}
	if len(ints.Items) != 1 || "integrations/"+aws.ToString(ints.Items[0].IntegrationId) != target {
		t.Errorf("integrations = %d, want the one the other route uses kept", len(ints.Items))
	}
}
