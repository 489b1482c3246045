package branch_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/eventwire/eventwire/internal/testkit/deployertest"
)

func TestCodeCommit_AppliesChangedFilesAtTheCommit(t *testing.T) {
	e := deployertest.NewEnv(t)
	repo := &deployertest.FakeRepo{
		Name:     "definitions",
		PageSize: 2,
		Parents:  map[string][]string{deployertest.C1: {}, deployertest.C2: {deployertest.C1}, deployertest.C3: {deployertest.C2}},
		Trees: map[string]map[string]string{deployertest.C1: {
			"README.md":                            "# definitions",
			"legacy/_lambdaeventsourcedef.json":    deployertest.SQSFile("legacy", "legacy", 10),
			"inventory/_lambdaeventsourcedef.json": deployertest.SQSFile("inventory", "inventory", 5),
			"old/_lambdaeventsourcedef.json":       deployertest.SQSFile("shipping", "shipping", 5),
		}, deployertest.C2: {
			"README.md": "# definitions, now with orders",
			// Added, with the function named by the sibling.
			"team a/orders/_lambdaeventsourcedef.json": `{"PullEventSources":{"EventSourceMapping":{"EventSourceArn":"arn:aws:sqs:us-east-1:123456789012:orders"}}}`,
			"team a/orders/_lambdadef.json":            `{"FunctionName":"orders"}`,
			// Modified.
			"inventory/_lambdaeventsourcedef.json": deployertest.SQSFile("inventory", "inventory", 7),
			// legacy deleted; shipping moved from old/ to new/.
			"new/_lambdaeventsourcedef.json": deployertest.SQSFile("shipping", "shipping", 5),
			// Added and invalid: recorded, the others still applied.
			"bad/_lambdaeventsourcedef.json": `{"FunctionName":"bad","PullEventSorces":{}}`,
		},
		},
	}
	repo.Trees[deployertest.C3] = map[string]string{}
	for p, c := range repo.Trees[deployertest.C2] {
		repo.Trees[deployertest.C3][p] = c
	}
	repo.Trees[deployertest.C3]["README.md"] = "# no definition changed"
	e.Deployer.Seed("legacy", "wired at c1")
	e.Deployer.Seed("shipping", "wired at c1")

	js := deployertest.NewCodeCommitServer(t, repo)
	e.Config.CodeCommit.API = e.CodeCommit(js)
	if err := e.NewHandler().Handle(context.Background(), deployertest.Event(t, "codecommit-push.json", map[string]string{"Commit": deployertest.C2, "Next": deployertest.C3})); err != nil {
		t.Fatal(err)
	}

	want := []string{
		// One convergence per function, by name; shipping's file moved, so
		// it is applied from its new path, not torn down.
		"plan inventory", "apply inventory",
		"plan-destroy legacy", "apply legacy",
		"plan orders", "apply orders",
		"plan shipping", "apply shipping",
	}
	if diff := cmp.Diff(want, e.Deployer.Calls()); diff != "" {
		t.Errorf("deployer calls (-want +got):\n%s", diff)
	}
	if got := e.Deployer.Applied()["inventory"]; !strings.Contains(got, `"BatchSize":7`) {
		t.Errorf("inventory applied %s, want the file at the commit (BatchSize 7)", got)
	}
	if _, ok := e.Deployer.Applied()["legacy"]; ok {
		t.Error("legacy not torn down")
	}

	// Every page of differences was read, for both commits.
	var diffReqs []string
	for _, r := range js.Requests() {
		if r.Op == "GetDifferences" {
			diffReqs = append(diffReqs, fmt.Sprintf("%v..%v next=%v", r.Body["beforeCommitSpecifier"], r.Body["afterCommitSpecifier"], r.Body["NextToken"]))
		}
	}
	wantDiffs := []string{
		"1111111111111111111111111111111111111111..2222222222222222222222222222222222222222 next=<nil>",
		"1111111111111111111111111111111111111111..2222222222222222222222222222222222222222 next=2",
		"1111111111111111111111111111111111111111..2222222222222222222222222222222222222222 next=4",
		"1111111111111111111111111111111111111111..2222222222222222222222222222222222222222 next=6",
		"2222222222222222222222222222222222222222..3333333333333333333333333333333333333333 next=<nil>",
	}
	if diff := cmp.Diff(wantDiffs, diffReqs); diff != "" {
		t.Errorf("GetDifferences requests (-want +got):\n%s", diff)
	}
	// Only the operations the deployer is allowed (GetBranch: the pushed
	// commit must be on the branch).
	for _, op := range js.Ops() {
		if op != "GetCommit" && op != "GetDifferences" && op != "GetFile" && op != "GetBranch" {
			t.Errorf("unexpected operation %s", op)
		}
	}

	if diff := cmp.Diff([]string{"succeeded apply codecommit://definitions/team a/orders/_lambdaeventsourcedef.json@" + deployertest.C2}, e.Outcomes("orders")); diff != "" {
		t.Errorf("orders records (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"succeeded destroy codecommit://definitions/legacy/_lambdaeventsourcedef.json@" + deployertest.C2}, e.Outcomes("legacy")); diff != "" {
		t.Errorf("legacy records (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"invalid apply codecommit://definitions/bad/_lambdaeventsourcedef.json@" + deployertest.C2}, e.Outcomes("bad")); diff != "" {
		t.Errorf("bad records (-want +got):\n%s", diff)
	}
	if got := e.Log.Grep("commit changes no definition file"); len(got) != 1 || !strings.Contains(got[0], deployertest.C3) {
		t.Errorf("log for the commit without definitions: %q", got)
	}
}

// A failure reading the repository is returned, so that Lambda retries.
func TestCodeCommit_AWSFailureReturned(t *testing.T) {
	e := deployertest.NewEnv(t)
	repo := &deployertest.FakeRepo{Name: "another-repo", PageSize: 10, Parents: map[string][]string{}, Trees: map[string]map[string]string{}}
	e.Config.CodeCommit.API = e.CodeCommit(deployertest.NewCodeCommitServer(t, repo))
	err := e.NewHandler().Handle(context.Background(), deployertest.Event(t, "codecommit-push.json", map[string]string{"Commit": deployertest.C2, "Next": deployertest.C3}))
	if err == nil || !strings.Contains(err.Error(), "RepositoryDoesNotExistException") {
		t.Fatalf("err = %v, want the CodeCommit error", err)
	}
}

// TestCodeCommit_EventBridgeStateChange: the stack's EventBridge rule
// delivers CodeCommit's "Repository State Change" event as is. It names the
// commit the branch pointed at before the push, so a push of several
// commits applies the changes of all of them, not only of the tip; a new
// branch (no oldCommitId) applies the tip's changes since its parent; a
// deleted branch does nothing.
func TestCodeCommit_EventBridgeStateChange(t *testing.T) {
	repo := func() *deployertest.FakeRepo {
		return &deployertest.FakeRepo{
			Name:     "definitions",
			PageSize: 10,
			Parents:  map[string][]string{deployertest.C1: {}, deployertest.C2: {deployertest.C1}, deployertest.C3: {deployertest.C2}},
			Trees: map[string]map[string]string{deployertest.C1: {"README.md": "# definitions"}, deployertest.
				// The push's first commit adds the file ...
				C2: {"README.md": "# definitions", "orders/_lambdaeventsourcedef.json": deployertest.SQSFile("orders", "orders", 5)}, deployertest.
				// ... its tip only edits the README.
				C3: {"README.md": "# edited", "orders/_lambdaeventsourcedef.json": deployertest.SQSFile("orders", "orders", 5)},
			},
		}
	}
	type vars struct{ Commit, Old, Event string }
	tests := []struct {
		name string
		v    vars
		want []string
	}{
		{"push of two commits", vars{deployertest.C3, deployertest.C1, "referenceUpdated"}, []string{"plan orders", "apply orders"}},
		{"all-zero old commit is none", vars{deployertest.C2, "0000000000000000000000000000000000000000", "referenceUpdated"}, []string{"plan orders", "apply orders"}},
		{"new branch: the tip since its parent", vars{deployertest.C3, "", "referenceCreated"}, nil},
		{"deleted branch", vars{"", deployertest.C3, "referenceDeleted"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := deployertest.NewEnv(t)
			e.Config.CodeCommit.API = e.CodeCommit(deployertest.NewCodeCommitServer(t, repo()))
			if err := e.NewHandler().Handle(context.Background(), deployertest.Event(t, "codecommit-eventbridge.json", tt.v)); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, e.Deployer.Calls()); diff != "" {
				t.Errorf("deployer calls (-want +got):\n%s", diff)
			}
		})
	}
}

// Two files of one push that declare the same function: one live file per
// function, so the second (by path, both declared at once) is a conflict,
// recorded with the first, and not applied.
func TestCodeCommit_TwoFilesOfOneFunction_SecondIsAConflict(t *testing.T) {
	e := deployertest.NewEnv(t)
	repo := &deployertest.FakeRepo{
		Name:     "definitions",
		PageSize: 10,
		Parents:  map[string][]string{deployertest.C1: {}, deployertest.C2: {deployertest.C1}},
		Trees: map[string]map[string]string{deployertest.C1: {}, deployertest.C2: {
			"a/_lambdaeventsourcedef.json": deployertest.SQSFile("orders", "orders", 5),
			"b/_lambdaeventsourcedef.json": deployertest.SQSFile("orders", "orders-2", 5),
		},
		},
	}
	e.Config.CodeCommit.API = e.CodeCommit(deployertest.NewCodeCommitServer(t, repo))
	if err := e.NewHandler().Handle(context.Background(), deployertest.Event(t, "codecommit-eventbridge.json",
		map[string]string{"Commit": deployertest.C2, "Old": deployertest.C1, "Event": "referenceUpdated"})); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"plan orders", "apply orders"}, e.Deployer.Calls()); diff != "" {
		t.Errorf("deployer calls (-want +got):\n%s", diff)
	}
	if got := e.Deployer.Applied()["orders"]; !strings.Contains(got, "orders\"") || strings.Contains(got, "orders-2") {
		t.Errorf("applied %s, want a/'s file", got)
	}
	hist := e.History("orders")
	var got []string
	for _, r := range hist {
		got = append(got, fmt.Sprintf("%s %s %s", r.Outcome, r.Source, r.DeclaredBy))
	}
	want := []string{
		"conflict codecommit://definitions/b/_lambdaeventsourcedef.json@" + deployertest.C2 + " codecommit://definitions/a/_lambdaeventsourcedef.json@" + deployertest.C2,
		"succeeded codecommit://definitions/a/_lambdaeventsourcedef.json@" + deployertest.C2 + " ",
	}
	sort.Strings(got)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("records (-want +got):\n%s", diff)
	}
}

