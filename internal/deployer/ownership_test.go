package deployer_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/eventwire/eventwire/internal/records"
	"github.com/eventwire/eventwire/internal/testkit/deployertest"
)

// These tests run the real handler and the real reconciler on moto, and
// check AWS itself: mappings, target registrations and permissions.

// Moving a file is copying it, then deleting the old key. Delivered in the
// order S3 made them, the function is never torn down; delivered the other
// way round, the delete comes before the index knows the copy, and the
// function is torn down and wired again. Either way it ends wired to the
// new file's content.
func TestOwnership_MoveByCopyThenDelete(t *testing.T) {
	for _, order := range []string{"copy first", "delete first"} {
		t.Run(order, func(t *testing.T) {
			w := deployertest.NewWorld(t, []string{"orders"}, []string{"a", "b"})
			w.Deliver(w.Upload("team-a/orders/_lambdaeventsourcedef.json", "orders", "a"))
			w.CheckWiring("before the move", map[string]string{"orders": "a"})
			copied := w.Upload("team-b/orders/_lambdaeventsourcedef.json", "orders", "b")
			deleted := w.Delete("team-a/orders/_lambdaeventsourcedef.json")
			if order == "copy first" {
				w.Deliver(copied)
				// The copy is a second live file of orders: a conflict until
				// the old one goes.
				w.CheckWiring("after the copy", map[string]string{"orders": "a"})
				w.Deliver(deleted)
			} else {
				w.Deliver(deleted, copied)
			}
			w.CheckWiring("after the move", map[string]string{"orders": "b"})
			var destroys int
			for _, r := range w.History("orders") {
				if r.Mode == records.ModeDestroy {
					destroys++
				}
			}
			if want := map[string]int{"copy first": 0, "delete first": 1}[order]; destroys != want {
				t.Errorf("%d teardowns, want %d: %v", destroys, want, w.Outcomes("orders"))
			}
		})
	}
}

// A file that now names another function: the new one is applied, the old
// one torn down.
func TestOwnership_FileSwitchesFunction(t *testing.T) {
	w := deployertest.NewWorld(t, []string{"orders", "inventory"}, []string{"a", "b"})
	const key = "shared/_lambdaeventsourcedef.json"
	w.Deliver(w.Upload(key, "orders", "a"))
	w.Deliver(w.Upload(key, "inventory", "b"))
	w.CheckWiring("after the switch", map[string]string{"inventory": "b"})
	if got := w.Outcomes("orders"); len(got) != 2 || !strings.HasPrefix(got[0], "succeeded destroy ") {
		t.Errorf("orders records: %q, want its teardown last", got)
	}
}

// Two keys naming one function: the second is a conflict (recorded with
// both files, logged, nothing changed in AWS) and the first keeps working;
// deleting the first makes the second the declaration.
func TestOwnership_TwoKeysOneFunction(t *testing.T) {
	w := deployertest.NewWorld(t, []string{"orders"}, []string{"a", "b"})
	calls := deployertest.RecordCalls(w)
	w.Deliver(w.Upload("a/_lambdaeventsourcedef.json", "orders", "a"))
	calls.Reset()
	second := w.Upload("b/_lambdaeventsourcedef.json", "orders", "b")
	w.Deliver(second)
	if writes := deployertest.LambdaWrites(calls.Writes()); len(writes) != 0 {
		t.Errorf("the conflict wrote to AWS: %v", writes)
	}
	w.CheckWiring("after the conflict", map[string]string{"orders": "a"})
	hist := w.History("orders")
	c := hist[0]
	first := "s3://" + deployertest.Bucket + "/a/_lambdaeventsourcedef.json?versionId="
	if c.Outcome != records.Conflict || !strings.HasPrefix(c.Source, "s3://"+deployertest.Bucket+"/b/") || !strings.HasPrefix(c.DeclaredBy, first) ||
		len(c.Errors) != 1 || !strings.Contains(c.Errors[0], "declares function orders, which "+first) {
		t.Errorf("conflict record: %+v", c)
	}
	lines := w.Log.Grep("definition conflict")
	if len(lines) != 1 || !strings.Contains(lines[0], "function=orders") || !strings.Contains(lines[0], "source=s3://"+deployertest.Bucket+"/b/") || !strings.Contains(lines[0], "declared_by="+first) {
		t.Errorf("conflict log lines: %q", lines)
	}
	// Final: a redelivery is not a second conflict.
	w.Deliver(second)
	if got := len(w.Log.Grep("definition conflict")); got != 1 {
		t.Errorf("%d conflict lines after a redelivery, want 1", got)
	}

	w.Deliver(w.Delete("a/_lambdaeventsourcedef.json"))
	w.CheckWiring("after deleting the first", map[string]string{"orders": "b"})
	if got := w.History("orders")[0]; got.Outcome != records.Succeeded || got.Mode != records.ModeApply || !strings.HasPrefix(got.Source, "s3://"+deployertest.Bucket+"/b/") {
		t.Errorf("last record: %s %s %s, want b's file applied", got.Outcome, got.Mode, got.Source)
	}
}

