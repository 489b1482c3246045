package push_test

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/eventwire/eventwire/internal/aws/runcache"
	"github.com/eventwire/eventwire/internal/definition"
	"github.com/eventwire/eventwire/internal/plan"
)

// countOps counts the recorded operations by "Service.Operation".
func countOps(ops []string) map[string]int {
	n := map[string]int{}
	for _, op := range ops {
		n[op]++
	}
	return n
}

// TestIntegration_FewestCalls applies three files, each wiring its own
// function to its own target group and to a route of one shared HTTP API,
// in one run: the API's routes and integrations are read once for all of
// them (the run's cache, kept current by eventwire's own writes), its
// stages and the functions' aliases not at all (no stage variable, no
// qualifier). A second run reads the API afresh, once, writes nothing, and
// does not describe the target groups: each holds a Lambda target.
func TestIntegration_FewestCalls(t *testing.T) {
	e := newEnv(t)
	const n = 3
	var keys []string
	for i := range n {
		keys = append(keys, fmt.Sprintf("POST /f%d", i))
	}
	api, err := e.fx.HTTPAPI(e.ctx, "shared", keys, map[string]map[string]string{"prod": nil})
	if err != nil {
		t.Fatal(err)
	}
	fns := make([]plan.Function, n)
	desired := make([][]definition.PushSource, n)
	for i := range n {
		fns[i] = e.function(t, fmt.Sprintf("f%d", i))
		tg, err := e.fx.TargetGroup(e.ctx, fmt.Sprintf("tg%d", i))
		if err != nil {
			t.Fatal(err)
		}
		desired[i] = []definition.PushSource{
			{Service: definition.ServiceELB, TargetGroupArn: tg},
			{Service: definition.ServiceAPIGateway, ApiId: api.ID, RouteId: api.Routes[keys[i]]},
		}
	}
	r := e.r
	run := func() map[string]int {
		e.calls.Reset()
		e.r = r.WithCache(runcache.New())
		for i := range n {
			e.apply(t, fns[i], desired[i])
		}
		return countOps(e.calls.All())
	}
	want := map[string]int{
		"Lambda.GetPolicy":                               n,
		"Lambda.AddPermission":                           2 * n,
		"Elastic Load Balancing v2.DescribeTargetGroups": n,
		"Elastic Load Balancing v2.DescribeTargetHealth": n,
		"Elastic Load Balancing v2.RegisterTargets":      n,
		"ApiGatewayV2.GetRoutes":                         1,
		"ApiGatewayV2.GetIntegrations":                   1,
		"ApiGatewayV2.CreateIntegration":                 n,
		"ApiGatewayV2.UpdateRoute":                       n,
	}
	if diff := cmp.Diff(want, run()); diff != "" {
		t.Errorf("first run's calls (-want +got):\n%s", diff)
	}
	want = map[string]int{
		"Lambda.GetPolicy": n,
		"Elastic Load Balancing v2.DescribeTargetHealth": n,
		"ApiGatewayV2.GetRoutes":                         1,
		"ApiGatewayV2.GetIntegrations":                   1,
	}
	if diff := cmp.Diff(want, run()); diff != "" {
		t.Errorf("second run's calls (-want +got):\n%s", diff)
	}
	for i := range n {
		e.applyAgain(t, fns[i], desired[i])
	}
}
