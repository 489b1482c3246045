package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
	apitypes "github.com/aws/aws-sdk-go-v2/service/apigatewayv2/types"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/eventwire/eventwire/internal/plan"
	"github.com/eventwire/eventwire/internal/records"
	"github.com/eventwire/eventwire/internal/testkit/awsfixture"
)

// takeoverCase is a push source that something eventwire does not own for
// the function orders already holds, set up in moto.
type takeoverCase struct {
	name string
	// setup makes the source, held by the function legacy (whose ARN it
	// gets), and returns the file's push source, the owner a conflict must
	// name, and a check that reports who holds the source now (the
	// function ARNs it invokes).
	setup func(t *testing.T, w *world, legacy string) (source, owner string, holder func() string)
}

var takeoverCases = []takeoverCase{
	{"target group serving another function", func(t *testing.T, w *world, legacy string) (string, string, func() string) {
		ctx := context.Background()
		tg := must[string](t)(w.fx.TargetGroup(ctx, "shared"))
		must[*elasticloadbalancingv2.RegisterTargetsOutput](t)(w.fx.ELB.RegisterTargets(ctx, &elasticloadbalancingv2.RegisterTargetsInput{
			TargetGroupArn: aws.String(tg), Targets: []elbtypes.TargetDescription{{Id: aws.String(legacy)}}}))
		return fmt.Sprintf(`{"Service": "elasticloadbalancing.amazonaws.com", "TargetGroupArn": %q}`, tg), legacy,
			func() string { return strings.Join(w.targets(tg), ",") }
	}},
	{"route pointing at a hand-made integration", func(t *testing.T, w *world, legacy string) (string, string, func() string) {
		ctx := context.Background()
		api := must[awsfixture.API](t)(w.fx.HTTPAPI(ctx, "shop", []string{"GET /orders"}, nil))
		route := api.Routes["GET /orders"]
		in := must[*apigatewayv2.CreateIntegrationOutput](t)(w.fx.API.CreateIntegration(ctx, &apigatewayv2.CreateIntegrationInput{
			ApiId: aws.String(api.ID), IntegrationType: apitypes.IntegrationTypeAwsProxy,
			IntegrationUri: aws.String(legacy), PayloadFormatVersion: aws.String("2.0")}))
		target := "integrations/" + aws.ToString(in.IntegrationId)
		must[*apigatewayv2.UpdateRouteOutput](t)(w.fx.API.UpdateRoute(ctx, &apigatewayv2.UpdateRouteInput{
			ApiId: aws.String(api.ID), RouteId: aws.String(route), Target: aws.String(target)}))
		return fmt.Sprintf(`{"Service": "apigateway.amazonaws.com", "ApiId": %q, "RouteId": %q}`, api.ID, route),
			target + " to " + legacy,
			func() string { return w.routeHolder(api.ID, route) }
	}},
}

// TestApply_TakeoverRefusedUnlessAllowed: a file for orders names a target
// group or route that another function holds. plan and apply show a
// conflict naming the owner and exit 1, and apply changes nothing at all
// for orders (not even its queue's mapping, nor a grant); the owner keeps
// the source. With --allow-takeover, orders takes it over.
func TestApply_TakeoverRefusedUnlessAllowed(t *testing.T) {
	for _, tc := range takeoverCases {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			ctx := context.Background()
			legacy := must[string](t)(w.fx.Function(ctx, "legacy"))
			queue := must[string](t)(w.fx.Queue(ctx, "orders"))
			source, owner, holder := tc.setup(t, w, legacy)
			held := holder()
			w.write(fmt.Sprintf(`{"FunctionName": "orders", "PushEventSources": [%s],
  "PullEventSources": {"EventSourceMapping": {"EventSourceArn": %q}}}`, source, queue))

			for _, cmd := range [][]string{{"plan", "--detailed-exitcode"}, {"apply", "--yes"}} {
				code, out, errOut := w.run(append(cmd, w.dir)...)
				if code != 1 {
					t.Errorf("%s: exit %d, want 1\n%s%s", cmd[0], code, out, errOut)
				}
				if !strings.Contains(out, "! conflict") || !strings.Contains(out, owner) {
					t.Errorf("%s: output lacks a conflict naming %s:\n%s", cmd[0], owner, out)
				}
				if !strings.Contains(errOut, "held by "+owner) {
					t.Errorf("%s: standard error does not say who holds it:\n%s", cmd[0], errOut)
				}
			}
			checkConflictJSON(t, w, owner)
			if writes := w.calls.Writes(); len(writes) != 0 {
				t.Errorf("refused apply wrote to AWS: %v", writes)
			}
			if got := holder(); got != held {
				t.Errorf("source is held by %q after the refused apply, want %q", got, held)
			}
			if st := w.statements(); len(st) != 0 {
				t.Errorf("orders was granted %v", st)
			}
			if ms := w.mappings(); len(ms) != 0 {
				t.Errorf("orders has %d mappings after the refused apply, want none", len(ms))
			}

			out := w.mustRun(0, "apply", "--yes", "--allow-takeover", w.dir)
			if !strings.Contains(out, "replace") || !strings.Contains(out, "takes over from "+owner) {
				t.Errorf("takeover plan does not name the owner %s:\n%s", owner, out)
			}
			if got := holder(); !strings.Contains(got, w.fnArn) || strings.Contains(got, legacy) {
				t.Errorf("source is held by %q after the takeover, want %s only", got, w.fnArn)
			}
			if n := len(w.statements()); n != 1 {
				t.Errorf("orders has %d grants after the takeover, want 1", n)
			}
			if ms := w.mappings(); len(ms) != 1 {
				t.Errorf("orders has %d mappings after the takeover, want 1", len(ms))
			}
			w.calls.Reset()
			w.mustRun(0, "apply", "--yes", w.dir)
			if writes := w.calls.Writes(); len(writes) != 0 {
				t.Errorf("apply after the takeover, without --allow-takeover, wrote to AWS: %v", writes)
			}
		})
	}
}

