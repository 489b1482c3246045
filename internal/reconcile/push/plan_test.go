package push

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/eventwire/eventwire/internal/definition"
	"github.com/eventwire/eventwire/internal/plan"
	"github.com/eventwire/eventwire/internal/testkit/golden"
	"github.com/eventwire/eventwire/internal/wiring"
)

// planCase is one file of testdata/plan: the file's push sources (desired),
// what AWS has (observed) and the operator's rules. A statement without a
// Sid gets the id eventwire gives that grant, so cases can say
// "eventwire's statement".
type planCase struct {
	Function plan.Function
	Desired  []definition.PushSource
	Observed wiring.Push
	// Former, when given, plans a removal (PlanRemoval) with these push
	// sources of the last file applied, instead of Plan with Desired.
	Former []definition.PushSource
	Rules  Rules
}

// readCase reads one file of testdata/plan.
func readCase(t *testing.T, file string) planCase {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var c planCase
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	fillSids(c)
	return c
}

// plan plans the case under rules, against obs: PlanRemoval with Former
// when the case has one, else Plan with Desired.
func (c planCase) plan(obs wiring.Push, rules Rules) []plan.Action {
	if c.Former != nil {
		return PlanRemoval(c.Function, c.Former, obs)
	}
	return Plan(c.Function, c.Desired, obs, rules)
}

// fillSids gives each statement without a Sid the id eventwire gives that
// grant for the case's function, and each Sid "for:REF" the id eventwire
// gives it for the function reference REF (another file's statement).
func fillSids(c planCase) {
	for i, s := range c.Observed.Statements {
		fn := c.Function
		if ref, ok := strings.CutPrefix(s.Sid, "for:"); ok {
			name, q, _ := strings.Cut(ref, ":")
			fn = plan.Function{Ref: ref, Name: name, Qualifier: q, ARN: c.Function.ARN}
		} else if s.Sid != "" {
			continue
		}
		c.Observed.Statements[i].Sid = statementID(fn, s)
	}
}

// render is the golden form of a plan: the plan as users see it, then the
// operation each action carries for the executor.
func render(fn plan.Function, actions []plan.Action) string {
	var b strings.Builder
	p := plan.Plan{Function: fn, Actions: actions}
	b.WriteString(p.String())
	if len(actions) > 0 {
		b.WriteString("ops:\n")
	}
	for i, a := range actions {
		fmt.Fprintf(&b, "  %d. %T %+v\n", i+1, a.Op, a.Op)
	}
	return b.String()
}

func TestPlan_Golden(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "plan", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no test cases: %v", err)
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".json")
		t.Run(name, func(t *testing.T) {
			c := readCase(t, file)
			got := render(c.Function, c.plan(c.Observed, c.Rules))
			golden.Check(t, strings.TrimSuffix(file, ".json")+".golden", got)
		})
	}
}

// TestPlan_ConvergesAfterApply applies each plan to the observation the
// way AWS would, and checks that planning again gives an empty plan. A
// plan with a conflict is applied not at all (TestPlan_ConflictGetsNothing
// covers it), so convergence is checked with takeovers allowed, the one
// way such a plan is applied; without a conflict the rule changes nothing.
func TestPlan_ConvergesAfterApply(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "plan", "*.json"))
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".json"), func(t *testing.T) {
			c := readCase(t, file)
			rules := Rules{AllowTakeover: true}
			obs := simulate(c.Function, c.Observed, c.plan(c.Observed, rules))
			again := c.plan(obs, rules)
			if (&plan.Plan{Actions: again}).HasChanges() {
				t.Errorf("second plan has changes:\n%s", render(c.Function, again))
			}
		})
	}
}

