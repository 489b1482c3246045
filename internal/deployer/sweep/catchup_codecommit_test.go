package sweep_test

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/eventwire/eventwire/internal/deployer/branch"
	"github.com/eventwire/eventwire/internal/records"
	"github.com/eventwire/eventwire/internal/testkit/deployertest"
)

// The sweep's start catching a CodeCommit branch up with pushes whose
// events were never delivered (moto has no CodeCommit: the repository is a
// fake speaking its JSON protocol; the rest is moto, with the real
// reconciler).

const movedPath = "moved/_lambdaeventsourcedef.json"

// declaredBy is the source of fn's only live declaration, as a string.
func (sw *sweepWorld) declaredBy(t *testing.T, fn string) string {
	t.Helper()
	decls, _, err := sw.Store.Declarations(context.Background(), fn)
	if err != nil || len(decls) != 1 {
		t.Fatalf("declarations of %s: %v %v, want one", fn, decls, err)
	}
	return decls[0].Source.String()
}

// Through the real handler: functions applied through the push of deployertest.C1, then
// deployertest.C2 on the branch changes kept's BatchSize with no push event delivered.
// A report-only sweep's start indexes deployertest.C1..deployertest.C2 (one warning) and kept's check
// reports it drifted at deployertest.C2, changing nothing; a heal sweep applies it.
func TestSweep_CodeCommitPushLost_CaughtUpDriftedThenHealed_Fake(t *testing.T) {
	sw, repo, _ := newRepoSweepWorld(t)
	repo.Update(func() { // no event delivered
		repo.Parents[deployertest.C2] = []string{deployertest.C1}
		repo.Trees[deployertest.C2] = map[string]string{gonePath: queueFile("gone", 5), keptPath: queueFile("kept", 9)}
		repo.Refs[headRef] = deployertest.C2
	})

	if diff := cmp.Diff([]string{"gone declared", "kept declared"}, sw.sweep(sw.handler(false))); diff != "" {
		t.Errorf("sweep messages (-want +got):\n%s", diff)
	}
	if got := sw.Log.Grep(branch.CaughtUpLogMessage); len(got) != 1 ||
		!strings.Contains(got[0], "branch=main") || !strings.Contains(got[0], "from="+deployertest.C1) || !strings.Contains(got[0], "to="+deployertest.C2) {
		t.Errorf("log lines of the catch-up: %q", got)
	}
	if got, want := sw.declaredBy(t, "kept"), "codecommit://definitions/"+keptPath+"@"+deployertest.C2; got != want {
		t.Errorf("kept declared by %s, want %s", got, want)
	}
	if diff := cmp.Diff([]string{"gone in-sync 0", "kept drifted 1"}, sw.results()); diff != "" {
		t.Errorf("drift results (-want +got):\n%s", diff)
	}
	if plan := sw.plans()["kept"]; !strings.Contains(plan, "BatchSize: 5 → 9") {
		t.Errorf("kept's plan lacks the BatchSize change:\n%s", plan)
	}
	if _, batch, _ := sw.mapping("kept"); batch != 5 {
		t.Errorf("report only: kept's BatchSize %d, want 5 still", batch)
	}

	if diff := cmp.Diff([]string{"gone declared", "kept declared"}, sw.sweep(sw.handler(true))); diff != "" {
		t.Errorf("sweep messages, heal (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"gone in-sync 0", "kept healed 1"}, sw.results()); diff != "" {
		t.Errorf("drift results, heal (-want +got):\n%s", diff)
	}
	if _, batch, _ := sw.mapping("kept"); batch != 9 {
		t.Errorf("healed: kept's BatchSize %d, want 9", batch)
	}
	if got := sw.Log.Grep(branch.CaughtUpLogMessage); len(got) != 1 {
		t.Errorf("the branch caught up again by the second sweep: %q", got)
	}
}

// Through the real handler: gone's file moved to another path (its
// BatchSize changed) in deployertest.C2, whose push is lost. One heal sweep indexes the
// move as the push would have (the old path's declaration removed, the
// new path's added, in one catch-up) and the check applies the new file:
// the function is never unwired (its mapping keeps its UUID).
func TestSweep_CodeCommitMoveLost_WiredFromNewPath_Fake(t *testing.T) {
	sw, repo, _ := newRepoSweepWorld(t)
	ctx := context.Background()
	uuid, _, _ := sw.mapping("gone")
	repo.Update(func() { // no event delivered
		repo.Parents[deployertest.C2] = []string{deployertest.C1}
		repo.Trees[deployertest.C2] = map[string]string{movedPath: queueFile("gone", 6), keptPath: queueFile("kept", 5)}
		repo.Refs[headRef] = deployertest.C2
	})

	if diff := cmp.Diff([]string{"gone declared", "kept declared"}, sw.sweep(sw.handler(true))); diff != "" {
		t.Errorf("sweep messages (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"gone healed 1", "kept in-sync 0"}, sw.results()); diff != "" {
		t.Errorf("drift results (-want +got):\n%s", diff)
	}
	if got, want := sw.declaredBy(t, "gone"), "codecommit://definitions/"+movedPath+"@"+deployertest.C2; got != want {
		t.Errorf("gone declared by %s, want %s", got, want)
	}
	if st, err := sw.Store.SourceState(ctx, records.CodeCommitSource("definitions", headRef, gonePath, "")); err != nil || !st.Deleted {
		t.Errorf("old path's source: deleted %v (%v), want its removal indexed", st.Deleted, err)
	}
	if n := sw.mappings("gone"); n != 1 {
		t.Fatalf("gone has %d mappings, want 1", n)
	}
	if got, batch, _ := sw.mapping("gone"); got != uuid || batch != 6 {
		t.Errorf("gone's mapping: %s BatchSize %d, want %s (never unwired) BatchSize 6", got, batch, uuid)
	}
}

// A configured branch that no longer exists (GetBranch answers
// BranchDoesNotExistException) is logged and skipped: the sweep's start
// still catches up the other branch and enqueues every function.
func TestSweep_CodeCommitBranchGone_OthersCaughtUp_Fake(t *testing.T) {
	sw, repo, _ := newRepoSweepWorld(t)
	// release is in no ref: deleted.
	sw.Config.CodeCommit.Branches = []string{"release", "main"}
	repo.Update(func() { // no event delivered
		repo.Parents[deployertest.C2] = []string{deployertest.C1}
		repo.Trees[deployertest.C2] = map[string]string{gonePath: queueFile("gone", 5), keptPath: queueFile("kept", 9)}
		repo.Refs[headRef] = deployertest.C2
	})

	sw.start(sw.handler(false))
	if got := sw.Log.Grep("configured branch does not exist"); len(got) != 1 || !strings.Contains(got[0], "branch=release") {
		t.Errorf("log lines of the missing branch: %q", got)
	}
	if got, want := sw.declaredBy(t, "kept"), "codecommit://definitions/"+keptPath+"@"+deployertest.C2; got != want {
		t.Errorf("kept declared by %s, want %s (main caught up)", got, want)
	}
	if diff := cmp.Diff([]string{"gone declared", "kept declared"}, sw.drain(sw.handler(false))); diff != "" {
		t.Errorf("sweep messages (-want +got):\n%s", diff)
	}
}
