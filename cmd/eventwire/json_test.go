package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/google/go-cmp/cmp"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/eventwire/eventwire/internal/records"
	"github.com/eventwire/eventwire/internal/testkit/mototest"
)

// outputSchema compiles schema/output.schema.json, the documented shape of
// every -o json document.
func outputSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "..", "schema", "output.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatalf("output.schema.json: %v", err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	if err := c.AddResource("output.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("output.schema.json")
	if err != nil {
		t.Fatalf("compile output.schema.json: %v", err)
	}
	return s
}

// checkDocument validates out against the schema and decodes it.
func checkDocument(t *testing.T, s *jsonschema.Schema, out string) map[string]any {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(out))
	if err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if err := s.Validate(doc); err != nil {
		t.Fatalf("output does not match schema/output.schema.json: %v\n%s", err, out)
	}
	var m map[string]any
	d := json.NewDecoder(bytes.NewReader([]byte(out)))
	d.UseNumber()
	if err := d.Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestJSONOutput_MatchesSchema runs every command that prints -o json
// through the binary, in an account that takes each down a different path
// (changes, no changes, a function that does not exist, invalid files),
// and validates each document against the schema.
func TestJSONOutput_MatchesSchema(t *testing.T) {
	s := outputSchema(t)
	a := newAccount(t)
	// With a table, apply and destroy write the records history reads.
	if err := records.CreateTable(context.Background(), dynamodb.NewFromConfig(a.srv.Config(t)), "deployments"); err != nil {
		t.Fatal(err)
	}
	a.env = append(a.env, "EVENTWIRE_TABLE=deployments")
	missing := filepath.Join(t.TempDir(), "ghost", "_lambdaeventsourcedef.json")
	os.MkdirAll(filepath.Dir(missing), 0o755)
	os.WriteFile(missing, []byte(`{"FunctionName": "ghost", "PullEventSources": {"EventSourceMapping": {"EventSourceArn": "`+a.queue+`"}}}`), 0o644)
	steps := []struct {
		name string
		args []string
		code int
	}{
		{"validate good", []string{"validate", "-o", "json", a.dir}, 0},
		{"validate bad", []string{"validate", "-o", "json", filepath.Join("..", "..", "internal", "cli", "testdata", "validate", "bad")}, 1},
		{"plan with changes", []string{"plan", "-o", "json", a.dir}, 0},
		{"plan of a missing function", []string{"plan", "-o", "json", missing}, 1},
		{"plan of a missing function, --debug", []string{"plan", "-o", "json", "--debug", missing}, 1},
		{"apply of a missing function", []string{"apply", "--yes", "-o", "json", missing}, 1},
		{"apply", []string{"apply", "--yes", "-o", "json", a.dir}, 0},
		{"apply again", []string{"apply", "--yes", "-o", "json", a.dir}, 0},
		{"destroy", []string{"destroy", "--yes", "-o", "json", a.dir}, 0},
		{"history", []string{"history", "-o", "json", "orders"}, 0},
		{"history of a missing function", []string{"history", "-o", "json", "ghost"}, 0},
		{"history of nothing", []string{"history", "-o", "json", "payments"}, 0},
	}
	docs := map[string]map[string]any{}
	for _, st := range steps {
		r := run(t, nil, a.env, st.args...)
		if r.code != st.code {
			t.Fatalf("%s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", st.name, r.code, st.code, r.stdout, r.stderr)
		}
		docs[st.name] = checkDocument(t, s, r.stdout)
	}
	// Values are typed: the new BatchSize is the number 5, the old one null.
	change := docs["plan with changes"]["functions"].([]any)[0].(map[string]any)["actions"].([]any)[0].(map[string]any)["changes"].([]any)[0]
	if diff := cmp.Diff(map[string]any{"field": "BatchSize", "before": nil, "after": json.Number("5")}, change); diff != "" {
		t.Errorf("plan's change (-want +got):\n%s", diff)
	}
	outcomes := func(name string) []any {
		var out []any
		for _, f := range docs[name]["functions"].([]any) {
			out = append(out, f.(map[string]any)["outcome"])
		}
		return out
	}
	for name, want := range map[string][]any{
		"plan with changes": {nil}, "apply": {"applied"}, "apply again": {"no-changes"}, "destroy": {"applied"},
		"plan of a missing function": {nil},
	} {
		if diff := cmp.Diff(want, outcomes(name)); diff != "" {
			t.Errorf("%s: outcomes (-want +got):\n%s", name, diff)
		}
	}
	// error is the line the text output prints, at the field; the SDK's
	// chain is in debug_error, with --debug only.
	wantErr := missing + ":1:18: FunctionName: function ghost does not exist (ResourceNotFoundException)"
	for name, wantChain := range map[string]bool{"plan of a missing function": false, "plan of a missing function, --debug": true} {
		ghost := docs[name]["functions"].([]any)[0].(map[string]any)
		chain, _ := ghost["debug_error"].(string)
		if ghost["function"] != nil || ghost["error"] != wantErr || strings.Contains(chain, "operation error") != wantChain {
			t.Errorf("%s: function %v, error %v, debug_error %v; want null, %q, the SDK chain %v", name, ghost["function"], ghost["error"], ghost["debug_error"], wantErr, wantChain)
		}
	}
	checkHistory(t, docs)
}

