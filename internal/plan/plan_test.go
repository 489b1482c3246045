package plan

import (
	"encoding/json"
	"errors"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	goldenfile "github.com/eventwire/eventwire/internal/testkit/golden"
	"github.com/eventwire/eventwire/internal/wiring"
)

func golden(t *testing.T, name, got string) {
	t.Helper()
	goldenfile.Check(t, filepath.Join("testdata", name), got)
}

var sample = &Plan{
	Source:   "orders/_lambdaeventsourcedef.json",
	Function: Function{Ref: "orders:live", Name: "orders", Qualifier: "live", ARN: "arn:aws:lambda:us-east-1:123456789012:function:orders"},
	Actions: []Action{
		{Kind: Create, Resource: ResourceMapping, ID: "arn:aws:sqs:us-east-1:123456789012:orders"},
		{Kind: Update, Resource: ResourceMapping, ID: "arn:aws:sqs:us-east-1:123456789012:audit 1f3c",
			Changes: []Change{{Field: "BatchSize", From: "10", To: "5"}, {Field: "FilterCriteria", From: `{"Filters":[...]}`, To: "(none)"}}},
		{Kind: Replace, Resource: ResourceMapping, ID: "arn:aws:kinesis:us-east-1:123456789012:stream/clicks 9a0b", Reason: "StartingPosition is create-only",
			Changes: []Change{{Field: "StartingPosition", From: "LATEST", To: "TRIM_HORIZON"}}},
		{Kind: Adopt, Resource: ResourceMapping, ID: "arn:aws:sqs:us-east-1:123456789012:legacy 77de"},
		{Kind: Delete, Resource: ResourcePermission, ID: wiring.StatementID("elasticloadbalancing.amazonaws.com", "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/old/1", "live")},
		{Kind: LeaveAlone, Resource: ResourceMapping, ID: "arn:aws:sqs:us-east-1:123456789012:hand-made 5e5e", Reason: "not managed by eventwire"},
	},
}

// withConflicts is a plan that holds two conflicts: a target group and a
// route held by something eventwire does not own.
var withConflicts = &Plan{
	Source:   "orders/_lambdaeventsourcedef.json",
	Function: Function{Ref: "orders", Name: "orders", ARN: "arn:aws:lambda:us-east-1:123456789012:function:orders"},
	Actions: []Action{
		{Kind: Create, Resource: ResourceMapping, ID: "arn:aws:sqs:us-east-1:123456789012:orders"},
		{Kind: Conflict, Resource: ResourceTarget, ID: "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/orders/1",
			Owner:  "arn:aws:lambda:us-east-1:123456789012:function:legacy",
			Reason: "serves arn:aws:lambda:us-east-1:123456789012:function:legacy, which eventwire did not register for this function: not taken over"},
		{Kind: Conflict, Resource: ResourceRoute, ID: "a1b2c3/r1 (GET /orders)",
			Owner:  "integrations/theirs to https://example.com/orders",
			Reason: "points at integrations/theirs to https://example.com/orders, which eventwire did not create for this function: not taken over"},
	},
}

func TestPlanString_Golden(t *testing.T) {
	golden(t, "sample.txt", sample.String())
	golden(t, "empty.txt", (&Plan{Function: Function{Ref: "orders"}}).String())
	gone := &Plan{
		Source:   "orders/_lambdaeventsourcedef.json",
		Function: Function{Ref: "orders", Name: "orders", ARN: "arn:aws:lambda:us-east-1:123456789012:function:orders", Missing: true},
		Actions: []Action{
			{Kind: Delete, Resource: ResourceMapping, ID: "arn:aws:sqs:us-east-1:123456789012:orders 1f3c", Reason: "managed by eventwire, no longer declared"},
		},
	}
	golden(t, "gone.txt", gone.String())
	gone.Source = ""
	golden(t, "gone-no-source.txt", gone.String())
	golden(t, "conflict.txt", withConflicts.String())
}

func TestPlanJSON_Conflict_Golden(t *testing.T) {
	b, err := json.MarshalIndent(withConflicts, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "conflict.json", string(b)+"\n")
}

func TestConflictError(t *testing.T) {
	if err := sample.ConflictError(); err != nil {
		t.Errorf("plan without a conflict: ConflictError() = %v, want nil", err)
	}
	err := withConflicts.ConflictError()
	if !errors.Is(err, ErrConflict) {
		t.Fatalf("ConflictError() = %v, want one wrapping ErrConflict", err)
	}
	want := "orders: elb-target arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/orders/1 held by arn:aws:lambda:us-east-1:123456789012:function:legacy; " +
		"apigateway-route a1b2c3/r1 (GET /orders) held by integrations/theirs to https://example.com/orders: " + ErrConflict.Error()
	if diff := cmp.Diff(want, err.Error()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestPlanJSON_Golden(t *testing.T) {
	b, err := json.MarshalIndent(sample, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "sample.json", string(b)+"\n")
}

func TestHasChanges_LeaveAloneAndConflictAreNotChanges(t *testing.T) {
	tests := []struct {
		name  string
		kinds []Kind
		want  bool
	}{
		{"empty", nil, false},
		{"only left alone", []Kind{LeaveAlone, LeaveAlone}, false},
		{"one create", []Kind{LeaveAlone, Create}, true},
		{"adopt", []Kind{Adopt}, true},
		{"only a conflict", []Kind{Conflict, LeaveAlone}, false},
		{"a conflict and a create", []Kind{Conflict, Create}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &Plan{}
			for _, k := range tt.kinds {
				p.Actions = append(p.Actions, Action{Kind: k})
			}
			if got := p.HasChanges(); got != tt.want {
				t.Errorf("HasChanges() = %v, want %v", got, tt.want)
			}
		})
	}
}
