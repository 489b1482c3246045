package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/google/go-cmp/cmp"

	"github.com/eventwire/eventwire/internal/contract"
	"github.com/eventwire/eventwire/internal/definition"
	"github.com/eventwire/eventwire/internal/deployer"
	"github.com/eventwire/eventwire/internal/deployer/compose"
	"github.com/eventwire/eventwire/internal/deployer/sweep"
	"github.com/eventwire/eventwire/internal/progress"
	"github.com/eventwire/eventwire/internal/reconcile"
	"github.com/eventwire/eventwire/internal/records"
)

const sweepQueueARN = "arn:aws:sqs:us-east-1:123456789012:eventwire-sweep"

// healCheck runs the deployer's sweep check of fn, healing, on the
// world's AWS and table, the function listed as kind (an orphan: a
// mapping eventwire manages that the sweep found), and returns the check's
// drift result as "OUTCOME CHANGES".
func healCheck(t *testing.T, w *world, store *records.Store, fn, kind string) string {
	t.Helper()
	h := compose.New(compose.Config{
		Config: deployer.Config{Deployer: reconcile.New(w.cfg, reconcile.Options{}), Store: store, Parse: definition.Parse,
			Logger: slog.New(slog.DiscardHandler)},
		Sweep: sweep.Config{QueueARN: sweepQueueARN, Heal: true, Metrics: io.Discard},
	})
	body, _ := json.Marshal(contract.SweepMessage{Function: fn, Kind: kind, Sweep: "s1", Started: time.Now()})
	ev, _ := json.Marshal(events.SQSEvent{Records: []events.SQSMessage{{MessageId: "m1", Body: string(body), EventSource: "aws:sqs", EventSourceARN: sweepQueueARN}}})
	resp, err := h.Invoke(context.Background(), ev)
	if err != nil || len(resp.BatchItemFailures) > 0 {
		t.Fatalf("sweep check of %s: %v %v", fn, resp, err)
	}
	rs, err := store.DriftResults(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		if r.Function == fn {
			return fmt.Sprintf("%s %d", r.Outcome, r.Changes)
		}
	}
	return "no result"
}

// TestApply_WithTable_Declares_SweepNeverPrunes: apply with a table
// declares the function under the CLI's source; the deployer's healing
// sweep, finding its mapping, checks it against the applied file (in
// sync) instead of pruning it as an orphan.
func TestApply_WithTable_Declares_SweepNeverPrunes(t *testing.T) {
	w, store, _ := ledgerWorld(t)
	w.mustRun(0, "apply", "--yes", "--table", "deployments", w.dir)
	decls, active, err := store.Declarations(context.Background(), "orders")
	if err != nil {
		t.Fatal(err)
	}
	if len(decls) != 1 || decls[0].Source.ID() != "cli#cli:orders" || active == nil || active.Source.ID() != "cli#cli:orders" {
		t.Fatalf("declarations %+v, active %+v: want the CLI's, applied", decls, active)
	}
	if got := healCheck(t, w, store, "orders", records.KindOrphan); got != "in-sync 0" {
		t.Errorf("sweep check: %s, want in-sync 0", got)
	}
	if n := len(w.mappings()); n != 1 {
		t.Errorf("%d mappings after the sweep, want the CLI's one", n)
	}
}

