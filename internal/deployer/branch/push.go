package branch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codecommit"
	cctypes "github.com/aws/aws-sdk-go-v2/service/codecommit/types"

	"github.com/eventwire/eventwire/internal/definition"
	"github.com/eventwire/eventwire/internal/deployer"
	"github.com/eventwire/eventwire/internal/records"
)

// A push to a branch is one batch: the definition files changed between
// the branch's last indexed commit (or the push's old commit) and the
// pushed commit (the net difference, whatever the commits in between) are
// written to the declaration index first, under the branch's lease, then
// each function they affect converges once, under its own lease. A file
// moved within the push, or across two pushes, then behaves like an S3
// move: never unwired.

// maxAncestry bounds the commits walked to tell whether a pushed commit
// descends from the branch's last indexed one.
const maxAncestry = 500

// pushed is a push being handled.
type pushed struct {
	repo, branch, commit, old string
	log                       *slog.Logger
}

func (p pushed) source(path, commit string) records.Source {
	return records.CodeCommitSource(p.repo, p.branch, path, commit)
}

// pushIndex is what indexing a push leaves to converge.
type pushIndex struct {
	branch records.BranchState
	// files are the push's valid files, by fileKey; batch their source
	// ids; events the source naming, per function, the change that
	// affected it.
	files  map[string]*definition.File
	batch  map[string]bool
	events map[string]string
}

