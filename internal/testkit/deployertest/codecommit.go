package deployertest

import (
	"encoding/base64"
	"encoding/json"
	"sort"
	"strconv"
	"sync"
	"testing"
)

// FakeRepo is a CodeCommit repository: commits with their parents and the
// whole tree at each. Served by newCodeCommitServer over the JSON protocol.
type FakeRepo struct {
	Name    string
	Parents map[string][]string
	Trees   map[string]map[string]string
	// PageSize of GetDifferences answers.
	PageSize int
	// Refs are the references (refs/heads/main) and the commit each
	// points at: GetFile resolves a commit specifier that names one, as
	// CodeCommit does, and GetBranch answers from them. Without Refs, every
	// branch's head is the repository's one tip commit.
	Refs map[string]string
	// GetFileFault, if set, is GetFile's answer (an awsError, or another
	// error: a 500).
	GetFileFault error
	// GetBranchFault, if set, is GetBranch's answer.
	GetBranchFault error
	// mu is held while the server answers, and by Update.
	mu sync.Mutex
}

// Update changes the repository while its server may be answering.
func (r *FakeRepo) Update(change func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	change()
}

// NewCodeCommitServer serves repo over CodeCommit's JSON protocol.
func NewCodeCommitServer(t *testing.T, repo *FakeRepo) *JSONServer {
	ops := map[string]func(map[string]any) (any, error){
		"GetCommit":      repo.getCommit,
		"GetFile":        repo.getFile,
		"GetBranch":      repo.getBranch,
		"GetDifferences": repo.getDifferences,
	}
	return NewJSONServer(t, "CodeCommit_20150413", repo.locked(ops))
}

// str is the string at k of a request.
func str(in map[string]any, k string) string { s, _ := in[k].(string); return s }

// checkRepo fails a request for another repository.
func (r *FakeRepo) checkRepo(in map[string]any) error {
	if got := str(in, "repositoryName"); got != r.Name {
		return AWSError{Type: "RepositoryDoesNotExistException", Message: got + " does not exist"}
	}
	return nil
}

func (r *FakeRepo) getCommit(in map[string]any) (any, error) {
	if err := r.checkRepo(in); err != nil {
		return nil, err
	}
	id := str(in, "commitId")
	parents, ok := r.Parents[id]
	if !ok {
		return nil, AWSError{Type: "CommitIdDoesNotExistException", Message: id}
	}
	return map[string]any{"commit": map[string]any{"commitId": id, "parents": parents, "message": "change " + id, "treeId": "t" + id}}, nil
}

func (r *FakeRepo) getFile(in map[string]any) (any, error) {
	if err := r.checkRepo(in); err != nil {
		return nil, err
	}
	if r.GetFileFault != nil {
		return nil, r.GetFileFault
	}
	commit, p := str(in, "commitSpecifier"), str(in, "filePath")
	if c, ok := r.Refs[commit]; ok {
		commit = c
	}
	content, ok := r.Trees[commit][p]
	if !ok {
		return nil, AWSError{Type: "FileDoesNotExistException", Message: p + " does not exist at " + commit}
	}
	return map[string]any{
		"commitId": commit, "blobId": "b" + p, "filePath": p, "fileMode": "NORMAL",
		"fileSize": len(content), "fileContent": base64.StdEncoding.EncodeToString([]byte(content)),
	}, nil
}

// getBranch answers from Refs (refs/heads/NAME).
func (r *FakeRepo) getBranch(in map[string]any) (any, error) {
	if err := r.checkRepo(in); err != nil {
		return nil, err
	}
	if r.GetBranchFault != nil {
		return nil, r.GetBranchFault
	}
	name := str(in, "branchName")
	commit, ok := r.Refs["refs/heads/"+name]
	if !ok && r.Refs == nil {
		commit, ok = r.tip()
	}
	if !ok {
		return nil, AWSError{Type: "BranchDoesNotExistException", Message: name + " does not exist"}
	}
	return map[string]any{"branch": map[string]any{"branchName": name, "commitId": commit}}, nil
}

// tip is the repository's one commit that no other commit has as a
// parent: the head of every branch of a repository whose test set no Refs
// (its pushes go one way). False when there is none, or several.
func (r *FakeRepo) tip() (string, bool) {
	isParent := map[string]bool{}
	for _, ps := range r.Parents {
		for _, p := range ps {
			isParent[p] = true
		}
	}
	var tips []string
	for c := range r.Parents {
		if !isParent[c] {
			tips = append(tips, c)
		}
	}
	if len(tips) != 1 {
		return "", false
	}
	return tips[0], true
}

func (r *FakeRepo) getDifferences(in map[string]any) (any, error) {
	if err := r.checkRepo(in); err != nil {
		return nil, err
	}
	before, after := r.Trees[str(in, "beforeCommitSpecifier")], r.Trees[str(in, "afterCommitSpecifier")]
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
	end := min(start+r.PageSize, len(diffs))
	out := map[string]any{"differences": diffs[start:end]}
	if end < len(diffs) {
		out["NextToken"] = strconv.Itoa(end)
	}
	return out, nil
}

// locked runs each operation under the repository's lock, so that a test
// may change it (Update) while the server answers.
func (r *FakeRepo) locked(ops map[string]func(map[string]any) (any, error)) map[string]func(map[string]any) (any, error) {
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
	C1 = "1111111111111111111111111111111111111111"
	C2 = "2222222222222222222222222222222222222222"
	C3 = "3333333333333333333333333333333333333333"
)

const (
	C4 = "4444444444444444444444444444444444444444"
	C5 = "5555555555555555555555555555555555555555"
)

// RepoWorld is a world whose CodeCommit client talks to a fake repository
// (moto has no CodeCommit): the real handler and reconciler on moto.
func RepoWorld(t *testing.T, repo *FakeRepo, functions, variants []string) (*World, *JSONServer) {
	t.Helper()
	js := NewCodeCommitServer(t, repo)
	e := NewEnv(t)
	e.CodeCommitURL = js.URL
	return e.World(t, "", functions, variants), js
}

// PushedEvent is the EventBridge event of a push of commit over old.
func PushedEvent(t *testing.T, commit, old string) json.RawMessage {
	return Event(t, "codecommit-eventbridge.json", map[string]string{"Commit": commit, "Old": old, "Event": "referenceUpdated"})
}
