package sweep_test

import (
	"context"
	"encoding/json"
	"slices"
	"testing"

	"github.com/eventwire/eventwire/internal/deployer/bucket"
	"github.com/eventwire/eventwire/internal/testkit/deployertest"
)

// heldPut puts key's file and returns its event, to be delivered late.
func (sw *sweepWorld) heldPut(key, body string) (string, json.RawMessage) {
	sw.T.Helper()
	v := sw.Put(key, body)
	ev, _ := json.Marshal(bucket.S3PutEvent(deployertest.Bucket, key, v, sw.NextSequencer()))
	return v, ev
}

// Through the real handler on moto: a put's event delayed past what the
// sweep found. v2's event is held, v3's lost; a heal sweep's catch-up
// indexes v3 (without a sequencer) and applies it; v2's event, delivered
// then, is superseded by S3's current version and re-applies nothing
// older. Likewise after the key's removal found by a sweep: the late put
// event of an older version does not declare the function again.
func TestSweep_LateEventOfAnOlderVersion_NeverWins(t *testing.T) {
	const key = "fn/_lambdaeventsourcedef.json"
	tests := []struct {
		name string
		// after v2's put (its event held): what else happens in S3, with
		// no event delivered.
		then  func(sw *sweepWorld) string
		batch int32 // the mapping's BatchSize at the end; 0: declared by no file
	}{
		{"a newer version found by the catch-up", func(sw *sweepWorld) string {
			return sw.Put(key, queueFile("fn", 9))
		}, 9},
		{"the key's removal found by a check", func(sw *sweepWorld) string {
			return sw.Remove(key)
		}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sw := newSweepWorld(t)
			sw.wireQueues("fn")
			_, late := sw.heldPut(key, queueFile("fn", 7))
			tt.then(sw)
			sw.sweep(sw.handler(true))
			sw.Deliver(late)
			decls, _, err := sw.Store.Declarations(context.Background(), "fn")
			if err != nil {
				t.Fatal(err)
			}
			if tt.batch == 0 {
				if len(decls) != 0 {
					t.Errorf("fn declared again by the late event: %v", decls)
				}
				if n := sw.mappings("fn"); n != 1 {
					t.Errorf("fn has %d mappings, want the one the sweep left (an orphan, pruned by a later sweep)", n)
				}
				if _, batch, _ := sw.mapping("fn"); batch != 5 {
					t.Errorf("the late event applied its version: BatchSize %d, want 5", batch)
				}
				return
			}
			if _, batch, _ := sw.mapping("fn"); batch != tt.batch {
				t.Errorf("BatchSize %d, want %d (the current version)", batch, tt.batch)
			}
			if n := len(decls); n != 1 {
				t.Fatalf("%d declarations of fn, want 1", n)
			}
		})
	}
}

// A definition that names its function only through its _lambdadef.json,
// the sibling switched to another function with its event lost: the
// sweep's catch-up compares the sibling's version too, indexes the
// definition again (now declaring the other function), and a heal sweep
// wires the new function; the old one is declared no more (an orphan).
func TestSweep_SiblingSwitchedEventLost_CaughtUp(t *testing.T) {
	sw := newSweepWorld(t)
	ctx := context.Background()
	sw.mustFunction("one", "two")
	for _, q := range []string{"q-one", "q-two"} {
		if _, err := sw.Fixture.Queue(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	const key = "svc/_lambdaeventsourcedef.json"
	file := `{"PullEventSources":{"EventSourceMapping":{"EventSourceArn":"arn:aws:sqs:us-east-1:123456789012:q-one","BatchSize":5}}}`
	sw.Put("svc/_lambdadef.json", `{"FunctionName":"one"}`)
	_, ev := sw.heldPut(key, file)
	sw.Deliver(ev)
	sw.Put("svc/_lambdadef.json", `{"FunctionName":"two"}`) // no event

	sw.sweep(sw.handler(true))
	decls, _, err := sw.Store.Declarations(ctx, "two")
	if err != nil {
		t.Fatal(err)
	}
	if len(decls) != 1 || decls[0].Source.Key != key {
		t.Errorf("declarations of two: %v, want the definition beside the sibling", decls)
	}
	if n := sw.mappings("two"); n != 1 {
		t.Errorf("two has %d mappings, want 1", n)
	}
	if decls, _, err := sw.Store.Declarations(ctx, "one"); err != nil || len(decls) != 0 {
		t.Errorf("declarations of one: %v %v, want none (an orphan: when it is pruned is the sweep's rule)", decls, err)
	}
	if got := sw.results(); !slices.Contains(got, "two healed 1") {
		t.Errorf("drift results %q, want two healed", got)
	}
}

// A put's event delayed past a report-only sweep, whose catch-up indexed
// the put's version (converging nothing): the event, delivered then,
// applies it.
func TestSweep_EventAfterAReportOnlyCatchUp_Applies(t *testing.T) {
	const key = "fn/_lambdaeventsourcedef.json"
	sw := newSweepWorld(t)
	sw.wireQueues("fn")
	_, late := sw.heldPut(key, queueFile("fn", 7))
	sw.sweep(sw.handler(false))
	if _, batch, _ := sw.mapping("fn"); batch != 5 {
		t.Fatalf("report only: BatchSize %d, want 5 still", batch)
	}
	sw.Deliver(late)
	if _, batch, _ := sw.mapping("fn"); batch != 7 {
		t.Errorf("after the event: BatchSize %d, want 7", batch)
	}
}
