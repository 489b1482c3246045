package cli

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/google/go-cmp/cmp"

	"github.com/eventwire/eventwire/internal/records"
	"github.com/eventwire/eventwire/internal/testkit/golden"
	"github.com/eventwire/eventwire/internal/testkit/mototest"
)

// driftPlan is a drifted function's plan, as the sweep records it (text
// and JSON of plan.Plan).
const (
	driftPlanText = "function orders (s3://defs/orders/_lambdaeventsourcedef.json?versionId=v1)\n" +
		"  ~ update      event-source-mapping arn:aws:sqs:us-east-1:123456789012:orders 6f2d\n" +
		"      BatchSize: 5 → 10\n" +
		"  0 to create, 1 to update, 0 to replace, 0 to delete, 0 to adopt, 0 left alone\n"
	driftPlanJSON = `{"function":{"ref":"orders","name":"orders","arn":"arn:aws:lambda:us-east-1:123456789012:function:orders"},` +
		`"actions":[{"action":"update","resource":"event-source-mapping","id":"arn:aws:sqs:us-east-1:123456789012:orders 6f2d",` +
		`"changes":[{"field":"BatchSize","from":"5","to":"10"}]}]}`
	orphanPlanText = "function billing (gone: tearing down what is left)\n" +
		"  - delete      event-source-mapping arn:aws:sqs:us-east-1:123456789012:billing 9a1b (managed by eventwire, no longer declared)\n"
	orphanPlanJSON = `{"function":{"ref":"billing","name":"billing","arn":""},"actions":[{"action":"delete","resource":"event-source-mapping",` +
		`"id":"arn:aws:sqs:us-east-1:123456789012:billing 9a1b","reason":"managed by eventwire, no longer declared"}]}`
)

var sweepStart = time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC)

// driftWorld empties moto, creates the deployer's table and writes a
// sweep and the latest results through the records package, as the
// deployer's sweep does: each result with its record in the function's
// history. results nil: no sweep at all.
func driftWorld(t *testing.T, results []records.DriftResult) aws.Config {
	t.Helper()
	srv := mototest.Fresh(t)
	cfg := srv.Config(t)
	ctx := context.Background()
	db := dynamodb.NewFromConfig(cfg)
	if err := records.CreateTable(ctx, db, "deployments"); err != nil {
		t.Fatal(err)
	}
	if results == nil {
		return cfg
	}
	store := records.New(db, "deployments", records.Options{})
	sw := records.Sweep{ID: "sweep-2", Started: sweepStart, Functions: 4, Declared: 3, Orphans: 1}
	if err := store.PutSweep(ctx, sw); err != nil {
		t.Fatal(err)
	}
	for _, r := range results {
		mode := records.ModeCheck
		switch r.Outcome {
		case records.Healed:
			mode = records.ModeApply
		case records.Pruned:
			mode = records.ModeDestroy
		}
		rec, err := store.PutRecord(ctx, records.Record{
			Function: records.FunctionKey(r.Function), Start: r.CheckedAt, Duration: 40 * time.Millisecond,
			Trigger: records.TriggerSweep, Source: r.Source, FunctionRef: r.Function, Mode: mode, Outcome: r.Outcome,
			Changes: r.Changes, Errors: r.Errors, Plan: r.Plan, PlanJSON: r.PlanJSON, SweepID: r.SweepID,
		})
		if err != nil {
			t.Fatal(err)
		}
		r.RecordID = rec.ID
		if err := store.PutDriftResult(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	return cfg
}

// result is a result of the latest sweep (sweep-2) unless edited.
func result(fn string, outcome records.Outcome, minutes int, edit func(*records.DriftResult)) records.DriftResult {
	r := records.DriftResult{
		Function: fn, SweepID: "sweep-2", SweepStarted: sweepStart, CheckedAt: sweepStart.Add(time.Duration(minutes) * time.Minute),
		Kind: records.KindDeclared, Outcome: outcome, Source: "s3://defs/" + fn + "/_lambdaeventsourcedef.json?versionId=v1",
	}
	if edit != nil {
		edit(&r)
	}
	return r
}

func drifted(r *records.DriftResult) { r.Plan, r.PlanJSON, r.Changes = driftPlanText, driftPlanJSON, 1 }

func orphan(r *records.DriftResult) {
	r.Kind, r.Source, r.Plan, r.PlanJSON, r.Changes = records.KindOrphan, "", orphanPlanText, orphanPlanJSON, 1
}

func TestDrift(t *testing.T) {
	inSync := []records.DriftResult{
		result("inventory", records.InSync, 1, nil),
		result("orders", records.Healed, 2, drifted),
		result("billing", records.Pruned, 3, orphan),
		// Not checked by the latest sweep yet: its earlier result.
		result("refunds", records.InSync, -1440, func(r *records.DriftResult) { r.SweepID = "sweep-1" }),
	}
	drift := []records.DriftResult{
		result("inventory", records.InSync, 1, nil),
		result("orders", records.Drifted, 2, drifted),
		result("billing", records.Orphaned, 3, orphan),
	}
	failed := []records.DriftResult{
		result("orders", records.Drifted, 2, drifted),
		result("payments", records.Failed, 4, func(r *records.DriftResult) {
			r.Errors = []string{"get function payments: operation error Lambda: GetFunction, StatusCode: 429, TooManyRequestsException"}
		}),
	}
	for _, c := range []struct {
		name     string
		results  []records.DriftResult
		args     []string
		wantCode int
	}{
		{"in-sync", inSync, nil, ExitOK},
		{"in-sync-detailed", inSync, []string{"--detailed-exitcode"}, ExitOK},
		{"drift", drift, nil, ExitOK},
		{"drift-detailed", drift, []string{"--detailed-exitcode"}, ExitChanges},
		{"failed-detailed", failed, []string{"--detailed-exitcode"}, ExitError},
		{"no-sweep", nil, nil, ExitOK},
		{"no-sweep-detailed", nil, []string{"--detailed-exitcode"}, ExitError},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := driftWorld(t, c.results)
			t.Setenv(TableEnv, "deployments")
			args := append([]string{"drift"}, c.args...)
			code, out, errOut := runWith(cfg, args...)
			if code != c.wantCode {
				t.Errorf("exit %d, want %d (stderr %q)", code, c.wantCode, errOut)
			}
			golden.Check(t, "testdata/drift/"+c.name+".golden", "$ eventwire "+strings.Join(args, " ")+"\n--- stdout\n"+out+"--- stderr\n"+errOut)
		})
	}
}

