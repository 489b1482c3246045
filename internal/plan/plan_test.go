package plan

import (
	"encoding/json"
	"path/filepath"
	"testing"

	goldenfile "github.com/eventwire/eventwire/internal/golden"
	"github.com/eventwire/eventwire/internal/owner"
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
		{Kind: Delete, Resource: ResourcePermission, ID: owner.StatementID("elasticloadbalancing.amazonaws.com", "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/old/1", "live")},
		{Kind: LeaveAlone, Resource: ResourceMapping, ID: "arn:aws:sqs:us-east-1:123456789012:hand-made 5e5e", Reason: "not managed by eventwire"},
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
}

func TestPlanJSON_Golden(t *testing.T) {
	b, err := json.MarshalIndent(sample, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "sample.json", string(b)+"\n")
}

func TestHasChanges_LeaveAloneIsNotAChange(t *testing.T) {
	tests := []struct {
		name  string
		kinds []Kind
		want  bool
	}{
		{"empty", nil, false},
		{"only left alone", []Kind{LeaveAlone, LeaveAlone}, false},
		{"one create", []Kind{LeaveAlone, Create}, true},
		{"adopt", []Kind{Adopt}, true},
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