// With the branch's previous commit in the event (EventBridge's
// oldCommitId), a push of several commits is applied whole: a file added by
// an earlier commit of the push than its tip is applied, one deleted by it
// torn down.
func TestCodeCommit_OldCommit_AppliesEveryCommitOfThePush(t *testing.T) {
	e := deployertest.NewEnv(t)
	repo := &deployertest.FakeRepo{
		Name:     "definitions",
		PageSize: 10,
		Parents:  map[string][]string{deployertest.C1: {}, deployertest.C2: {deployertest.C1}, deployertest.C3: {deployertest.C2}},
		Trees:    map[string]map[string]string{deployertest.C1: {"legacy/_lambdaeventsourcedef.json": deployertest.SQSFile("legacy", "legacy", 1)}, deployertest.C2: {"orders/_lambdaeventsourcedef.json": deployertest.SQSFile("orders", "orders", 5)}, deployertest.C3: {"orders/_lambdaeventsourcedef.json": deployertest.SQSFile("orders", "orders", 5), "README.md": "# definitions"}},
	}
	e.Deployer.Seed("legacy", "wired at c1")
	js := deployertest.NewCodeCommitServer(t, repo)
	e.Config.CodeCommit.API = e.CodeCommit(js)
	ev := deployertest.Event(t, "codecommit-eventbridge.json", map[string]string{"Commit": deployertest.C3, "Old": deployertest.C1, "Event": "referenceUpdated"})
	if err := e.NewHandler().Handle(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"plan-destroy legacy", "apply legacy", "plan orders", "apply orders"}, e.Deployer.Calls()); diff != "" {
		t.Errorf("deployer calls (-want +got):\n%s", diff)
	}
	for _, r := range js.Requests() {
		if r.Op == "GetDifferences" && r.Body["beforeCommitSpecifier"] != deployertest.C1 {
			t.Errorf("GetDifferences from %v, want the old commit %s", r.Body["beforeCommitSpecifier"], deployertest.C1)
		}
	}
}
