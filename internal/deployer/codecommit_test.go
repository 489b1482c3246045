package deployer_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/eventwire/eventwire/internal/testkit/deployertest"
	"github.com/google/go-cmp/cmp"
)

// fakeRepo is a CodeCommit repository: commits with their parents and the
// whole tree at each. Served by newCodeCommitServer over the JSON protocol.
type fakeRepo struct {
	name    string
	parents map[string][]string
	trees   map[string]map[string]string
	// pageSize of GetDifferences answers.
	pageSize int
	// refs are the references (refs/heads/main) and the commit each
	// points at: GetFile resolves a commit specifier that names one, as
	// CodeCommit does.
	refs map[string]string
	// getFileFault, if set, is GetFile's answer (an awsError, or another
	// error: a 500).
	getFileFault error
	// getBranchFault, if set, is GetBranch's answer.
	getBranchFault error
	// mu is held while the server answers, and by update.
	mu sync.Mutex
}

// update changes the repository while its server may be answering.
func (r *fakeRepo) update(change func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	change()
}

func newCodeCommitServer(t *testing.T, repo *fakeRepo) *deployertest.JSONServer {
	str := func(in map[string]any, k string) string { s, _ := in[k].(string); return s }
	checkRepo := func(in map[string]any) error {
		if got := str(in, "repositoryName"); got != repo.name {
			return deployertest.AWSError{Type: "RepositoryDoesNotExistException", Message: got + " does not exist"}
		}
		return nil
	}
	ops := map[string]func(map[string]any) (any, error){
		"GetCommit": func(in map[string]any) (any, error) {
			if err := checkRepo(in); err != nil {
				return nil, err
			}
			id := str(in, "commitId")
			parents, ok := repo.parents[id]
			if !ok {
				return nil, deployertest.AWSError{Type: "CommitIdDoesNotExistException", Message: id}
			}
			return map[string]any{"commit": map[string]any{"commitId": id, "parents": parents, "message": "change " + id, "treeId": "t" + id}}, nil
		},
		"GetFile": func(in map[string]any) (any, error) {
			if err := checkRepo(in); err != nil {
				return nil, err
			}
			if repo.getFileFault != nil {
				return nil, repo.getFileFault
			}
			commit, p := str(in, "commitSpecifier"), str(in, "filePath")
			if c, ok := repo.refs[commit]; ok {
				commit = c
			}
			content, ok := repo.trees[commit][p]
			if !ok {
				return nil, deployertest.AWSError{Type: "FileDoesNotExistException", Message: p + " does not exist at " + commit}
			}
			return map[string]any{
				"commitId": commit, "blobId": "b" + p, "filePath": p, "fileMode": "NORMAL",
				"fileSize": len(content), "fileContent": base64.StdEncoding.EncodeToString([]byte(content)),
			}, nil
		},
		// GetBranch answers from refs (refs/heads/NAME).
		"GetBranch": func(in map[string]any) (any, error) {
			if err := checkRepo(in); err != nil {
				return nil, err
			}
			if repo.getBranchFault != nil {
				return nil, repo.getBranchFault
			}
			name := str(in, "branchName")
			commit, ok := repo.refs["refs/heads/"+name]
			if !ok {
				return nil, deployertest.AWSError{Type: "BranchDoesNotExistException", Message: name + " does not exist"}
			}
			return map[string]any{"branch": map[string]any{"branchName": name, "commitId": commit}}, nil
		},
		"GetDifferences": func(in map[string]any) (any, error) {
			if err := checkRepo(in); err != nil {
				return nil, err
			}
			before, after := repo.trees[str(in, "beforeCommitSpecifier")], repo.trees[str(in, "afterCommitSpecifier")]
			var diffs []map[string]any
			blob := func(p string) map[string]any { return map[string]any{"blobId": "b" + p, "path": p, "mode": "100644"} }
			var paths []string
			for p := range before {
				paths = append(paths, p)
			}
			for p := range after {
				if _, ok := before[p]; !ok {
					paths = append(paths, p)
				}
			}
			sort.Strings(paths)
			for _, p := range paths {
				b, inBefore := before[p]
				a, inAfter := after[p]
				switch {
				case inBefore && !inAfter:
					diffs = append(diffs, map[string]any{"beforeBlob": blob(p), "changeType": "D"})
				case !inBefore && inAfter:
					diffs = append(diffs, map[string]any{"afterBlob": blob(p), "changeType": "A"})
				case a != b:
					diffs = append(diffs, map[string]any{"beforeBlob": blob(p), "afterBlob": blob(p), "changeType": "M"})
				}
			}
			start, _ := strconv.Atoi(str(in, "NextToken"))
			end := min(start+repo.pageSize, len(diffs))
			out := map[string]any{"differences": diffs[start:end]}
			if end < len(diffs) {
				out["NextToken"] = strconv.Itoa(end)
			}
			return out, nil
		},
	}
	return deployertest.NewJSONServer(t, "CodeCommit_20150413", repo.locked(ops))
}

