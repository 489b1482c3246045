package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/google/go-cmp/cmp"

	"github.com/eventwire/eventwire/internal/records"
	"github.com/eventwire/eventwire/internal/testkit/mototest"
	"github.com/eventwire/eventwire/internal/wiring"
)

// ledgerWorld is a world with the deployer's table and a file wiring
// orders to a queue.
func ledgerWorld(t *testing.T) (*world, *records.Store, string) {
	t.Helper()
	w := newWorld(t)
	ctx := context.Background()
	db := dynamodb.NewFromConfig(w.cfg)
	if err := records.CreateTable(ctx, db, "deployments"); err != nil {
		t.Fatal(err)
	}
	queue := must[string](t)(w.fx.Queue(ctx, "orders"))
	path := w.write(fmt.Sprintf(`{"FunctionName": "orders", "PullEventSources": {"EventSourceMapping": {"EventSourceArn": %q}}}`, queue))
	return w, records.New(db, "deployments", records.Options{}), path
}

// TestApply_WithTable_RecordsTheRunInHistory: apply and destroy with
// --table (or $EVENTWIRE_TABLE) write deployment records that `history`
// lists beside the deployer's, with trigger cli, the file, the plan, the
// outcome and the caller; the lease is released.
func TestApply_WithTable_RecordsTheRunInHistory(t *testing.T) {
	w, store, path := ledgerWorld(t)
	_, _, errOut := w.run("apply", "--yes", "--table", "deployments", w.dir)
	if strings.Contains(errOut, "no lease") {
		t.Errorf("apply with a table says it takes no lock:\n%s", errOut)
	}
	if len(w.mappings()) != 1 {
		t.Fatalf("apply with a table did not create the mapping")
	}
	t.Setenv(TableEnv, "deployments")
	w.mustRun(0, "destroy", "--yes", w.dir)

	out := w.mustRun(0, "history", "-o", "json", "orders")
	var got historyDocument
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("history -o json: %v\n%s", err, out)
	}
	type row struct{ Trigger, Mode, Outcome, Source, Caller string }
	var rows []row
	for _, r := range got.Records {
		rows = append(rows, row{r.Trigger, r.Mode, r.Outcome, deref(r.Source), deref(r.Caller)})
		if r.Changes != 1 || r.Plan == nil || len(r.Plan.Actions) != 1 || r.Plan.Actions[0].Resource != "event-source-mapping" {
			t.Errorf("record %s: %d changes, plan %+v; want the plan's one mapping change", r.Mode, r.Changes, r.Plan)
		}
	}
	caller := "arn:aws:sts::" + mototest.Account + ":user/moto"
	want := []row{
		{"cli", "destroy", "succeeded", path, caller},
		{"cli", "apply", "succeeded", path, caller},
	}
	if diff := cmp.Diff(want, rows); diff != "" {
		t.Errorf("history (-want +got):\n%s", diff)
	}
	text := w.mustRun(0, "history", "orders")
	if !strings.Contains(text, "by: "+caller) {
		t.Errorf("history does not say who ran it:\n%s", text)
	}
	// The lease was released: someone else takes it at once.
	if _, err := store.AcquireLease(context.Background(), "orders", "someone-else", records.LeaseOptions{}); err != nil {
		t.Errorf("lease not released after apply: %v", err)
	}
}

// TestApply_LeaseHeld_WaitsThenFailsNamingTheHolder: while the deployer
// (or another CLI run) holds the function's lease, apply waits up to
// --lease-wait, then fails that function, naming the holder, changes
// nothing, and records the failure.
func TestApply_LeaseHeld_WaitsThenFailsNamingTheHolder(t *testing.T) {
	w, store, _ := ledgerWorld(t)
	ctx := context.Background()
	if _, err := store.AcquireLease(ctx, "orders", "deployer-request-42", records.LeaseOptions{Duration: time.Hour}); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := w.run("apply", "--yes", "--table", "deployments", "--lease-wait", "300ms", w.dir)
	if code != 1 || !strings.Contains(errOut, "lease held by another deployment (deployer-request-42") {
		t.Errorf("apply under a held lease: exit %d, stderr:\n%s\nwant 1 and the holder named", code, errOut)
	}
	if n := len(w.mappings()); n != 0 {
		t.Errorf("apply under a held lease created %d mappings", n)
	}
	recs, err := store.History(ctx, "orders", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 || recs[0].Outcome != records.Failed || !strings.Contains(strings.Join(recs[0].Errors, "\n"), "deployer-request-42") {
		t.Errorf("records = %+v; want one failed record naming the holder", recs)
	}
}

// TestApply_NoTable_SaysItTakesNoLock: without a table the CLI works as
// before and says once that it takes no lock.
func TestApply_NoTable_SaysItTakesNoLock(t *testing.T) {
	w, _, _ := ledgerWorld(t)
	t.Setenv(TableEnv, "")
	_, _, errOut := w.run("apply", "--yes", w.dir)
	if n := strings.Count(errOut, "no lease is taken"); n != 1 {
		t.Errorf("apply without a table said %d times that it takes no lock:\n%s", n, errOut)
	}
	if len(w.mappings()) != 1 {
		t.Errorf("apply without a table did not apply")
	}
}

// readerFunc answers a read with what its function returns, once.
type readerFunc func() string

func (f *readerFunc) Read(p []byte) (int, error) {
	if *f == nil {
		return 0, io.EOF
	}
	s := (*f)()
	*f = nil
	return copy(p, s), nil
}

// TestApply_WithTable_ChangedWhileAsking_AppliesNothing: the lease is
// taken after the confirmation, and the plan made again under it; when AWS
// changed meanwhile (here someone made the declared mapping by hand, which
// would now be adopted rather than created), the function is not applied.
func TestApply_WithTable_ChangedWhileAsking_AppliesNothing(t *testing.T) {
	w, store, _ := ledgerWorld(t)
	ctx := context.Background()
	queue := must[string](t)(w.fx.Queue(ctx, "orders"))
	answer := readerFunc(func() string {
		if _, err := w.fx.Lambda.CreateEventSourceMapping(ctx, &lambda.CreateEventSourceMappingInput{
			FunctionName: aws.String(w.fnArn), EventSourceArn: aws.String(queue),
		}); err != nil {
			t.Error(err)
		}
		return "yes\n"
	})
	var stdout, stderr strings.Builder
	code := Run(ctx, []string{"apply", "--table", "deployments", w.dir}, Env{
		Stdin: &answer, Stdout: &stdout, Stderr: &stderr, IsTerminal: true,
		AWSConfig: func(context.Context) (aws.Config, error) { return w.cfg, nil },
	})
	if code != 1 || !strings.Contains(stderr.String(), errChanged.Error()) {
		t.Errorf("exit %d, stderr:\n%s\nwant 1 and %q", code, stderr.String(), errChanged)
	}
	ms := w.mappings()
	if len(ms) != 1 || w.tags(aws.ToString(ms[0].EventSourceMappingArn))[wiring.TagKey] != "" {
		t.Errorf("the hand-made mapping was touched (or another made): %d mappings", len(ms))
	}
	recs, err := store.History(ctx, "orders", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 || recs[0].Outcome != records.Failed {
		t.Errorf("records = %+v; want one failed record", recs)
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
