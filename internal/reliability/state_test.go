package reliability

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/google/go-cmp/cmp"

	"github.com/eventwire/eventwire/internal/wiring"
)

// checkWired checks AWS's state, read directly from moto: each function
// has exactly one mapping from its queue with batch size batch, is the
// only target of its target group, is invoked by its route through
// exactly one integration of eventwire's, and holds exactly eventwire's
// two statements; what eventwire does not own is as it was made.
func (w *world) checkWired(t *testing.T, batch int32) {
	t.Helper()
	ctx := context.Background()
	ints, err := w.fx.API.GetIntegrations(ctx, &apigatewayv2.GetIntegrationsInput{ApiId: aws.String(w.api)})
	must(t, err)
	routes, err := w.fx.API.GetRoutes(ctx, &apigatewayv2.GetRoutesInput{ApiId: aws.String(w.api)})
	must(t, err)
	target := map[string]string{}
	for _, r := range routes.Items {
		target[aws.ToString(r.RouteId)] = aws.ToString(r.Target)
	}
	for i, fn := range w.fns {
		w.checkMappings(t, i, batch)
		th, err := w.fx.ELB.DescribeTargetHealth(ctx, &elasticloadbalancingv2.DescribeTargetHealthInput{TargetGroupArn: aws.String(w.tgs[i])})
		must(t, err)
		var ids []string
		for _, d := range th.TargetHealthDescriptions {
			ids = append(ids, aws.ToString(d.Target.Id))
		}
		if !cmp.Equal(ids, []string{fn}) {
			t.Errorf("target group of %s holds %v, want the function alone", fn, ids)
		}
		var ours []string
		for _, in := range ints.Items {
			if aws.ToString(in.Description) == wiring.IntegrationDescription(fn) && aws.ToString(in.IntegrationUri) == fn {
				ours = append(ours, "integrations/"+aws.ToString(in.IntegrationId))
			}
		}
		if len(ours) != 1 || target[w.routes[i]] != ours[0] {
			t.Errorf("%s: eventwire's integrations %v, route target %q: want one, the route's", fn, ours, target[w.routes[i]])
		}
		w.checkStatements(t, i)
	}
	if got := target[w.foreignRoute]; got != "integrations/"+w.foreignIntegration {
		t.Errorf("the hand-made route's target is %q, want integrations/%s (untouched)", got, w.foreignIntegration)
	}
}

// checkMappings checks function i's mappings.
func (w *world) checkMappings(t *testing.T, i int, batch int32) {
	t.Helper()
	out, err := w.fx.Lambda.ListEventSourceMappings(context.Background(), &lambda.ListEventSourceMappingsInput{FunctionName: aws.String(w.fns[i])})
	must(t, err)
	var ours, foreign int
	for _, m := range out.EventSourceMappings {
		switch {
		case aws.ToString(m.EventSourceArn) == w.queues[i]:
			ours++
			if aws.ToInt32(m.BatchSize) != batch {
				t.Errorf("mapping %s of %s: batch size %d, want %d", aws.ToString(m.UUID), w.fns[i], aws.ToInt32(m.BatchSize), batch)
			}
		case aws.ToString(m.UUID) == w.foreignMapping:
			foreign++
			if aws.ToInt32(m.BatchSize) != 3 {
				t.Errorf("the hand-made mapping was changed: batch size %d, want 3", aws.ToInt32(m.BatchSize))
			}
		default:
			t.Errorf("%s has an unexpected mapping %s from %s", w.fns[i], aws.ToString(m.UUID), aws.ToString(m.EventSourceArn))
		}
	}
	if ours != 1 {
		t.Errorf("%s has %d mappings from its queue, want 1", w.fns[i], ours)
	}
	if i == 0 && foreign != 1 {
		t.Errorf("the hand-made mapping %s is gone", w.foreignMapping)
	}
}

// checkStatements checks function i's policy.
func (w *world) checkStatements(t *testing.T, i int) {
	t.Helper()
	out, err := w.fx.Lambda.GetPolicy(context.Background(), &lambda.GetPolicyInput{FunctionName: aws.String(w.fns[i])})
	must(t, err)
	var doc struct{ Statement []struct{ Sid string } }
	must(t, json.Unmarshal([]byte(aws.ToString(out.Policy)), &doc))
	// Distinct ids: moto keeps a second statement with an id it already
	// has (where AWS refuses it), as a retried AddPermission makes.
	ours := map[string]bool{}
	handMade := false
	for _, s := range doc.Statement {
		if strings.HasPrefix(s.Sid, wiring.StatementPrefix) {
			ours[s.Sid] = true
		}
		handMade = handMade || s.Sid == "hand-made"
	}
	if len(ours) != 2 {
		t.Errorf("%s's policy holds eventwire's statements %v, want 2", w.fns[i], ours)
	}
	if i == 0 && !handMade {
		t.Errorf("the hand-made statement of %s is gone", w.fns[i])
	}
}

// mappingOf returns the UUID of function i's mapping from its queue.
func (w *world) mappingOf(t *testing.T, i int) string {
	t.Helper()
	out, err := w.fx.Lambda.ListEventSourceMappings(context.Background(), &lambda.ListEventSourceMappingsInput{FunctionName: aws.String(w.fns[i])})
	must(t, err)
	for _, m := range out.EventSourceMappings {
		if aws.ToString(m.EventSourceArn) == w.queues[i] {
			return aws.ToString(m.UUID)
		}
	}
	t.Fatalf("%s has no mapping from its queue", w.fns[i])
	return ""
}

// checkBatch checks the batch size of each function's mapping.
func (w *world) checkBatch(t *testing.T, want map[int]int32) {
	t.Helper()
	for i, batch := range want {
		w.checkMappings(t, i, batch)
	}
}