// locked runs each operation under the repository's lock, so that a test
// may change it (update) while the server answers.
func (r *fakeRepo) locked(ops map[string]func(map[string]any) (any, error)) map[string]func(map[string]any) (any, error) {
	out := map[string]func(map[string]any) (any, error){}
	for name, op := range ops {
		out[name] = func(in map[string]any) (any, error) {
			r.mu.Lock()
			defer r.mu.Unlock()
			return op(in)
		}
	}
	return out
}

const (
	c1 = "1111111111111111111111111111111111111111"
	c2 = "2222222222222222222222222222222222222222"
	c3 = "3333333333333333333333333333333333333333"
)

func TestCodeCommit_AppliesChangedFilesAtTheCommit(t *testing.T) {
	e := deployertest.NewEnv(t)
	repo := &fakeRepo{
		name:     "definitions",
		pageSize: 2,
		parents:  map[string][]string{c1: {}, c2: {c1}, c3: {c2}},
		trees: map[string]map[string]string{
			c1: {
				"README.md":                            "# definitions",
				"legacy/_lambdaeventsourcedef.json":    deployertest.SQSFile("legacy", "legacy", 10),
				"inventory/_lambdaeventsourcedef.json": deployertest.SQSFile("inventory", "inventory", 5),
				"old/_lambdaeventsourcedef.json":       deployertest.SQSFile("shipping", "shipping", 5),
			},
			c2: {
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
	repo.trees[c3] = map[string]string{}
	for p, c := range repo.trees[c2] {
		repo.trees[c3][p] = c
	}
	repo.trees[c3]["README.md"] = "# no definition changed"
	e.Deployer.Seed("legacy", "wired at c1")
	e.Deployer.Seed("shipping", "wired at c1")

	js := newCodeCommitServer(t, repo)
	e.Config.CodeCommit = e.CodeCommit(js)
	if err := e.NewHandler().Handle(context.Background(), deployertest.Event(t, "codecommit-push.json", map[string]string{"Commit": c2, "Next": c3})); err != nil {
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
	// Only the three operations the deployer is allowed.
	for _, op := range js.Ops() {
		if op != "GetCommit" && op != "GetDifferences" && op != "GetFile" {
			t.Errorf("unexpected operation %s", op)
		}
	}

	if diff := cmp.Diff([]string{"succeeded apply codecommit://definitions/team a/orders/_lambdaeventsourcedef.json@" + c2}, e.Outcomes("orders")); diff != "" {
		t.Errorf("orders records (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"succeeded destroy codecommit://definitions/legacy/_lambdaeventsourcedef.json@" + c2}, e.Outcomes("legacy")); diff != "" {
		t.Errorf("legacy records (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"invalid apply codecommit://definitions/bad/_lambdaeventsourcedef.json@" + c2}, e.Outcomes("bad")); diff != "" {
		t.Errorf("bad records (-want +got):\n%s", diff)
	}
	if got := e.Log.Grep("commit changes no definition file"); len(got) != 1 || !strings.Contains(got[0], c3) {
		t.Errorf("log for the commit without definitions: %q", got)
	}
}

// A failure reading the repository is returned, so that Lambda retries.
func TestCodeCommit_AWSFailureReturned(t *testing.T) {
	e := deployertest.NewEnv(t)
	repo := &fakeRepo{name: "another-repo", pageSize: 10, parents: map[string][]string{}, trees: map[string]map[string]string{}}
	e.Config.CodeCommit = e.CodeCommit(newCodeCommitServer(t, repo))
	err := e.NewHandler().Handle(context.Background(), deployertest.Event(t, "codecommit-push.json", map[string]string{"Commit": c2, "Next": c3}))
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
	repo := func() *fakeRepo {
		return &fakeRepo{
			name:     "definitions",
			pageSize: 10,
			parents:  map[string][]string{c1: {}, c2: {c1}, c3: {c2}},
			trees: map[string]map[string]string{
				c1: {"README.md": "# definitions"},
				// The push's first commit adds the file ...
				c2: {"README.md": "# definitions", "orders/_lambdaeventsourcedef.json": deployertest.SQSFile("orders", "orders", 5)},
				// ... its tip only edits the README.
				c3: {"README.md": "# edited", "orders/_lambdaeventsourcedef.json": deployertest.SQSFile("orders", "orders", 5)},
			},
		}
	}
	type vars struct{ Commit, Old, Event string }
	tests := []struct {
		name string
		v    vars
		want []string
	}{
		{"push of two commits", vars{c3, c1, "referenceUpdated"}, []string{"plan orders", "apply orders"}},
		{"all-zero old commit is none", vars{c2, "0000000000000000000000000000000000000000", "referenceUpdated"}, []string{"plan orders", "apply orders"}},
		{"new branch: the tip since its parent", vars{c3, "", "referenceCreated"}, nil},
		{"deleted branch", vars{"", c3, "referenceDeleted"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := deployertest.NewEnv(t)
			e.Config.CodeCommit = e.CodeCommit(newCodeCommitServer(t, repo()))
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
	repo := &fakeRepo{
		name:     "definitions",
		pageSize: 10,
		parents:  map[string][]string{c1: {}, c2: {c1}},
		trees: map[string]map[string]string{
			c1: {},
			c2: {
				"a/_lambdaeventsourcedef.json": deployertest.SQSFile("orders", "orders", 5),
				"b/_lambdaeventsourcedef.json": deployertest.SQSFile("orders", "orders-2", 5),
			},
		},
	}
	e.Config.CodeCommit = e.CodeCommit(newCodeCommitServer(t, repo))
	if err := e.NewHandler().Handle(context.Background(), deployertest.Event(t, "codecommit-eventbridge.json",
		map[string]string{"Commit": c2, "Old": c1, "Event": "referenceUpdated"})); err != nil {
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
		"conflict codecommit://definitions/b/_lambdaeventsourcedef.json@" + c2 + " codecommit://definitions/a/_lambdaeventsourcedef.json@" + c2,
		"succeeded codecommit://definitions/a/_lambdaeventsourcedef.json@" + c2 + " ",
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
	repo := &fakeRepo{
		name:     "definitions",
		pageSize: 10,
		parents:  map[string][]string{c1: {}, c2: {c1}, c3: {c2}},
		trees: map[string]map[string]string{
			c1: {"legacy/_lambdaeventsourcedef.json": deployertest.SQSFile("legacy", "legacy", 1)},
			c2: {"orders/_lambdaeventsourcedef.json": deployertest.SQSFile("orders", "orders", 5)},
			c3: {"orders/_lambdaeventsourcedef.json": deployertest.SQSFile("orders", "orders", 5), "README.md": "# definitions"},
		},
	}
	e.Deployer.Seed("legacy", "wired at c1")
	js := newCodeCommitServer(t, repo)
	e.Config.CodeCommit = e.CodeCommit(js)
	ev := deployertest.Event(t, "codecommit-eventbridge.json", map[string]string{"Commit": c3, "Old": c1, "Event": "referenceUpdated"})
	if err := e.NewHandler().Handle(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"plan-destroy legacy", "apply legacy", "plan orders", "apply orders"}, e.Deployer.Calls()); diff != "" {
		t.Errorf("deployer calls (-want +got):\n%s", diff)
	}
	for _, r := range js.Requests() {
		if r.Op == "GetDifferences" && r.Body["beforeCommitSpecifier"] != c1 {
			t.Errorf("GetDifferences from %v, want the old commit %s", r.Body["beforeCommitSpecifier"], c1)
		}
	}
}