// TestApply_WithTable_SecondSource_ConflictUntilDestroyed: a second CLI
// source naming a function the first declares is a conflict: nothing is
// applied, the run fails saying so, and the record says conflict. Once
// the first source destroys it, the second applies.
func TestApply_WithTable_SecondSource_ConflictUntilDestroyed(t *testing.T) {
	w, store, _ := ledgerWorld(t)
	w.mustRun(0, "apply", "--yes", "--table", "deployments", "--source", "team-a", w.dir)
	queue := "arn:aws:sqs:us-east-1:123456789012:orders"
	w.write(fmt.Sprintf(`{"FunctionName": "orders", "PullEventSources": {"EventSourceMapping": {"EventSourceArn": %q, "BatchSize": 3}}}`, queue))
	w.calls.Reset()
	code, _, errOut := w.run("apply", "--yes", "--table", "deployments", "--source", "team-b", w.dir)
	if code != 1 || !strings.Contains(errOut, "cli://team-a/orders@") || !strings.Contains(errOut, "already declares function orders") {
		t.Errorf("second source: exit %d, want 1 with the conflict:\n%s", code, errOut)
	}
	var writes []string
	for _, op := range w.calls.Writes() {
		if strings.HasPrefix(op, "Lambda.") {
			writes = append(writes, op)
		}
	}
	if len(writes) != 0 {
		t.Errorf("the conflicting apply wrote to Lambda: %v", writes)
	}
	recs, err := store.History(context.Background(), "orders", 1)
	if err != nil || len(recs) != 1 || recs[0].Outcome != records.Conflict {
		t.Errorf("last record %+v %v, want a conflict", recs, err)
	}

	w.mustRun(0, "destroy", "--yes", "--table", "deployments", "--source", "team-a", w.dir)
	if decls, _, _ := store.Declarations(context.Background(), "orders"); len(decls) != 1 || decls[0].Source.Repository != "team-b" {
		t.Errorf("declarations after destroy: %+v, want team-b's only", decls)
	}
	w.mustRun(0, "apply", "--yes", "--table", "deployments", "--source", "team-b", w.dir)
	if ms := w.mappings(); len(ms) != 1 || *ms[0].BatchSize != 3 {
		t.Errorf("mappings after team-b's apply: %+v", ms)
	}
}

// TestApply_LeaseLostWhilePaused_NextChangeRefused: a run that holds its
// function's lease pauses (here, after its first change) until the lease
// expires and another run takes the function over; its next change is
// refused before it is made, and AWS keeps only the first.
func TestApply_LeaseLostWhilePaused_NextChangeRefused(t *testing.T) {
	w, store, _ := ledgerWorld(t)
	ctx := context.Background()
	q2 := must[string](t)(w.fx.Queue(ctx, "orders-2"))
	path := w.write(fmt.Sprintf(`{"FunctionName": "orders", "PullEventSources": {"EventSourceMapping": [
  {"EventSourceArn": "arn:aws:sqs:us-east-1:123456789012:orders"}, {"EventSourceArn": %q}]}}`, q2))
	f, err := definition.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	pause := func(e progress.Event) {
		if e.Step != progress.Finished {
			return
		}
		once.Do(func() {
			time.Sleep(6500 * time.Millisecond) // past the lease's 5 seconds
			if _, err := store.AcquireLease(ctx, "orders", "the deployer", records.LeaseOptions{}); err != nil {
				t.Errorf("the other run could not take the expired lease: %v", err)
			}
		})
	}
	r := reconcile.New(w.cfg, reconcile.Options{}).NewRun(pause)
	p, err := r.Plan(ctx, f)
	if err != nil {
		t.Fatal(err)
	}
	o := &outcome{Source: path, Plan: p, file: f}
	l := &ledger{store: store, mode: records.ModeApply, owner: "paused laptop", source: DefaultSource, runID: "r1", duration: 5 * time.Second}
	l.run(ctx, o, r.Plan, r.ApplyFenced)
	if !errors.Is(o.applyErr, records.ErrLeaseLost) || o.applied {
		t.Errorf("apply: %v (applied %v), want the lease lost", o.applyErr, o.applied)
	}
	if n := len(w.mappings()); n != 1 {
		t.Errorf("%d mappings, want only the change made before the lease was lost", n)
	}
	if diff := cmp.Diff(records.Failed, must[[]records.Record](t)(store.History(ctx, "orders", 1))[0].Outcome); diff != "" {
		t.Errorf("record outcome (-want +got):\n%s", diff)
	}
}