// push indexes a push, then converges the functions pending on its
// branch (its own, and those an earlier push left undone).
func (cc *Source) push(ctx context.Context, repo, branch, commit, old string) error {
	p := pushed{repo: repo, branch: branch, commit: commit, old: old, log: cc.log.With("repository", repo, "ref", branch, "commit", commit)}
	if old == commit {
		p.log.InfoContext(ctx, "reference did not move")
		return nil
	}
	if on, err := cc.onBranch(ctx, p); err != nil || !on {
		return err
	}
	ix, err := cc.indexPushLeased(ctx, p)
	if err != nil {
		return err
	}
	var errs []error
	for _, fn := range ix.branch.Pending.Sorted("") {
		event := ix.events[fn]
		if event == "" {
			event = "codecommit://" + repo + "@" + commit
		}
		err := cc.h.Converge(ctx, deployer.Convergence{
			Trigger: records.TriggerCodeCommit, Fn: fn, Event: event,
			Batch: ix.batch, Files: ix.files, Pending: ix.branch.Pending,
		})
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// indexPushLeased is indexPush under the branch's lease: a push's
// handling, and the sweep's catch-up of a branch whose push was not
// delivered (catchup.go).
func (cc *Source) indexPushLeased(ctx context.Context, p pushed) (pushIndex, error) {
	var ix pushIndex
	var err error
	if lerr := cc.h.WithLease(ctx, records.BranchLease(p.repo, p.branch), p.log, func(ctx context.Context) {
		ix, err = cc.indexPush(ctx, p)
	}); lerr != nil {
		return ix, lerr
	}
	return ix, err
}

// indexPush writes the push's changes to the index, unless the branch's
// last indexed commit is the pushed one (a redelivery) or not one of its
// ancestors (an older push delivered late, or history rewritten: skipped,
// logged). It returns the branch's state afterwards.
func (cc *Source) indexPush(ctx context.Context, p pushed) (pushIndex, error) {
	ix := pushIndex{files: map[string]*definition.File{}, batch: map[string]bool{}, events: map[string]string{}}
	br, err := cc.h.Store().Branch(ctx, p.repo, p.branch)
	if err != nil || br.Commit == p.commit {
		ix.branch = br
		return ix, err
	}
	base, ok, err := cc.pushBase(ctx, p, br.Commit)
	if err != nil || !ok {
		ix.branch = br
		return ix, err
	}
	p.log = p.log.With("since", base)
	changes, affected, err := cc.pushChanges(ctx, p, base, &ix)
	if err != nil {
		return ix, err
	}
	// Pending first: a failure after it converges too much, never too
	// little.
	if err := cc.h.Store().AddPending(ctx, br.Pending, records.NewID(), affected...); err != nil {
		return ix, err
	}
	for _, c := range changes {
		if err := cc.h.Store().Index(ctx, c.prev, c.change); err != nil {
			return ix, err
		}
	}
	if err := cc.h.Store().AdvanceBranch(ctx, p.repo, p.branch, br.Commit, p.commit); err != nil {
		return ix, err
	}
	ix.branch, err = cc.h.Store().Branch(ctx, p.repo, p.branch)
	return ix, err
}

// pushBase is the commit the push's changes are counted from: the
// branch's last indexed commit if the pushed one descends from it (or the
// push says it moved the branch from it); without one, the push's old
// commit, else the pushed commit's first parent. ok is false when the push
// must be skipped.
func (cc *Source) pushBase(ctx context.Context, p pushed, last string) (string, bool, error) {
	switch {
	case last == "" && p.old != "":
		return p.old, true, nil
	case last == "":
		base, err := cc.firstParent(ctx, p.repo, p.commit)
		return base, err == nil, err
	case p.old == last:
		return last, true, nil
	}
	older, err := cc.isAncestor(ctx, p.repo, p.commit, last)
	if err != nil {
		return "", false, err
	}
	if older {
		p.log.InfoContext(ctx, "skipped push: the branch's last indexed commit already contains it", "last", last)
		return "", false, nil
	}
	newer, err := cc.isAncestor(ctx, p.repo, last, p.commit)
	if err != nil || newer {
		return last, newer, err
	}
	p.log.WarnContext(ctx, fmt.Sprintf("skipped push: the branch's last indexed commit is not among the pushed commit's %d nearest ancestors", maxAncestry), "last", last)
	return "", false, nil
}

// NotOnBranchLogMessage is logged (keys repository, ref, commit, head)
// when a push event names a commit that is neither the branch's head nor
// one of its ancestors: a forged event (anyone allowed to invoke the
// deployer can send one) naming, say, a feature branch's unreviewed
// commit. It is refused, final: nothing is indexed or applied.
const NotOnBranchLogMessage = "refused CodeCommit event: the commit is not on the branch"

// onBranch reports whether the pushed commit is the branch's head, as
// CodeCommit says it now (GetBranch), or one of its ancestors; a refusal
// is logged (NotOnBranchLogMessage).
func (cc *Source) onBranch(ctx context.Context, p pushed) (bool, error) {
	name := strings.TrimPrefix(p.branch, "refs/heads/")
	out, err := cc.cfg.API.GetBranch(ctx, &codecommit.GetBranchInput{RepositoryName: aws.String(p.repo), BranchName: aws.String(name)})
	var gone *cctypes.BranchDoesNotExistException
	switch {
	case errors.As(err, &gone):
		p.log.ErrorContext(ctx, NotOnBranchLogMessage, "head", "")
		return false, nil
	case err != nil:
		return false, fmt.Errorf("get branch %s of repository %s: %w", name, p.repo, err)
	}
	head := ""
	if out.Branch != nil {
		head = aws.ToString(out.Branch.CommitId)
	}
	if head == p.commit {
		return true, nil
	}
	on, err := cc.isAncestor(ctx, p.repo, p.commit, head)
	if err == nil && !on {
		p.log.ErrorContext(ctx, NotOnBranchLogMessage, "head", head)
	}
	return on, err
}

// isAncestor reports whether anc is commit or one of its ancestors, among
// the maxAncestry nearest.
func (cc *Source) isAncestor(ctx context.Context, repo, anc, commit string) (bool, error) {
	seen := map[string]bool{commit: true}
	queue := []string{commit}
	for walked := 0; len(queue) > 0 && walked < maxAncestry; walked++ {
		c := queue[0]
		queue = queue[1:]
		if c == anc {
			return true, nil
		}
		parents, err := cc.parents(ctx, repo, c)
		if err != nil {
			return false, err
		}
		for _, pc := range parents {
			if !seen[pc] {
				seen[pc] = true
				queue = append(queue, pc)
			}
		}
	}
	return false, nil
}

// parents are a commit's parents.
func (cc *Source) parents(ctx context.Context, repo, commit string) ([]string, error) {
	out, err := cc.cfg.API.GetCommit(ctx, &codecommit.GetCommitInput{RepositoryName: aws.String(repo), CommitId: aws.String(commit)})
	if err != nil {
		return nil, fmt.Errorf("get commit %s of repository %s: %w", commit, repo, err)
	}
	if out.Commit == nil {
		return nil, nil
	}
	return out.Commit.Parents, nil
}

// firstParent is the first parent of a commit, or "" for a first commit.
func (cc *Source) firstParent(ctx context.Context, repo, commit string) (string, error) {
	parents, err := cc.parents(ctx, repo, commit)
	if err != nil || len(parents) == 0 {
		return "", err
	}
	return parents[0], nil
}

// indexChange is one change of a push, with the source's state it is
// based on.
type indexChange struct {
	prev   records.SourceState
	change records.Change
}

// pushChanges reads the definition files changed between base and the
// pushed commit and returns their changes to the index and the functions
// they affect (declared now, or before). Invalid files are recorded (final)
// and change nothing: a path's previous declaration holds.
func (cc *Source) pushChanges(ctx context.Context, p pushed, base string, ix *pushIndex) ([]indexChange, []string, error) {
	applyPaths, tearPaths, err := cc.changedPaths(ctx, p.repo, base, p.commit)
	if err != nil {
		return nil, nil, err
	}
	if len(applyPaths) == 0 && len(tearPaths) == 0 {
		p.log.InfoContext(ctx, "commit changes no definition file")
		return nil, nil, nil
	}
	files, err := cc.pushFiles(ctx, p, applyPaths)
	if err != nil {
		return nil, nil, err
	}
	var changes []indexChange
	var affected []string
	add := func(path string, c records.Change, fns ...string) error {
		prev, err := cc.h.Store().SourceState(ctx, c.Source)
		if err != nil {
			return err
		}
		was := prev.Declares()
		if was == "" && !prev.Deleted && c.Kind == records.Remove {
			// Never indexed (applied before the index existed): the
			// function the file named at the base commit.
			was = cc.declaredAt(ctx, p, path, base)
		}
		for _, fn := range append(fns, was) {
			if fn != "" {
				affected = append(affected, fn)
				if ix.events[fn] == "" {
					ix.events[fn] = c.Source.String()
				}
			}
		}
		changes = append(changes, indexChange{prev, c})
		return nil
	}
	for _, f := range files {
		src := p.source(f.Path, p.commit)
		ix.files[deployer.FileKey(src)], ix.batch[src.ID()] = f, true
		fn := records.DeclKey(f.Function)
		if err := add(f.Path, records.Change{Kind: records.Declare, Source: src, Function: fn}, fn); err != nil {
			return nil, nil, err
		}
	}
	for _, path := range tearPaths {
		if err := add(path, records.Change{Kind: records.Remove, Source: p.source(path, p.commit)}); err != nil {
			return nil, nil, err
		}
	}
	return changes, affected, nil
}

// declaredAt is the function a file declared at a commit, "" if none (or
// invalid there).
func (cc *Source) declaredAt(ctx context.Context, p pushed, path, commit string) string {
	if commit == "" {
		return ""
	}
	data, sib, err := cc.readDefinition(ctx, p.repo, commit, path)
	if err != nil || data == nil {
		return ""
	}
	f, errs, _, err := cc.h.Validate(ctx, deployer.File{Trigger: records.TriggerCodeCommit, Path: path, Data: data, Sib: sib})
	if err != nil || errs != nil {
		return ""
	}
	return records.DeclKey(f.Function)
}

// pushFiles reads and validates the files to index at the pushed commit.
// An invalid file is recorded (final) and left out; so are files that give
// one target group or API route to two functions (as the CLI refuses
// them). Two files of one function are not refused here: the index makes
// the second a conflict.
func (cc *Source) pushFiles(ctx context.Context, p pushed, paths []string) ([]*definition.File, error) {
	var files []*definition.File
	for _, path := range paths {
		data, sib, err := cc.readDefinition(ctx, p.repo, p.commit, path)
		if err != nil {
			return nil, err
		}
		if data == nil {
			continue
		}
		f, rec, err := cc.h.Parse(ctx, p.source(path, p.commit).String(), deployer.File{Trigger: records.TriggerCodeCommit, Path: path, Data: data, Sib: sib})
		if rec != nil {
			continue // recorded and final
		}
		if err != nil {
			return nil, err
		}
		files = append(files, f)
	}
	conflicting := pushConflicts(files)
	kept := files[:0]
	for _, f := range files {
		if errs := conflicting[f.Path]; len(errs) > 0 {
			if _, err := cc.h.RecordInvalid(ctx, records.TriggerCodeCommit, p.source(f.Path, p.commit).String(), f.Function, errs); err != nil {
				return nil, err
			}
			continue
		}
		kept = append(kept, f)
	}
	return kept, nil
}

// pushConflicts are the conflicts of definition.Conflicts between files of
// different functions (one target group or API route for two), by path.
func pushConflicts(files []*definition.File) map[string][]string {
	var distinct []*definition.File
	seen := map[string]bool{}
	for _, f := range files {
		if fn := records.DeclKey(f.Function); !seen[fn] {
			seen[fn] = true
			distinct = append(distinct, f)
		}
	}
	return deployer.Conflicts(distinct)
}
