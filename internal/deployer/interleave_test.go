package deployer_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/eventwire/eventwire/internal/records"
	"github.com/eventwire/eventwire/internal/testkit/deployertest"
)

// A step of a scenario: a put of a key's file naming fn with a variant's
// wiring ("!" an invalid file), or, with fn "", a delete of the key; or,
// with op, the key's latest entry deleted for good: "rollback" (its
// current version: the previous one is current again) or "undelete" (its
// delete marker). A lost step's event is never delivered.
type step struct {
	key, fn, variant string
	op               string
	lost             bool
}

func put(key, fn, variant string) step { return step{key: key, fn: fn, variant: variant} }
func del(key string) step              { return step{key: key} }
func rollback(key string) step         { return step{key: key, op: "rollback"} }
func undelete(key string) step         { return step{key: key, op: "undelete"} }
func lost(s step) step                 { s.lost = true; return s }

// delivered counts the steps whose events are delivered.
func delivered(steps []step) int {
	n := 0
	for _, s := range steps {
		if !s.lost {
			n++
		}
	}
	return n
}

// liveDeclarations is what the keys' current files declare once every
// step is done in S3, as the index means it: function → the variants of
// the keys that declare it. An invalid file keeps the key's previous
// declaration; a delete ends it; a rollback or an undelete makes the
// key's previous entry current again (whatever the deliveries: every
// event is handled after every step is made, and indexes what S3 serves).
func liveDeclarations(steps []step) map[string][]string {
	type decl struct{ fn, variant string }
	byKey := map[string]*decl{}
	entries := map[string][]*decl{} // per key, oldest first; nil: a delete marker
	for _, s := range steps {
		e := entries[s.key]
		switch {
		case s.op != "":
			e = e[:len(e)-1]
			byKey[s.key] = nil
			if len(e) > 0 {
				byKey[s.key] = e[len(e)-1]
			}
		case s.fn == "":
			byKey[s.key] = nil
			e = append(e, nil)
		case s.variant != "!":
			byKey[s.key] = &decl{s.fn, s.variant}
			e = append(e, byKey[s.key])
		default:
			e = append(e, byKey[s.key])
		}
		entries[s.key] = e
	}
	out := map[string][]string{}
	for _, d := range byKey {
		if d != nil {
			out[d.fn] = append(out[d.fn], d.variant)
		}
	}
	return out
}

// orders of delivery of n events: as S3 made them, reversed, odd ones
// first (when that is another order), and all at once (nil).
func deliveryOrders(n int) map[string][]int {
	made, reversed, odd := []int{}, []int{}, []int{}
	for i := 0; i < n; i++ {
		made = append(made, i)
		reversed = append(reversed, n-1-i)
	}
	for i := 1; i < n; i += 2 {
		odd = append(odd, i)
	}
	for i := 0; i < n; i += 2 {
		odd = append(odd, i)
	}
	out := map[string][]int{"as made": made, "reversed": reversed, "at once": nil}
	if fmt.Sprint(odd) != fmt.Sprint(reversed) {
		out["odd first"] = odd
	}
	return out
}

