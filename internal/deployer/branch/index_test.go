package branch_test

import (
	"strings"
	"testing"

	"github.com/eventwire/eventwire/internal/deployer/branch"
	"github.com/eventwire/eventwire/internal/records"
	"github.com/eventwire/eventwire/internal/testkit/deployertest"
)

// A move across two pushes: the first adds the copy (a conflict while the
// old file is live), the second deletes the old file: the copy is applied,
// and the function is never torn down. An older push delivered again
// afterwards changes nothing; so does the last one delivered again.
func TestCodeCommit_MoveAcrossTwoPushes(t *testing.T) {
	repo := &deployertest.FakeRepo{Name: "definitions", PageSize: 10, Parents: map[string][]string{deployertest.C1: {}, deployertest.C2: {deployertest.C1}, deployertest.C3: {deployertest.C2}}}
	w, _ := deployertest.RepoWorld(t, repo, []string{"orders"}, []string{"a", "b"})
	a, b := w.File("orders", "a"), w.File("orders", "b")
	repo.Trees = map[string]map[string]string{deployertest.C1: {"team-a/orders/_lambdaeventsourcedef.json": a}, deployertest.C2: {"team-a/orders/_lambdaeventsourcedef.json": a, "team-b/orders/_lambdaeventsourcedef.json": b}, deployertest.C3: {"team-b/orders/_lambdaeventsourcedef.json": b}}
	w.Deliver(deployertest.PushedEvent(t, deployertest.C1, ""))
	w.CheckWiring("first push", map[string]string{"orders": "a"})
	w.Deliver(deployertest.PushedEvent(t, deployertest.C2, deployertest.C1))
	w.CheckWiring("the copy pushed", map[string]string{"orders": "a"})
	if got := w.History("orders")[0]; got.Outcome != records.Conflict || !strings.Contains(got.Source, "team-b/") || !strings.Contains(got.DeclaredBy, "team-a/") {
		t.Errorf("record of the copy: %s %s declared by %s, want a conflict", got.Outcome, got.Source, got.DeclaredBy)
	}
	w.Deliver(deployertest.PushedEvent(t, deployertest.C3, deployertest.C2))
	w.CheckWiring("the old file deleted", map[string]string{"orders": "b"})
	for _, r := range w.History("orders") {
		if r.Mode == records.ModeDestroy {
			t.Errorf("torn down: %s %s", r.Outcome, r.Source)
		}
	}

	w.Calls.Reset()
	w.Deliver(deployertest.PushedEvent(t, deployertest.C2, deployertest.C1), deployertest.PushedEvent(t, deployertest.C3, deployertest.C2))
	if writes := deployertest.LambdaWrites(w.Calls.Writes()); len(writes) != 0 {
		t.Errorf("the pushes delivered again wrote to AWS: %v", writes)
	}
	w.CheckWiring("the pushes delivered again", map[string]string{"orders": "b"})
	if got := w.Log.Grep("skipped push: the branch's last indexed commit already contains it"); len(got) != 1 || !strings.Contains(got[0], deployertest.C2) {
		t.Errorf("log lines of the older push: %q", got)
	}
}