func TestDrift_JSON(t *testing.T) {
	cfg := driftWorld(t, []records.DriftResult{
		result("orders", records.Drifted, 2, drifted),
		result("billing", records.Orphaned, 3, orphan),
		result("refunds", records.InSync, -1440, func(r *records.DriftResult) { r.SweepID = "sweep-1" }),
	})
	code, out, errOut := runWith(cfg, "drift", "--table", "deployments", "-o", "json", "--detailed-exitcode")
	if code != ExitChanges {
		t.Fatalf("exit %d, want 2: %s", code, errOut)
	}
	var doc driftDocument
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out)
	}
	for i := range doc.Functions {
		doc.Functions[i].RecordID = nil // ids are new each run
	}
	want := driftDocument{
		FormatVersion: FormatVersion, Command: "drift", Drift: true,
		Sweep: &sweepDocument{ID: "sweep-2", Started: sweepStart, Functions: 4, Declared: 3, Orphans: 1, Checked: 2},
		Functions: []driftFunctionEntry{
			{Function: "billing", Kind: "orphan", Status: "orphaned", Current: true, SweepID: "sweep-2",
				CheckedAt: sweepStart.Add(3 * time.Minute), Changes: 1, Errors: []string{},
				Actions: []actionDocument{{Kind: "delete", Resource: "event-source-mapping", ID: "arn:aws:sqs:us-east-1:123456789012:billing 9a1b",
					Reason: ptr("managed by eventwire, no longer declared"), Changes: []changeDocument{}}}},
			{Function: "orders", Kind: "declared", Status: "drifted", Current: true, SweepID: "sweep-2",
				CheckedAt: sweepStart.Add(2 * time.Minute), Source: ptr("s3://defs/orders/_lambdaeventsourcedef.json?versionId=v1"),
				Changes: 1, Errors: []string{},
				Actions: []actionDocument{{Kind: "update", Resource: "event-source-mapping", ID: "arn:aws:sqs:us-east-1:123456789012:orders 6f2d",
					Changes: []changeDocument{{Field: "BatchSize", Before: "5", After: "10"}}}}},
			{Function: "refunds", Kind: "declared", Status: "in-sync", Current: false, SweepID: "sweep-1",
				CheckedAt: sweepStart.Add(-24 * time.Hour), Source: ptr("s3://defs/refunds/_lambdaeventsourcedef.json?versionId=v1"),
				Errors: []string{}, Actions: []actionDocument{}},
		},
	}
	if d := cmp.Diff(want, doc); d != "" {
		t.Errorf("drift -o json (-want +got):\n%s", d)
	}
}

// TestHistory_Sweep: a function's drift checks show in its history beside
// its deployments, with their trigger, mode and outcome.
func TestHistory_Sweep(t *testing.T) {
	cfg := driftWorld(t, []records.DriftResult{
		result("orders", records.Drifted, 2, drifted),
		result("orders:live", records.Healed, 3, drifted),
		result("billing", records.Pruned, 4, orphan),
	})
	ctx := context.Background()
	store := records.New(dynamodb.NewFromConfig(cfg), "deployments", records.Options{})
	if _, err := store.PutRecord(ctx, records.Record{
		Function: "orders", Start: sweepStart.Add(-time.Hour), Duration: time.Second, Trigger: records.TriggerS3,
		Source: "s3://defs/orders/_lambdaeventsourcedef.json?versionId=v1", FunctionRef: "orders",
		Mode: records.ModeApply, Outcome: records.Succeeded, Changes: 1,
	}); err != nil {
		t.Fatal(err)
	}
	for _, fn := range []string{"orders", "billing"} {
		code, out, errOut := runWith(cfg, "history", "--table", "deployments", fn)
		if code != ExitOK {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		golden.Check(t, "testdata/drift/history-"+fn+".golden", out)
	}
}
