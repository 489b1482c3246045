package deployer_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/eventwire/eventwire/internal/deployer/bucket"
	"github.com/eventwire/eventwire/internal/records"
	"github.com/eventwire/eventwire/internal/testkit/deployertest"
)

// uploadAs puts the key's file for orders (the variant's wiring) naming
// the function as ref, and returns its event.
func uploadAs(w *deployertest.World, key, ref, variant string) json.RawMessage {
	w.T.Helper()
	body := strings.Replace(w.File("orders", variant), `"FunctionName": "orders"`, `"FunctionName": "`+ref+`"`, 1)
	v := w.Put(key, body)
	b, _ := json.Marshal(bucket.S3PutEvent(deployertest.Bucket, key, v, w.NextSequencer()))
	return b
}

// orders and orders:$LATEST are one function: a file naming one replaced
// by a file naming the other leaves one mapping, one target registration
// and one statement, the new file's, and no conflict; a second key naming
// the other spelling is a conflict of two files of one function, with
// nothing wired twice.
func TestOwnership_LatestIsTheFunction_OneWiring(t *testing.T) {
	tests := []struct {
		name, first, second string
		secondKey           string
		want                map[string]string
		wantLast            records.Outcome
	}{
		{"orders then orders:$LATEST, same key", "orders", "orders:$LATEST", "a/_lambdaeventsourcedef.json", map[string]string{"orders": "b"}, records.Succeeded},
		{"orders:$LATEST then orders, same key", "orders:$LATEST", "orders", "a/_lambdaeventsourcedef.json", map[string]string{"orders": "b"}, records.Succeeded},
		{"orders then orders:$LATEST, second key", "orders", "orders:$LATEST", "b/_lambdaeventsourcedef.json", map[string]string{"orders": "a"}, records.Conflict},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := deployertest.NewWorld(t, []string{"orders"}, []string{"a", "b"})
			w.Deliver(uploadAs(w, "a/_lambdaeventsourcedef.json", tc.first, "a"))
			w.CheckWiring("after the first file", map[string]string{"orders": "a"})
			w.Deliver(uploadAs(w, tc.secondKey, tc.second, "b"))
			w.CheckWiring("after the second file", tc.want)
			hist := w.History("orders")
			if len(hist) == 0 || hist[0].Outcome != tc.wantLast {
				t.Errorf("records %q, want the last %s", w.Outcomes("orders"), tc.wantLast)
			}
			for _, r := range hist {
				if r.Mode == records.ModeDestroy {
					t.Errorf("torn down between the spellings: %+v", r)
				}
			}
		})
	}
}