// git mv in one push: one convergence of the function, from the new path.
func TestCodeCommit_MoveInOnePush(t *testing.T) {
	repo := &deployertest.FakeRepo{Name: "definitions", PageSize: 1, Parents: map[string][]string{deployertest.C1: {}, deployertest.C2: {deployertest.C1}}}
	w, _ := deployertest.RepoWorld(t, repo, []string{"orders"}, []string{"a", "b"})
	repo.Trees = map[string]map[string]string{deployertest.C1: {"old/_lambdaeventsourcedef.json": w.File("orders", "a")}, deployertest.C2: {"new/_lambdaeventsourcedef.json": w.File("orders", "b")}}
	w.Deliver(deployertest.PushedEvent(t, deployertest.C1, ""), deployertest.PushedEvent(t, deployertest.C2, deployertest.C1))
	w.CheckWiring("after the move", map[string]string{"orders": "b"})
	var got []string
	for _, r := range w.History("orders") {
		got = append(got, string(r.Outcome)+" "+string(r.Mode)+" "+r.Source)
	}
	want := []string{
		"succeeded apply codecommit://definitions/new/_lambdaeventsourcedef.json@" + deployertest.C2,
		"succeeded apply codecommit://definitions/old/_lambdaeventsourcedef.json@" + deployertest.C1,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("records:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// Ordering per branch: a repository trigger (no old commit) for a commit
// that does not descend from the last indexed one is skipped and logged;
// a push that says it moved the branch from the last indexed commit (a
// force push, reported by EventBridge) is applied from there. Pushes that
// were never delivered are covered by the next one: its changes are
// counted from the last indexed commit.
func TestCodeCommit_BranchOrdering(t *testing.T) {
	repo := &deployertest.FakeRepo{Name: "definitions", PageSize: 10, Parents: map[string][]string{deployertest.C1: {}, deployertest.C2: {deployertest.C1}, deployertest.C3: {deployertest.C2}, deployertest.C4: {deployertest.C1}, deployertest.C5: {deployertest.C1}}}
	w, _ := deployertest.RepoWorld(t, repo, []string{"orders", "inventory"}, []string{"a", "b", "c", "d"})
	repo.Trees = map[string]map[string]string{deployertest.C1: {"orders/_lambdaeventsourcedef.json": w.File("orders", "a")}, deployertest.C2: {"orders/_lambdaeventsourcedef.json": w.File("orders", "b")}, deployertest.C3: {"orders/_lambdaeventsourcedef.json": w.File("orders", "b"), "inventory/_lambdaeventsourcedef.json": w.File("inventory", "c")}, deployertest.C4: {"orders/_lambdaeventsourcedef.json": w.File("orders", "d")}, deployertest.C5: {"inventory/_lambdaeventsourcedef.json": w.File("inventory", "d")}}
	// The branch's head as CodeCommit reports it, moved as each push does.
	head := func(c string) { repo.Update(func() { repo.Refs = map[string]string{"refs/heads/main": c} }) }
	head(deployertest.C1)
	w.Deliver(deployertest.PushedEvent(t, deployertest.
		// c2's push is lost; c3's trigger names only c3.
		C1, ""))

	head(deployertest.C3)
	w.Deliver(deployertest.Event(t, "codecommit-push.json", map[string]string{"Commit": deployertest.C3, "Next": deployertest.C3}))
	w.CheckWiring("after c3", map[string]string{"orders": "b", "inventory": "c"})
	// A rewritten history, told by a trigger: skipped.
	head(deployertest.C4)
	w.Deliver(deployertest.Event(t, "codecommit-push.json", map[string]string{"Commit": deployertest.C4, "Next": deployertest.C4}))
	w.CheckWiring("after the trigger for c4", map[string]string{"orders": "b", "inventory": "c"})
	if got := w.Log.Grep("skipped push: the branch's last indexed commit is not among"); len(got) != 2 {
		t.Errorf("log lines of the skipped pushes: %q", got)
	}
	// A force push from c3 to c5, told by EventBridge: applied.
	head(deployertest.C5)
	w.Deliver(deployertest.PushedEvent(t, deployertest.C5, deployertest.C3))
	w.CheckWiring("after the force push", map[string]string{"inventory": "d"})
}

// A forged event claiming main moved to a commit that exists only on a
// feature branch (unreviewed) is refused: it is neither main's head nor
// one of its ancestors (GetBranch). Nothing is indexed or applied, and the
// real next push is then applied, not skipped as "not a descendant".
func TestCodeCommit_ForgedCommitNotOnTheBranch_Refused(t *testing.T) {
	repo := &deployertest.FakeRepo{Name: "definitions", PageSize: 10, Parents: map[string][]string{
		deployertest.C1: {}, deployertest.C2: {deployertest.C1}, deployertest.C3: {deployertest.C1}, deployertest.C4: {deployertest.C2},
	}}
	w, _ := deployertest.RepoWorld(t, repo, []string{"orders"}, []string{"a", "b", "x"})
	repo.Trees = map[string]map[string]string{
		deployertest.C1: {},
		deployertest.C2: {"orders/_lambdaeventsourcedef.json": w.File("orders", "a")},
		deployertest.C3: {"orders/_lambdaeventsourcedef.json": w.File("orders", "x")}, // feature branch only
		deployertest.C4: {"orders/_lambdaeventsourcedef.json": w.File("orders", "b")},
	}
	repo.Refs = map[string]string{"refs/heads/main": deployertest.C2, "refs/heads/feature": deployertest.C3}
	w.Deliver(deployertest.PushedEvent(t, deployertest.C2, ""))
	w.CheckWiring("main at c2", map[string]string{"orders": "a"})

	w.Deliver(deployertest.PushedEvent(t, deployertest.C3, deployertest.C2))
	w.CheckWiring("after the forged event", map[string]string{"orders": "a"})
	if got := w.Log.Grep(branch.NotOnBranchLogMessage); len(got) != 1 || !strings.Contains(got[0], deployertest.C3) {
		t.Errorf("log lines %q: %q, want one naming the forged commit", branch.NotOnBranchLogMessage, got)
	}

	repo.Update(func() { repo.Refs["refs/heads/main"] = deployertest.C4 })
	w.Deliver(deployertest.PushedEvent(t, deployertest.C4, deployertest.C2))
	w.CheckWiring("after the real push", map[string]string{"orders": "b"})
}
