package bench

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/eventwire/eventwire/internal/aws/quota"
)

// The bench's sweep (part 4), at a small scale, so that `make test` keeps
// it working: every function is found in sync, the metric lines count
// them, and the checks make exactly the no-op minimum of calls in each
// quota bucket, none throttled and none a write; the report shows it.
func TestSweep_SmallWorld_InSyncAtTheNoOpMinimum(t *testing.T) {
	const n = 12
	o := Options{SweepFunctions: n, SweepShare: 0.5, SweepConcurrency: 2}
	s, err := sweep(context.Background(), o, t.TempDir(), func(string) {})
	if err != nil {
		t.Fatal(err)
	}
	if s.DriftExit != 0 {
		t.Errorf("eventwire drift --detailed-exitcode: exit %d, want 0", s.DriftExit)
	}
	if diff := cmp.Diff(map[string]int{"in-sync": n}, s.Status); diff != "" {
		t.Errorf("eventwire drift's statuses (-want +got):\n%s", diff)
	}
	if s.Metrics.FunctionsChecked != n || s.Metrics.DriftedFunctions != 0 || s.Metrics.OrphanedResources != 0 {
		t.Errorf("metric lines: %+v, want %d functions checked, none drifted or orphaned", s.Metrics, n)
	}
	got := buckets(s.Checks.counts)
	for b, c := range got {
		if c == 0 {
			delete(got, b)
		}
	}
	if diff := cmp.Diff(s.Fewest, got); diff != "" {
		t.Errorf("the checks' calls per bucket (-no-op minimum +made):\n%s", diff)
	}
	if want := (map[string]int{quota.Lambda: 3 * n, quota.LambdaGetPolicy: n, quota.ELBDescribe: n, quota.APIGateway: 2 * n}); !cmp.Equal(want, s.Fewest) {
		t.Errorf("no-op minimum %v, want %v", s.Fewest, want)
	}
	if w, th := writes(s.Checks.counts), s.Checks.counts.Total.Throttled; w != 0 || th != 0 {
		t.Errorf("the checks made %d writes and were throttled %d times, want none", w, th)
	}
	var out strings.Builder
	(&Report{Options: o, Sweep: s}).Write(&out)
	for _, want := range []string{"## 4. Drift sweep", "`eventwire drift`: 12 in-sync, exit 0", "sweep ratio-to-quota-bound: "} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
}