// simulate applies actions to a copy of obs, as AWS would.
func simulate(fn plan.Function, obs wiring.Push, actions []plan.Action) wiring.Push {
	var raw []byte
	raw, _ = json.Marshal(obs)
	var o wiring.Push
	_ = json.Unmarshal(raw, &o)
	next := 0
	for _, a := range actions {
		if !a.Kind.IsChange() {
			continue
		}
		switch op := a.Op.(type) {
		case grantOp:
			o.Statements = append(o.Statements, op.Statement)
		case revokeOp:
			var keep []wiring.Statement
			for _, s := range o.Statements {
				if key(s) != key(op.Statement) {
					keep = append(keep, s)
				}
			}
			o.Statements = keep
		case registerOp:
			tg := o.TargetGroups[op.TargetGroupArn]
			var keep []string
			for _, t := range tg.Targets {
				if !slices.Contains(op.Deregister, t) {
					keep = append(keep, t)
				}
			}
			if op.Register != "" {
				keep = append(keep, op.Register)
			}
			tg.Targets = keep
			o.TargetGroups[op.TargetGroupArn] = tg
		case deregisterOp:
			tg := o.TargetGroups[op.TargetGroupArn]
			var keep []string
			for _, t := range tg.Targets {
				if t != op.Target {
					keep = append(keep, t)
				}
			}
			tg.Targets = keep
			o.TargetGroups[op.TargetGroupArn] = tg
		case integrationOp:
			ensure(&o, op.ApiID, op.URI, op.Description, &next)
		case attachOp:
			id := ensure(&o, op.ApiID, op.URI, op.Description, &next)
			api := o.APIs[op.ApiID]
			for i := range api.Routes {
				if api.Routes[i].ID == op.RouteID {
					api.Routes[i].Target = "integrations/" + id
				}
			}
			o.APIs[op.ApiID] = api
		case detachOp:
			api := o.APIs[op.ApiID]
			for i := range api.Routes {
				if api.Routes[i].ID == op.RouteID {
					api.Routes[i].Target = ""
				}
			}
			o.APIs[op.ApiID] = api
		case deleteIntegrationOp:
			api := o.APIs[op.ApiID]
			var keep []wiring.Integration
			for _, in := range api.Integrations {
				if in.ID != op.IntegrationID {
					keep = append(keep, in)
				}
			}
			api.Integrations = keep
			o.APIs[op.ApiID] = api
		default:
			panic(fmt.Sprintf("unknown op %T", a.Op))
		}
	}
	return o
}

func ensure(o *wiring.Push, apiID, uri, desc string, next *int) string {
	api := o.APIs[apiID]
	if id, ok := goodIntegration(api, desc, uri, ""); ok {
		return id
	}
	*next++
	id := fmt.Sprintf("new%d", *next)
	api.Integrations = append(api.Integrations, wiring.Integration{ID: id, Type: wiring.IntegrationType, URI: uri, PayloadFormatVersion: wiring.PayloadFormatVersion, Description: desc})
	o.APIs[apiID] = api
	return id
}

func TestExecuteAPIArn(t *testing.T) {
	a := functionARN(plan.Function{ARN: "arn:aws:lambda:eu-west-1:111122223333:function:orders"})
	tests := []struct {
		stage, key, want string
	}{
		{"*", "GET /orders", "arn:aws:execute-api:eu-west-1:111122223333:api1/*/GET/orders"},
		{"*", "GET /orders/{id}", "arn:aws:execute-api:eu-west-1:111122223333:api1/*/GET/orders/*"},
		{"*", "GET /orders/{id}/items/{item}", "arn:aws:execute-api:eu-west-1:111122223333:api1/*/GET/orders/*/items/*"},
		{"*", "ANY /{proxy+}", "arn:aws:execute-api:eu-west-1:111122223333:api1/*/*/*"},
		{"*", "ANY /orders", "arn:aws:execute-api:eu-west-1:111122223333:api1/*/*/orders"},
		{"*", "POST /", "arn:aws:execute-api:eu-west-1:111122223333:api1/*/POST/"},
		{"*", "$default", "arn:aws:execute-api:eu-west-1:111122223333:api1/*/$default"},
		{"prod", "$default", "arn:aws:execute-api:eu-west-1:111122223333:api1/prod/$default"},
		{"$default", "DELETE /orders/{id}", "arn:aws:execute-api:eu-west-1:111122223333:api1/$default/DELETE/orders/*"},
	}
	for _, tt := range tests {
		t.Run(tt.stage+" "+tt.key, func(t *testing.T) {
			got := executeAPI(a, "api1", tt.stage, tt.key)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if id, stage := executeAPIParts(got); id != "api1" || stage != tt.stage {
				t.Errorf("executeAPIParts(%s) = %q, %q, want api1, %s", got, id, stage, tt.stage)
			}
		})
	}
	if got := executeAPI(functionARN(plan.Function{ARN: "arn:aws-cn:lambda:cn-north-1:111122223333:function:f"}), "x", "*", "GET /a"); got != "arn:aws-cn:execute-api:cn-north-1:111122223333:x/*/GET/a" {
		t.Errorf("partition: got %s", got)
	}
}