// routeHolder returns the route's target and the URI of its integration.
func (w *world) routeHolder(apiID, routeID string) string {
	w.t.Helper()
	target := aws.ToString(w.route(apiID, routeID).Target)
	id, _ := strings.CutPrefix(target, "integrations/")
	in, err := w.fx.API.GetIntegration(context.Background(), &apigatewayv2.GetIntegrationInput{ApiId: aws.String(apiID), IntegrationId: aws.String(id)})
	if err != nil {
		w.t.Fatal(err)
	}
	return target + " to " + aws.ToString(in.IntegrationUri)
}

// checkConflictJSON checks plan -o json of a plan in conflict: no changes,
// the conflict action naming owner, and the error.
func checkConflictJSON(t *testing.T, w *world, owner string) {
	t.Helper()
	_, out, _ := w.run("plan", "-o", "json", w.dir)
	var doc deployDocument
	if err := json.Unmarshal([]byte(out), &doc); err != nil || len(doc.Functions) != 1 {
		t.Fatalf("plan -o json: %v\n%s", err, out)
	}
	f := doc.Functions[0]
	if doc.Changes || f.Changes || doc.Summary.Conflicts != 1 {
		t.Errorf("plan -o json: changes %v/%v, conflicts %d; want no changes, 1 conflict", doc.Changes, f.Changes, doc.Summary.Conflicts)
	}
	if f.Error == nil || !strings.Contains(*f.Error, plan.ErrConflict.Error()) {
		t.Errorf("plan -o json: error = %v, want the conflict", f.Error)
	}
	var conflicts []actionDocument
	for _, a := range f.Actions {
		if a.Kind == string(plan.Conflict) {
			conflicts = append(conflicts, a)
		}
	}
	if len(conflicts) != 1 || conflicts[0].Owner == nil || *conflicts[0].Owner != owner {
		t.Errorf("plan -o json: conflicts = %+v, want one owned by %s", conflicts, owner)
	}
}

// TestApply_WithTable_ConflictRecorded: with --table, a function whose plan
// holds a conflict gets a deployment record with the outcome conflict,
// naming the owner, and no changes.
func TestApply_WithTable_ConflictRecorded(t *testing.T) {
	w, store, _ := ledgerWorld(t)
	ctx := context.Background()
	legacy := must[string](t)(w.fx.Function(ctx, "legacy"))
	source, owner, _ := takeoverCases[0].setup(t, w, legacy)
	w.write(fmt.Sprintf(`{"FunctionName": "orders", "PushEventSources": [%s]}`, source))
	if code, out, errOut := w.run("apply", "--yes", "--table", "deployments", w.dir); code != 1 {
		t.Fatalf("apply: exit %d, want 1\n%s%s", code, out, errOut)
	}
	hist, err := store.History(ctx, "orders", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 1 || hist[0].Outcome != records.Conflict || hist[0].Changes != 0 ||
		!strings.Contains(strings.Join(hist[0].Errors, "\n"), "held by "+owner) {
		t.Errorf("records: %+v, want one conflict naming %s", hist, owner)
	}
}