// checkHistory checks what history -o json says of the runs above.
func checkHistory(t *testing.T, docs map[string]map[string]any) {
	t.Helper()
	type run struct {
		Mode, Outcome string
		Changes       json.Number
		Errors        int
	}
	var got []run
	for _, r := range docs["history"]["records"].([]any) {
		r := r.(map[string]any)
		got = append(got, run{r["mode"].(string), r["outcome"].(string), r["changes"].(json.Number), len(r["errors"].([]any))})
	}
	want := []run{{"destroy", "succeeded", "1", 0}, {"apply", "succeeded", "0", 0}, {"apply", "succeeded", "1", 0}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("history of orders (-want +got):\n%s", diff)
	}
	// The first apply's plan, values typed as in plan's document.
	first := docs["history"]["records"].([]any)[2].(map[string]any)["plan"].(map[string]any)
	change := first["actions"].([]any)[0].(map[string]any)["changes"].([]any)[0]
	if diff := cmp.Diff(map[string]any{"field": "BatchSize", "before": nil, "after": json.Number("5")}, change); diff != "" {
		t.Errorf("history: the first apply's change (-want +got):\n%s", diff)
	}
	ghost := docs["history of a missing function"]["records"].([]any)
	if len(ghost) != 1 || ghost[0].(map[string]any)["outcome"] != "failed" || len(ghost[0].(map[string]any)["errors"].([]any)) != 1 {
		t.Errorf("history of a missing function: %v; want one failed run with its error", ghost)
	}
	if n := len(docs["history of nothing"]["records"].([]any)); n != 0 {
		t.Errorf("history of a function never deployed: %d records, want none", n)
	}
}

// TestDriftJSON_MatchesSchema: `drift -o json` before any sweep (sweep
// null) and after one with each kind of result, through the binary, held
// to the schema.
func TestDriftJSON_MatchesSchema(t *testing.T) {
	s := outputSchema(t)
	srv := mototest.Fresh(t)
	ctx := context.Background()
	db := dynamodb.NewFromConfig(srv.Config(t))
	if err := records.CreateTable(ctx, db, "deployments"); err != nil {
		t.Fatal(err)
	}
	env := append(srv.Env(), "EVENTWIRE_TABLE=deployments")
	r := run(t, nil, env, "drift", "-o", "json")
	if doc := checkDocument(t, s, r.stdout); r.code != 0 || doc["sweep"] != nil {
		t.Errorf("before any sweep: exit %d, sweep %v; want 0 and null", r.code, doc["sweep"])
	}
	store := records.New(db, "deployments", records.Options{})
	started := time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC)
	if err := store.PutSweep(ctx, records.Sweep{ID: "s1", Started: started, Functions: 3, Declared: 2, Orphans: 1}); err != nil {
		t.Fatal(err)
	}
	for _, d := range []records.DriftResult{
		{Function: "orders", Kind: records.KindDeclared, Outcome: records.Drifted, Changes: 1, Source: "s3://defs/orders/_lambdaeventsourcedef.json?versionId=v1",
			PlanJSON: `{"function":{"ref":"orders","name":"orders","arn":""},"actions":[{"action":"update","resource":"event-source-mapping","id":"q 1","changes":[{"field":"BatchSize","from":"5","to":"10"}]}]}`},
		{Function: "billing", Kind: records.KindOrphan, Outcome: records.Orphaned, Changes: 1,
			PlanJSON: `{"function":{"ref":"billing","name":"billing","arn":""},"actions":[{"action":"delete","resource":"event-source-mapping","id":"q 2","reason":"managed by eventwire, no longer declared"}]}`},
		{Function: "payments", Kind: records.KindDeclared, Outcome: records.Failed, Errors: []string{"throttled"}},
	} {
		d.SweepID, d.SweepStarted, d.CheckedAt, d.RecordID = "s1", started, started, "r-"+d.Function
		if err := store.PutDriftResult(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	r = run(t, nil, env, "drift", "-o", "json", "--detailed-exitcode")
	doc := checkDocument(t, s, r.stdout)
	if r.code != 1 || doc["drift"] != true || len(doc["functions"].([]any)) != 3 {
		t.Errorf("after a sweep: exit %d, drift %v, %d functions; want 1 (a failed check), true, 3\n%s", r.code, doc["drift"], len(doc["functions"].([]any)), r.stdout)
	}
}
