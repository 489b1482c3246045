package records_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/eventwire/eventwire/internal/records"
)

// known is the known functions as plain data: "FN declared|undeclared
// [last applied source@version]".
func known(t *testing.T, s *records.Store) []string {
	t.Helper()
	ks, err := s.KnownFunctions(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, k := range ks {
		line := k.Function + " undeclared"
		if k.Declared {
			line = k.Function + " declared"
		}
		if k.LastApplied != nil {
			line += " " + k.LastApplied.ID() + "@" + k.LastApplied.Version
		}
		out = append(out, line)
	}
	return out
}

// The index keeps, in each change's transaction, which functions live
// sources declare; a function nothing declares any more stays known (its
// resources may be left in AWS) until the sweep forgets it, which it
// cannot while a source declares it again.
func TestKnownFunctions_FollowTheIndex(t *testing.T) {
	now := time.Date(2026, 12, 1, 1, 0, 0, 0, time.UTC)
	s := newStore(t, &now)
	ctx := context.Background()
	a, b := records.S3Source("defs", "a/_lambdaeventsourcedef.json", ""), records.S3Source("defs", "b/_lambdaeventsourcedef.json", "")
	index := func(src records.Source, version string, c records.Change) {
		t.Helper()
		prev, err := s.SourceState(ctx, src)
		if err != nil {
			t.Fatal(err)
		}
		src.Version = version
		c.Source = src
		if err := s.Index(ctx, prev, c); err != nil {
			t.Fatal(err)
		}
	}
	index(a, "a1", records.Change{Kind: records.Declare, Sequencer: "01", Function: "orders"})
	index(b, "b1", records.Change{Kind: records.Declare, Sequencer: "01", Function: "orders"})
	a.Version = "a1"
	if err := s.SetActive(ctx, records.Declaration{Function: "orders", Source: a}); err != nil {
		t.Fatal(err)
	}
	index(a, "a2", records.Change{Kind: records.Declare, Sequencer: "02", Function: "billing"})
	check := func(step string, want ...string) {
		t.Helper()
		if diff := cmp.Diff(want, known(t, s)); diff != "" {
			t.Errorf("%s: known functions (-want +got):\n%s", step, diff)
		}
	}
	check("a moved to billing", "billing declared", "orders declared s3#defs/a/_lambdaeventsourcedef.json@a1")

	index(b, "b2", records.Change{Kind: records.Remove, Sequencer: "02"})
	check("b removed", "billing declared", "orders undeclared s3#defs/a/_lambdaeventsourcedef.json@a1")

	if ok, err := s.ForgetFunction(ctx, "billing"); err != nil || ok {
		t.Errorf("ForgetFunction(billing), declared = %v, %v; want false, nil", ok, err)
	}
	if ok, err := s.ForgetFunction(ctx, "orders"); err != nil || !ok {
		t.Errorf("ForgetFunction(orders), undeclared = %v, %v; want true, nil", ok, err)
	}
	check("orders forgotten", "billing declared")
}

func TestDriftResults_LatestPerFunction(t *testing.T) {
	now := time.Date(2026, 12, 1, 1, 0, 0, 0, time.UTC)
	s := newStore(t, &now)
	ctx := context.Background()
	sw := records.Sweep{ID: "s1", Started: now, Functions: 2, Declared: 1, Orphans: 1}
	if err := s.PutSweep(ctx, sw); err != nil {
		t.Fatal(err)
	}
	got, err := s.LatestSweep(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(&sw, got); diff != "" {
		t.Errorf("latest sweep (-want +got):\n%s", diff)
	}
	results := []records.DriftResult{
		{Function: "orders", SweepID: "s0", SweepStarted: now.Add(-time.Hour), CheckedAt: now.Add(-time.Hour), Kind: records.KindDeclared, Outcome: records.InSync},
		{Function: "orders", SweepID: "s1", SweepStarted: now, CheckedAt: now.Add(time.Second), Kind: records.KindDeclared,
			Outcome: records.Drifted, Source: "s3://defs/a?versionId=v1", Plan: "~ update", PlanJSON: "{}", Changes: 1, RecordID: "r1"},
		{Function: "billing:live", SweepID: "s1", SweepStarted: now, CheckedAt: now.Add(2 * time.Second), Kind: records.KindOrphan,
			Outcome: records.Failed, Errors: []string{"throttled"}},
	}
	for _, r := range results {
		if err := s.PutDriftResult(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	all, err := s.DriftResults(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]records.DriftResult{results[2], results[1]}, all); diff != "" {
		t.Errorf("drift results (-want +got):\n%s", diff)
	}
	if err := s.DeleteDriftResult(ctx, "orders"); err != nil {
		t.Fatal(err)
	}
	if all, _ = s.DriftResults(ctx); len(all) != 1 {
		t.Errorf("after deleting orders' result: %+v", all)
	}
}