func TestIntegrationURI(t *testing.T) {
	fn := plan.Function{Name: "orders", Qualifier: "live", ARN: "arn:aws:lambda:us-east-1:123456789012:function:orders"}
	tests := []struct {
		fn             plan.Function
		variable, want string
	}{
		{fn, "", "arn:aws:lambda:us-east-1:123456789012:function:orders:live"},
		{plan.Function{ARN: fn.ARN}, "", fn.ARN},
		{fn, "lambdaAlias", "arn:aws:lambda:us-east-1:123456789012:function:orders:${stageVariables.lambdaAlias}"},
	}
	for _, tt := range tests {
		if got := IntegrationURI(tt.fn, tt.variable); got != tt.want {
			t.Errorf("IntegrationURI(%s, %q) = %s, want %s", tt.fn.QualifiedARN(), tt.variable, got, tt.want)
		}
	}
}

func TestCheckStageAliases(t *testing.T) {
	fn := plan.Function{Name: "orders", ARN: "arn:aws:lambda:us-east-1:123456789012:function:orders"}
	obs := wiring.Push{
		Aliases: []string{"live"},
		APIs: map[string]wiring.API{"a1": {Stages: []wiring.Stage{
			{Name: "beta", Variables: map[string]string{"lambdaAlias": "canary"}},
			{Name: "dev"},
			{Name: "old", Variables: map[string]string{"lambdaAlias": "3"}},
			{Name: "prod", Variables: map[string]string{"lambdaAlias": "live"}},
		}}},
	}
	tests := []struct {
		name    string
		desired []definition.PushSource
		want    string
	}{
		{"no stage variable", []definition.PushSource{{Service: definition.ServiceAPIGateway, ApiId: "a1", RouteId: "r"}}, ""},
		{"alias missing", []definition.PushSource{{Service: definition.ServiceAPIGateway, ApiId: "a1", RouteId: "r", AliasStageVariableName: "lambdaAlias"}},
			`stage beta of api a1 names alias "canary" in stage variable lambdaAlias, but function orders has no such alias`},
		{"variable no stage sets", []definition.PushSource{{Service: definition.ServiceAPIGateway, ApiId: "a1", RouteId: "r", AliasStageVariableName: "other"}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ""
			if err := CheckStageAliases(fn, tt.desired, obs); err != nil {
				got = err.Error()
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestPlan_ConflictGetsNothing checks, for every case whose plan holds a
// conflict, that the conflict names its owner and that no other action of
// the plan touches the source in conflict: no grant or revocation from
// it, no registration or deregistration in its target group, no change to
// its route, no deletion of the integration it would use.
func TestPlan_ConflictGetsNothing(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "plan", "*.json"))
	conflicts := 0
	for _, file := range files {
		c := readCase(t, file)
		actions := c.plan(c.Observed, c.Rules)
		for _, conflict := range (&plan.Plan{Actions: actions}).Conflicts() {
			conflicts++
			if conflict.Owner == "" {
				t.Errorf("%s: conflict %s %s names no owner", file, conflict.Resource, conflict.ID)
			}
			touches := conflictSource(t, c, conflict)
			for _, a := range actions {
				if a.Kind.IsChange() && touches(a.Op) {
					t.Errorf("%s: %s %s %s touches %s, which is in conflict", file, a.Kind, a.Resource, a.ID, conflict.ID)
				}
			}
		}
	}
	if conflicts == 0 {
		t.Fatal("no case plans a conflict")
	}
}

// conflictSource returns a test of whether an operation touches the source
// of desired that conflict is about.
func conflictSource(t *testing.T, c planCase, conflict plan.Action) func(op any) bool {
	t.Helper()
	arn := functionARN(c.Function)
	desc := wiring.IntegrationDescription(c.Function.QualifiedARN())
	for _, src := range c.Desired {
		if src.Service == definition.ServiceELB && src.TargetGroupArn == conflict.ID {
			return func(op any) bool {
				switch op := op.(type) {
				case grantOp:
					return op.Statement.SourceArn == src.TargetGroupArn
				case revokeOp:
					return op.Statement.SourceArn == src.TargetGroupArn
				case registerOp:
					return op.TargetGroupArn == src.TargetGroupArn
				case deregisterOp:
					return op.TargetGroupArn == src.TargetGroupArn
				}
				return false
			}
		}
		api := c.Observed.APIs[src.ApiId]
		route, ok := findRoute(api.Routes, src.RouteId)
		if src.Service != definition.ServiceAPIGateway || !ok || routeID(src.ApiId, route) != conflict.ID {
			continue
		}
		grants := map[string]bool{executeAPI(arn, src.ApiId, "*", route.Key): true}
		for _, st := range api.Stages {
			grants[executeAPI(arn, src.ApiId, st.Name, route.Key)] = true
		}
		uses, _ := goodIntegration(api, desc, IntegrationURI(c.Function, src.AliasStageVariableName), "")
		return func(op any) bool {
			switch op := op.(type) {
			case grantOp:
				return grants[op.Statement.SourceArn]
			case revokeOp:
				return grants[op.Statement.SourceArn]
			case attachOp:
				return op.ApiID == src.ApiId && op.RouteID == src.RouteId
			case detachOp:
				return op.ApiID == src.ApiId && op.RouteID == src.RouteId
			case deleteIntegrationOp:
				return op.ApiID == src.ApiId && op.IntegrationID == uses
			}
			return false
		}
	}
	t.Fatalf("conflict %s %s names no source of the file", conflict.Resource, conflict.ID)
	return nil
}

func TestNeedsAliases(t *testing.T) {
	fn := plan.Function{Ref: "orders", Name: "orders", ARN: "arn:aws:lambda:us-east-1:123456789012:function:orders"}
	live := fn
	live.Ref, live.Qualifier = "orders:live", "live"
	tg := definition.PushSource{Service: definition.ServiceELB, TargetGroupArn: "tg"}
	route := definition.PushSource{Service: definition.ServiceAPIGateway, ApiId: "a1", RouteId: "r"}
	staged := route
	staged.AliasStageVariableName = "lambdaAlias"
	withTargets := func(ids ...string) wiring.Push {
		return wiring.Push{TargetGroups: map[string]wiring.TargetGroup{"tg": {Targets: ids}}}
	}
	withIntegration := func(desc, uri string) wiring.Push {
		return wiring.Push{APIs: map[string]wiring.API{"a1": {Integrations: []wiring.Integration{{ID: "i", URI: uri, Description: desc}}}}}
	}
	tests := []struct {
		name    string
		fn      plan.Function
		desired []definition.PushSource
		obs     wiring.Push
		want    bool
	}{
		{"teardown", fn, nil, wiring.Push{}, true},
		{"route with a stage variable", fn, []definition.PushSource{staged}, wiring.Push{}, true},
		{"plain sources, nothing wired", fn, []definition.PushSource{tg, route}, withTargets(), false},
		{"own target", fn, []definition.PushSource{tg}, withTargets(fn.ARN), false},
		{"other function's target", fn, []definition.PushSource{tg}, withTargets(fn.ARN + "x:live"), false},
		{"another qualifier's target", fn, []definition.PushSource{tg}, withTargets(fn.ARN + ":live"), true},
		{"unqualified target, qualified file", live, []definition.PushSource{tg}, withTargets(fn.ARN), true},
		{"own integration", fn, []definition.PushSource{route}, withIntegration(wiring.IntegrationDescription(fn.ARN), fn.ARN), false},
		{"own stage-variable integration", fn, []definition.PushSource{route},
			withIntegration(wiring.IntegrationDescription(fn.ARN), fn.ARN+":${stageVariables.lambdaAlias}"), true},
		{"another qualifier's integration", fn, []definition.PushSource{route},
			withIntegration(wiring.IntegrationDescription(fn.ARN+":live"), fn.ARN+":live"), true},
		{"someone else's integration", fn, []definition.PushSource{route}, withIntegration("hand made", fn.ARN+":live"), false},
	}
	for _, tt := range tests {
		if got := needsAliases(tt.fn, tt.desired, tt.obs); got != tt.want {
			t.Errorf("%s: needsAliases = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// executeAPIParts reads only execute-api ARNs, and a stage only where the
// resource has one.
func TestExecuteAPIParts(t *testing.T) {
	for _, tt := range []struct{ arn, id, stage string }{
		{"arn:aws:execute-api:eu-west-1:111122223333:api1/prod/GET/orders", "api1", "prod"},
		{"arn:aws:execute-api:eu-west-1:111122223333:api1/*/$default", "api1", "*"},
		{"arn:aws:execute-api:eu-west-1:111122223333:api1", "api1", ""},
		{"arn:aws:execute-api:eu-west-1:111122223333:api1/", "api1", ""},
		{"arn:aws:elasticloadbalancing:eu-west-1:111122223333:targetgroup/tg/0123", "", ""},
		{"arn:aws:execute-api:eu-west-1:111122223333", "", ""},
		{"execute-api", "", ""},
	} {
		id, stage := executeAPIParts(tt.arn)
		if id != tt.id || stage != tt.stage {
			t.Errorf("executeAPIParts(%q) = %q, %q, want %q, %q", tt.arn, id, stage, tt.id, tt.stage)
		}
	}
}
