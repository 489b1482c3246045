package deployer_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/google/go-cmp/cmp"

	"github.com/eventwire/eventwire/internal/deployer"
	"github.com/eventwire/eventwire/internal/deployer/bucket"
	"github.com/eventwire/eventwire/internal/deployer/sweep"
	"github.com/eventwire/eventwire/internal/testkit/deployertest"
)

// kinesisFile is a definition file wiring fn to a Kinesis stream.
func kinesisFile(fn, streamARN string, batch int) string {
	return fmt.Sprintf(`{
  "FunctionName": %q,
  "PullEventSources": {
    "EventSourceMapping": {"EventSourceArn": %q, "StartingPosition": "TRIM_HORIZON", "BatchSize": %d}
  }
}
`, fn, streamARN, batch)
}

// TestInterleavings_MoveOfAStreamMapping: a file wiring a function to a
// Kinesis stream is moved to another key (a copy, then a delete of the
// old key), through the real handler on moto, the move's two events
// delivered in either order or at once, then the deferred teardowns
// delivered when due. With a teardown grace (the deployer's default, here
// a second), the mapping is never torn down: it keeps its UUID, and with
// it the stream's checkpoint, whatever the order. With a grace of 0, a
// delete delivered first tears the mapping down at once and the copy's
// event creates another (the old behaviour). Run under -race by make test.
func TestInterleavings_MoveOfAStreamMapping(t *testing.T) {
	shared := deployertest.NewEnv(t)
	// The functions' execution role, made once before the runs.
	shared.World(t, "m0-", []string{"orders"}, nil)
	run := 0
	for _, c := range []struct {
		name     string
		grace    time.Duration
		order    []int // of the events: 0 the copy's put, 1 the old key's delete; nil at once
		sameUUID bool
	}{
		{"grace, delete first", time.Second, []int{1, 0}, true},
		{"grace, copy first", time.Second, []int{0, 1}, true},
		{"grace, at once", time.Second, nil, true},
		{"no grace, copy first", 0, []int{0, 1}, true},
		{"no grace, delete first: a new mapping", 0, []int{1, 0}, false},
	} {
		run++
		prefix := fmt.Sprintf("m%d-", run)
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			w := ownWorld(t, shared, prefix)
			if c.grace > 0 {
				w.DeferTeardowns(c.grace)
			}
			ctx := context.Background()
			stream, err := w.Fixture.Stream(ctx, prefix+"events")
			if err != nil {
				t.Fatal(err)
			}
			fn := prefix + "orders"
			oldKey, newKey := prefix+"old/_lambdaeventsourcedef.json", prefix+"new/_lambdaeventsourcedef.json"
			w.Deliver(putEvent(w, oldKey, kinesisFile(fn, stream, 5)))
			before := streamMappings(t, w, fn)
			if len(before) != 1 {
				t.Fatalf("after the first file: mappings %v, want one", before)
			}

			events := []json.RawMessage{putEvent(w, newKey, kinesisFile(fn, stream, 5)), w.Delete(oldKey[len(prefix):])}
			if c.order == nil {
				w.DeliverAtOnce(events...)
			} else {
				for _, i := range c.order {
					w.Deliver(events[i])
				}
			}
			if c.grace > 0 {
				w.DeliverDeferred()
			}
			after := streamMappings(t, w, fn)
			if len(after) != 1 {
				t.Fatalf("after the move: mappings %v, want one", after)
			}
			if got := after[0] == before[0]; got != c.sameUUID {
				t.Errorf("mapping's UUID before %s, after %s: same %v, want %v", before[0], after[0], got, c.sameUUID)
			}
			if diff := cmp.Diff([]string{fn}, declared(t, w, fn)); diff != "" {
				t.Errorf("declarations (-want +got):\n%s", diff)
			}
		})
	}
}

// putEvent uploads body at key and returns its event.
func putEvent(w *deployertest.World, key, body string) json.RawMessage {
	v := w.Put(key, body)
	b, _ := json.Marshal(bucket.S3PutEvent(deployertest.Bucket, key, v, w.NextSequencer()))
	return b
}

// streamMappings are the UUIDs of fn's mappings.
func streamMappings(t *testing.T, w *deployertest.World, fn string) []string {
	t.Helper()
	out, err := w.Fixture.Lambda.ListEventSourceMappings(context.Background(), &awslambda.ListEventSourceMappingsInput{FunctionName: aws.String("arn:aws:lambda:us-east-1:123456789012:function:" + fn)})
	if err != nil {
		t.Fatal(err)
	}
	var uuids []string
	for _, m := range out.EventSourceMappings {
		uuids = append(uuids, aws.ToString(m.UUID))
	}
	return uuids
}

// declared is fn once per live declaration of it.
func declared(t *testing.T, w *deployertest.World, fn string) []string {
	t.Helper()
	decls, _, err := w.Store.Declarations(context.Background(), fn)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, d := range decls {
		out = append(out, d.Function)
	}
	return out
}

// A file deleted (not moved), with a teardown grace: its function stays
// wired until the deferred teardown is delivered, which then tears it
// down, since no live file declares it.
func TestTeardown_Deferred_TearsDownWhatIsStillUndeclared(t *testing.T) {
	w := deployertest.NewWorld(t, []string{"orders"}, []string{"a"})
	w.DeferTeardowns(time.Second)
	key := "orders/_lambdaeventsourcedef.json"
	w.Deliver(w.Upload(key, "orders", "a"))
	w.Deliver(w.Delete(key))
	w.CheckWiring("before the grace has passed", map[string]string{"orders": "a"})
	if got := w.Log.Grep(deployer.TeardownDeferredLogMessage); len(got) != 1 {
		t.Errorf("log lines %q: %q, want one", deployer.TeardownDeferredLogMessage, got)
	}
	if n := w.DeliverDeferred(); n != 1 {
		t.Errorf("deferred teardowns delivered: %d, want 1", n)
	}
	w.CheckWiring("after the deferred teardown", nil)
}

// A heal sweep's check during the teardown grace does not prune what the
// removal deferred: a move whose copy's event is late keeps its wiring
// through the grace, and the deferred teardown still tears down what is
// undeclared after it.
func TestTeardown_Deferred_HealSweepMeanwhileDoesNotPrune(t *testing.T) {
	w := deployertest.NewWorld(t, []string{"orders"}, []string{"a"})
	w.DeferTeardownsAndHeal(2 * time.Second)
	key := "orders/_lambdaeventsourcedef.json"
	w.Deliver(w.Upload(key, "orders", "a"))
	w.Deliver(w.Delete(key))
	w.SweepCheck("orders", "heal-during-grace")
	w.CheckWiring("a heal sweep's check during the grace", map[string]string{"orders": "a"})
	if got := w.Log.Grep(sweep.TeardownPendingLogMessage); len(got) != 1 {
		t.Errorf("log lines %q: %q, want one", sweep.TeardownPendingLogMessage, got)
	}
	if n := w.DeliverDeferred(); n != 1 {
		t.Errorf("deferred teardowns delivered: %d, want 1", n)
	}
	w.CheckWiring("after the deferred teardown", nil)
}
