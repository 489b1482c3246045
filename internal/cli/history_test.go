package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/google/go-cmp/cmp"

	"github.com/eventwire/eventwire/internal/records"
	"github.com/eventwire/eventwire/internal/testkit/mototest"
)

// historyWorld empties moto, creates the deployer's table and writes three
// records of orders (and one of another function) into it.
func historyWorld(t *testing.T) aws.Config {
	t.Helper()
	srv := mototest.Fresh(t)
	cfg := srv.Config(t)
	ctx := context.Background()
	db := dynamodb.NewFromConfig(cfg)
	if err := records.CreateTable(ctx, db, "deployments"); err != nil {
		t.Fatal(err)
	}
	store := records.New(db, "deployments", records.Options{})
	start := time.Date(2026, 11, 23, 1, 15, 42, 0, time.UTC)
	for _, r := range []records.Record{
		{
			Function: "orders", ID: "a1", Start: start, Duration: 1234 * time.Millisecond,
			Trigger: records.TriggerS3, Source: "s3://defs/orders/_lambdaeventsourcedef.json?versionId=v1",
			FunctionRef: "orders", Mode: records.ModeApply, Outcome: records.Succeeded, Changes: 2,
			Plan: "function orders (orders/_lambdaeventsourcedef.json)\n  + create      event-source-mapping arn:aws:sqs:us-east-1:123456789012:orders\n",
			PlanJSON: `{"function":{"ref":"orders","name":"orders","arn":"arn:aws:lambda:us-east-1:123456789012:function:orders"},` +
				`"actions":[{"action":"update","resource":"event-source-mapping","id":"arn:aws:sqs:us-east-1:123456789012:orders 1f3c",` +
				`"changes":[{"field":"BatchSize","from":"(none)","to":"5"}]}]}`,
		},
		{
			Function: "orders", ID: "a2", Start: start.Add(time.Hour), Duration: 80 * time.Millisecond,
			Trigger: records.TriggerCodeCommit, Source: "codecommit://definitions/orders/_lambdaeventsourcedef.json@2222",
			FunctionRef: "orders", Mode: records.ModeApply, Outcome: records.Invalid,
			Errors: []string{`orders/_lambdaeventsourcedef.json:3:5: unknown field "BachSize" (did you mean "BatchSize"?)`},
		},
		{
			Function: "orders", ID: "a3", Start: start.Add(2 * time.Hour), Duration: 2500 * time.Millisecond,
			Trigger: records.TriggerCodePipeline, Source: "codepipeline://job-1/SourceArtifact/orders/_lambdaeventsourcedef.json",
			FunctionRef: "orders:live", Mode: records.ModePlan, Outcome: records.Planned,
			Plan: "function orders:live\n  no changes\n", PlanJSON: `{"function":{"ref":"orders:live"`,
		},
		{Function: "inventory", ID: "b1", Start: start, Trigger: records.TriggerS3, Mode: records.ModeApply, Outcome: records.Failed},
		{
			ID: "c1", Start: start, Trigger: records.TriggerS3, Source: "s3://defs/x/_lambdaeventsourcedef.json?versionId=v9",
			Mode: records.ModeApply, Outcome: records.Invalid, Errors: []string{"x/_lambdaeventsourcedef.json:1:1: invalid JSON"},
		},
	} {
		if _, err := store.PutRecord(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	return cfg
}

func runWith(cfg aws.Config, args ...string) (int, string, string) {
	var stdout, stderr bytes.Buffer
	env := Env{
		Stdin: strings.NewReader(""), Stdout: &stdout, Stderr: &stderr,
		AWSConfig: func(context.Context) (aws.Config, error) { return cfg, nil },
	}
	code := Run(context.Background(), args, env)
	return code, stdout.String(), stderr.String()
}

func TestHistory(t *testing.T) {
	cfg := historyWorld(t)
	tests := []struct {
		name     string
		env      string // EVENTWIRE_TABLE
		args     []string
		wantCode int
		wantOut  string
		wantErr  string
	}{
		{
			name: "newest first", args: []string{"history", "--table", "deployments", "orders"},
			wantOut: `STARTED               DURATION  TRIGGER       MODE   OUTCOME    CHANGES  SOURCE
2026-11-23T03:15:42Z  2.5s      codepipeline  plan   planned    0        codepipeline://job-1/SourceArtifact/orders/_lambdaeventsourcedef.json
2026-11-23T02:15:42Z  80ms      codecommit    apply  invalid    0        codecommit://definitions/orders/_lambdaeventsourcedef.json@2222
  error: orders/_lambdaeventsourcedef.json:3:5: unknown field "BachSize" (did you mean "BatchSize"?)
2026-11-23T01:15:42Z  1.234s    s3            apply  succeeded  2        s3://defs/orders/_lambdaeventsourcedef.json?versionId=v1
`,
		},
		{
			name: "table from the environment, ARN, limit, plans", env: "deployments",
			args: []string{"history", "-n", "2", "-v", "arn:aws:lambda:us-east-1:123456789012:function:orders:live"},
			wantOut: `STARTED               DURATION  TRIGGER       MODE   OUTCOME  CHANGES  SOURCE
2026-11-23T03:15:42Z  2.5s      codepipeline  plan   planned  0        codepipeline://job-1/SourceArtifact/orders/_lambdaeventsourcedef.json
  function orders:live
    no changes
2026-11-23T02:15:42Z  80ms      codecommit    apply  invalid  0        codecommit://definitions/orders/_lambdaeventsourcedef.json@2222
  error: orders/_lambdaeventsourcedef.json:3:5: unknown field "BachSize" (did you mean "BatchSize"?)
`,
		},
		{
			name: "no records", args: []string{"history", "--table", "deployments", "payments"},
			wantOut: "no deployments of payments recorded in table deployments\n",
		},
		{
			name: "no table", args: []string{"history", "orders"}, wantCode: ExitError,
			wantErr: "eventwire history: no table: give --table or set EVENTWIRE_TABLE\nRun 'eventwire help history' for usage.\n",
		},
		{
			name: "no function", args: []string{"history", "--table", "deployments"}, wantCode: ExitError,
			wantErr: "eventwire history: want exactly one FUNCTION\nRun 'eventwire help history' for usage.\n",
		},
		{
			name: "missing table", args: []string{"history", "--table", "nope", "orders"}, wantCode: ExitError,
			wantErr: "ResourceNotFoundException",
		},
		{
			name: "missing table, said plainly", args: []string{"history", "--table", "nope", "orders"}, wantCode: ExitError,
			wantErr: "eventwire history: no table nope in region us-east-1 (give the stack's TableName output with --table or $EVENTWIRE_TABLE): ",
		},
		{
			name: "empty function", args: []string{"history", "--table", "deployments", ""}, wantCode: ExitError,
			wantErr: "eventwire history: FUNCTION is empty (runs of files that named no function are under \"-\")\n",
		},
		{
			name: "not a function name", args: []string{"history", "--table", "deployments", "orders!"}, wantCode: ExitError,
			wantErr: "eventwire history: FUNCTION \"orders!\" is not a function name or ARN (runs of files that named none, or an invalid one, are under \"-\")\n",
		},
		{
			name: "negative limit", args: []string{"history", "--table", "deployments", "-n", "-1", "orders"}, wantCode: ExitError,
			wantErr: "eventwire history: -n -1: want 0 (all) or more\n",
		},
		{
			name: "runs that named no function", args: []string{"history", "--table", "deployments", "-"},
			wantOut: `STARTED               DURATION  TRIGGER  MODE   OUTCOME  CHANGES  SOURCE
2026-11-23T01:15:42Z  0s        s3       apply  invalid  0        s3://defs/x/_lambdaeventsourcedef.json?versionId=v9
  error: x/_lambdaeventsourcedef.json:1:1: invalid JSON
`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(TableEnv, tt.env)
			code, out, errOut := runWith(cfg, tt.args...)
			if code != tt.wantCode {
				t.Errorf("exit %d, want %d (stderr %q)", code, tt.wantCode, errOut)
			}
			if diff := cmp.Diff(tt.wantOut, out); diff != "" {
				t.Errorf("stdout (-want +got):\n%s", diff)
			}
			if tt.wantCode == ExitOK && errOut != "" {
				t.Errorf("stderr %q", errOut)
			}
			if !strings.Contains(errOut, tt.wantErr) {
				t.Errorf("stderr %q, want it to contain %q", errOut, tt.wantErr)
			}
		})
	}
}

// TestHistory_JSON: -o json is one versioned document, newest first,
// absent values null, a recorded plan in the plan document's shape (a
// record from before values were kept shows the display form, "(none)"
// as null), and a plan cut at the size limit null.
func TestHistory_JSON(t *testing.T) {
	cfg := historyWorld(t)
	code, out, errOut := runWith(cfg, "history", "--table", "deployments", "-o", "json", "-n", "3", "orders")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var got historyDocument
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out)
	}
	if got.FormatVersion != FormatVersion || got.Command != "history" || got.Function != "orders" || got.Table != "deployments" {
		t.Errorf("document = %s %s %s %s, want %s history orders deployments", got.FormatVersion, got.Command, got.Function, got.Table, FormatVersion)
	}
	var summary []string
	for _, r := range got.Records {
		summary = append(summary, r.ID+" "+r.Outcome+" "+r.Start.Format(time.RFC3339))
	}
	want := []string{"a3 planned 2026-11-23T03:15:42Z", "a2 invalid 2026-11-23T02:15:42Z", "a1 succeeded 2026-11-23T01:15:42Z"}
	if diff := cmp.Diff(want, summary); diff != "" {
		t.Errorf("records (-want +got):\n%s", diff)
	}
	a1 := got.Records[2]
	wantPlan := &historyPlan{
		Function: &functionRef{Ref: "orders", Name: "orders", ARN: "arn:aws:lambda:us-east-1:123456789012:function:orders", QualifiedARN: "arn:aws:lambda:us-east-1:123456789012:function:orders"},
		Changes:  true,
		Actions: []actionDocument{{Kind: "update", Resource: "event-source-mapping", ID: "arn:aws:sqs:us-east-1:123456789012:orders 1f3c",
			Changes: []changeDocument{{Field: "BatchSize", Before: nil, After: "5"}}}},
	}
	if diff := cmp.Diff(wantPlan, a1.Plan); diff != "" || a1.DurationMS != 1234 || a1.Caller != nil || len(a1.Errors) != 0 {
		t.Errorf("record a1: duration %d, caller %v, errors %v, plan (-want +got):\n%s", a1.DurationMS, a1.Caller, a1.Errors, diff)
	}
	if a3 := got.Records[0]; a3.Plan != nil || a3.PlanText == nil || a3.Errors == nil {
		t.Errorf("record a3: plan %v, plan_text %v, errors %v; want null, its text, []", a3.Plan, a3.PlanText, a3.Errors)
	}
}