// TestInterleavings: scenarios of puts and deletes over a few keys and two
// functions, each delivered in several orders and all at once (goroutines
// through the handler, each event its own invocation), then all delivered
// again. Whatever the order, AWS ends as the keys' newest files describe:
// each function declared by one live file is wired as that file says, a
// function no live file declares is not wired at all. (Where two live
// files declare one function, either may be the one applied.) Run under
// -race by make test.
func TestInterleavings(t *testing.T) {
	scenarios := []struct {
		name         string
		setup, steps []step
	}{
		{"move: copy then delete", []step{put("k1", "orders", "a")}, []step{put("k2", "orders", "b"), del("k1")}},
		{"switch, and the old function taken by another key", []step{put("k1", "orders", "a")}, []step{put("k1", "inventory", "b"), put("k2", "orders", "c")}},
		{"two keys swap their functions", []step{put("k1", "orders", "a"), put("k2", "inventory", "b")}, []step{put("k1", "inventory", "c"), put("k2", "orders", "d")}},
		{"put and delete of one key", nil, []step{put("k1", "orders", "a"), del("k1")}},
		{"two keys, then the first deleted", nil, []step{put("k1", "orders", "a"), put("k2", "orders", "b"), del("k1")}},
		{"an invalid file beside another key", []step{put("k1", "orders", "a")}, []step{put("k1", "orders", "!"), put("k2", "inventory", "b")}},
		{"one key's whole life", nil, []step{put("k1", "orders", "a"), put("k1", "orders", "b"), del("k1"), put("k1", "inventory", "c")}},
		{"three keys, two functions", []step{put("k1", "orders", "a")}, []step{put("k2", "inventory", "b"), put("k3", "orders", "c"), del("k1"), put("k2", "orders", "b")}},
		{"rollback: the newest version deleted", []step{put("k1", "orders", "a"), put("k1", "orders", "b")}, []step{rollback("k1")}},
		{"rollback to the function named before", []step{put("k1", "orders", "a"), put("k1", "inventory", "b")}, []step{rollback("k1")}},
		{"undelete: the delete marker deleted", []step{put("k1", "orders", "a"), del("k1")}, []step{undelete("k1")}},
		{"rollback after a move, then undelete", []step{put("k1", "orders", "a"), put("k2", "orders", "b"), del("k1")}, []step{rollback("k2"), undelete("k1")}},
		{"rollback, then a new put", []step{put("k1", "orders", "a"), put("k1", "inventory", "b")}, []step{rollback("k1"), put("k1", "orders", "c")}},
		{"an older put's event after a newer put's lost", []step{put("k1", "orders", "a")}, []step{put("k1", "orders", "b"), lost(put("k1", "inventory", "c"))}},
		{"an older put's event after its delete's lost", nil, []step{put("k1", "orders", "a"), lost(del("k1"))}},
	}
	shared := deployertest.
		// The functions' execution role, made once before the runs.
		NewEnv(t)

	shared.World(t, "r0-", []string{"orders"}, nil)
	run := 0
	for _, sc := range scenarios {
		variants := map[string]bool{}
		for _, s := range append(append([]step(nil), sc.setup...), sc.steps...) {
			if s.variant != "" && s.variant != "!" {
				variants[s.variant] = true
			}
		}
		for name, order := range deliveryOrders(delivered(sc.steps)) {
			run++
			prefix := fmt.Sprintf("r%d-", run)
			t.Run(sc.name+"/"+name, func(t *testing.T) {
				// Each run has its own functions, queues, target groups and
				// keys: the runs share moto and go at the same time.
				t.Parallel()
				w := ownWorld(t, shared, prefix, sortedKeys(variants)...)
				for _, s := range sc.setup {
					w.Deliver(stepEvent(w, s))
				}
				var events []json.RawMessage
				for _, s := range sc.steps {
					if ev := stepEvent(w, s); !s.lost {
						events = append(events, ev)
					}
				}
				if order == nil {
					w.DeliverAtOnce(events...)
				} else {
					for _, i := range order {
						w.Deliver(events[i])
					}
				}
				want := liveDeclarations(append(append([]step(nil), sc.setup...), sc.steps...))
				checkDeclared(w, "after the events", want)
				w.DeliverAtOnce(events...)
				checkDeclared(w, "after every event again", want)
			})
		}
	}
}

// ownWorld is a world of one run on shared's moto, its names starting
// with prefix: its functions orders and inventory, the variants' queues and
// target groups, and a table of its own (moto copies a whole table for
// each transaction, and runs DynamoDB requests one at a time).
func ownWorld(t *testing.T, shared *deployertest.Env, prefix string, variants ...string) *deployertest.World {
	t.Helper()
	e := *shared
	e.T = t
	e.Table = prefix + deployertest.Table
	db := dynamodb.NewFromConfig(e.AWS)
	if err := records.CreateTable(context.Background(), db, e.Table); err != nil {
		t.Fatal(err)
	}
	e.Store = records.New(db, e.Table, records.Options{})
	return e.World(t, prefix, []string{"orders", "inventory"}, variants)
}

func sortedKeys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// event makes the step in S3 and returns its notification.
func stepEvent(w *deployertest.World, s step) json.RawMessage {
	switch {
	case s.op != "":
		return w.DeleteLatest(s.key+"/_lambdaeventsourcedef.json", s.op == "undelete")
	case s.fn == "":
		return w.Delete(s.key + "/_lambdaeventsourcedef.json")
	}
	return w.Upload(s.key+"/_lambdaeventsourcedef.json", s.fn, s.variant)
}

// checkDeclared compares AWS with the live declarations: a function
// declared by several live files may be wired by any one of them.
func checkDeclared(w *deployertest.World, what string, live map[string][]string) {
	w.T.Helper()
	got := w.Wiring()
	var fns []string
	for fn := range live {
		fns = append(fns, fn)
	}
	sort.Strings(fns)
	// Every choice of one variant per function; one must match.
	choices := []map[string]string{{}}
	for _, fn := range fns {
		var next []map[string]string
		for _, c := range choices {
			for _, v := range live[fn] {
				n := map[string]string{fn: v}
				for k, x := range c {
					n[k] = x
				}
				next = append(next, n)
			}
		}
		choices = next
	}
	for _, c := range choices {
		if fmt.Sprint(deployertest.Wired(c)) == fmt.Sprint(got) {
			return
		}
	}
	w.T.Errorf("%s: AWS has %q, want the wiring of %v", what, got, live)
}