// Removing a file while another live file still declares its function
// tears nothing down.
func TestOwnership_RemovalWhileAnotherFileDeclares(t *testing.T) {
	w := deployertest.NewWorld(t, []string{"orders"}, []string{"a", "b"})
	w.Deliver(w.Upload("a/_lambdaeventsourcedef.json", "orders", "a"), w.Upload("b/_lambdaeventsourcedef.json", "orders", "b"))
	w.Deliver(w.Delete("b/_lambdaeventsourcedef.json"))
	w.CheckWiring("after removing the conflicting file", map[string]string{"orders": "a"})
	for _, r := range w.History("orders") {
		if r.Mode == records.ModeDestroy {
			t.Errorf("torn down: %+v", r)
		}
	}
}

// An invalid version of a file is recorded once and keeps the previous
// declaration: the function stays wired, and deleting the key later still
// tears it down.
func TestOwnership_InvalidFileKeepsTheDeclaration(t *testing.T) {
	w := deployertest.NewWorld(t, []string{"orders"}, []string{"a"})
	const key = "orders/_lambdaeventsourcedef.json"
	w.Deliver(w.Upload(key, "orders", "a"))
	bad := w.Upload(key, "orders", "!")
	w.Deliver(bad, bad)
	w.CheckWiring("after the invalid file", map[string]string{"orders": "a"})
	var invalid int
	for _, r := range w.History("orders") {
		if r.Outcome == records.Invalid {
			invalid++
		}
	}
	if invalid != 1 {
		t.Errorf("%d invalid records, want 1: %v", invalid, w.Outcomes("orders"))
	}
	w.Deliver(w.Delete(key))
	w.CheckWiring("after the delete", nil)
}

// Every event delivered again, in any order, changes nothing in AWS.
func TestOwnership_ReplaysChangeNothing(t *testing.T) {
	w := deployertest.NewWorld(t, []string{"orders", "inventory"}, []string{"a", "b", "c"})
	evs := []json.RawMessage{
		w.Upload("k1/_lambdaeventsourcedef.json", "orders", "a"),
		w.Upload("k2/_lambdaeventsourcedef.json", "orders", "b"),
		w.Upload("k1/_lambdaeventsourcedef.json", "inventory", "c"),
		w.Delete("k2/_lambdaeventsourcedef.json"),
	}
	w.Deliver(evs...)
	live := map[string]string{"inventory": "c"}
	w.CheckWiring("after the events", live)
	calls := deployertest.RecordCalls(w)
	calls.Reset()
	w.Deliver(evs[3], evs[1], evs[0], evs[2])
	w.DeliverAtOnce(evs...)
	if writes := deployertest.LambdaWrites(calls.Writes()); len(writes) != 0 {
		t.Errorf("replays wrote to AWS: %v", writes)
	}
	w.CheckWiring("after the replays", live)
}

// A put and a delete of one key handled at once: the key ends deleted and
// its function torn down, whichever runs first.
func TestOwnership_PutDeleteRace(t *testing.T) {
	w := deployertest.NewWorld(t, []string{"orders"}, []string{"a"})
	const key = "orders/_lambdaeventsourcedef.json"
	put := w.Upload(key, "orders", "a")
	del := w.Delete(key)
	w.DeliverAtOnce(put, del)
	w.CheckWiring("after the race", nil)
	st, err := w.Store.SourceState(context.Background(), records.S3Source(deployertest.Bucket, key, ""))
	if err != nil {
		t.Fatal(err)
	}
	if !st.Deleted || len(st.Pending.Functions) != 0 {
		t.Errorf("key state %+v, want deleted with nothing pending", st)
	}
}

// A function deleted in Lambda keeps its mappings and target
// registrations (AWS and moto alike). Removing its file still tears them
// down through the handler: the function's ARN is worked out without
// GetFunction, and the target groups come from the file last applied.
func TestOwnership_DeletedFunctionIsTornDown(t *testing.T) {
	w := deployertest.NewWorld(t, []string{"orders", "inventory"}, []string{"a", "b"})
	w.Deliver(w.Upload("orders/_lambdaeventsourcedef.json", "orders", "a"))
	w.Deliver(w.Upload("inventory/_lambdaeventsourcedef.json", "inventory", "b"))
	w.CheckWiring("before", map[string]string{"orders": "a", "inventory": "b"})
	if _, err := w.Fixture.Lambda.DeleteFunction(context.Background(), &awslambda.DeleteFunctionInput{FunctionName: aws.String("orders")}); err != nil {
		t.Fatal(err)
	}
	w.Deliver(w.Delete("orders/_lambdaeventsourcedef.json"))
	w.CheckWiring("after the file of the deleted function was removed", map[string]string{"inventory": "b"})
	got := w.Outcomes("orders")
	if len(got) == 0 || !strings.HasPrefix(got[0], "succeeded destroy ") {
		t.Errorf("orders records: %q, want a successful teardown last", got)
	}
}
