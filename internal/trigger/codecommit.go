package trigger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path"
	"sort"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codecommit"
	cctypes "github.com/aws/aws-sdk-go-v2/service/codecommit/types"

	"github.com/eventwire/eventwire/internal/definition"
	"github.com/eventwire/eventwire/internal/records"
)

// CodeCommitAPI is the slice of the CodeCommit client the deployer needs.
type CodeCommitAPI interface {
	codecommit.GetDifferencesAPIClient
	GetCommit(ctx context.Context, in *codecommit.GetCommitInput, opts ...func(*codecommit.Options)) (*codecommit.GetCommitOutput, error)
	GetFile(ctx context.Context, in *codecommit.GetFileInput, opts ...func(*codecommit.Options)) (*codecommit.GetFileOutput, error)
}

// repositoryName is the last part of a repository ARN
// (arn:aws:codecommit:REGION:ACCOUNT:NAME).
func repositoryName(arn string) string {
	return arn[strings.LastIndex(arn, ":")+1:]
}

// handleCodeCommit applies the definition files each pushed commit changed.
func (h *Handler) handleCodeCommit(ctx context.Context, raw json.RawMessage) error {
	var ev events.CodeCommitEvent
	if err := json.Unmarshal(raw, &ev); err != nil {
		return fmt.Errorf("decode CodeCommit event: %w", err)
	}
	var errs []error
	for _, r := range ev.Records {
		repo := repositoryName(r.EventSourceARN)
		for _, ref := range r.CodeCommit.References {
			if ref.Deleted || ref.Commit == "" {
				h.log.InfoContext(ctx, "ignored deleted reference", "repository", repo, "ref", ref.Ref)
				continue
			}
			// A repository trigger names only the pushed tip: its changes
			// since its parent are applied.
			if err := h.commit(ctx, repo, ref.Ref, ref.Commit, ""); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// readFile reads a file at a commit; a missing file is nil, nil.
func (h *Handler) readFile(ctx context.Context, repo, commit, p string) ([]byte, error) {
	out, err := h.cfg.CodeCommit.GetFile(ctx, &codecommit.GetFileInput{
		RepositoryName:  aws.String(repo),
		CommitSpecifier: aws.String(commit),
		FilePath:        aws.String(p),
	})
	var nf *cctypes.FileDoesNotExistException
	if errors.As(err, &nf) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("get file %s at commit %s of repository %s: %w", p, commit, repo, err)
	}
	return out.FileContent, nil
}

// changedPaths lists the definition files a commit changed since its
// parent: those to apply (added or modified) and those to tear down
// (deleted, or renamed away). A changed _lambdadef.json re-applies the
// definition file beside it, if there is one.
func (h *Handler) changedPaths(ctx context.Context, repo, parent, commit string) (apply, teardown []string, err error) {
	in := &codecommit.GetDifferencesInput{
		RepositoryName:       aws.String(repo),
		AfterCommitSpecifier: aws.String(commit),
	}
	if parent != "" {
		in.BeforeCommitSpecifier = aws.String(parent)
	}
	applySet, tearSet, siblings := map[string]bool{}, map[string]bool{}, map[string]bool{}
	pages := codecommit.NewGetDifferencesPaginator(h.cfg.CodeCommit, in)
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, nil, fmt.Errorf("get differences of commit %s in repository %s: %w", commit, repo, err)
		}
		for _, d := range page.Differences {
			before, after := blobPath(d.BeforeBlob), blobPath(d.AfterBlob)
			if before != "" && before != after && isDefinitionPath(before) {
				tearSet[before] = true
			}
			if after != "" && isDefinitionPath(after) {
				applySet[after] = true
			}
			for _, p := range []string{before, after} {
				if path.Base(p) == definition.FunctionDefFileName {
					siblings[path.Join(path.Dir(p), definition.FileName)] = true
				}
			}
		}
	}
	for p := range siblings {
		if applySet[p] || tearSet[p] {
			continue
		}
		data, err := h.readFile(ctx, repo, commit, p)
		if err != nil {
			return nil, nil, err
		}
		if data != nil {
			applySet[p] = true
		}
	}
	return sortedKeys(applySet), sortedKeys(tearSet), nil
}

func blobPath(b *cctypes.BlobMetadata) string {
	if b == nil || b.Path == nil {
		return ""
	}
	return *b.Path
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// readDefinition reads a definition file and its sibling at a commit.
func (h *Handler) readDefinition(ctx context.Context, repo, commit, p string) (data, sib []byte, err error) {
	if data, err = h.readFile(ctx, repo, commit, p); err != nil {
		return nil, nil, err
	}
	if data == nil {
		return nil, nil, nil
	}
	sib, err = h.readFile(ctx, repo, commit, path.Join(path.Dir(p), definition.FunctionDefFileName))
	return data, sib, err
}

// commit applies what one commit changed since its first parent, or, when
// the ref's previous commit (oldCommit) is known, since that one: every
// commit of the push. Every changed file is validated before any AWS call;
// deleted files are torn down first, then the others applied.
func (h *Handler) commit(ctx context.Context, repo, ref, commit, oldCommit string) error {
	c := pushedCommit{repo: repo, commit: commit, parent: oldCommit, log: h.log.With("repository", repo, "ref", ref, "commit", commit)}
	if c.parent == commit {
		c.log.InfoContext(ctx, "reference did not move")
		return nil
	}
	if c.parent == "" {
		parent, err := h.firstParent(ctx, repo, commit)
		if err != nil {
			return err
		}
		c.parent = parent
	} else {
		c.log = c.log.With("since", c.parent)
	}
	applyPaths, tearPaths, err := h.changedPaths(ctx, repo, c.parent, commit)
	if err != nil {
		return err
	}
	if len(applyPaths) == 0 && len(tearPaths) == 0 {
		c.log.InfoContext(ctx, "commit changes no definition file")
		return nil
	}
	files, err := h.commitFiles(ctx, c, applyPaths)
	if err != nil {
		return err
	}
	errs := h.tearDownDeleted(ctx, c, tearPaths, files)
	for _, f := range files {
		res := h.run(ctx, work{trigger: records.TriggerCodeCommit, source: c.source(f.Path), mode: records.ModeApply, file: f})
		if res.err != nil {
			errs = append(errs, res.err)
		}
	}
	return errors.Join(errs...)
}

// pushedCommit is a commit being applied, and the one its changes are
// counted from (its first parent, or the ref's commit before the push;
// "" for a first commit).
type pushedCommit struct {
	repo, commit, parent string
	log                  *slog.Logger
}

// source names a file of the commit in records and logs.
func (c pushedCommit) source(p string) string {
	return "codecommit://" + c.repo + "/" + p + "@" + c.commit
}

// firstParent is the first parent of a commit, or "" for a first commit.
func (h *Handler) firstParent(ctx context.Context, repo, commit string) (string, error) {
	out, err := h.cfg.CodeCommit.GetCommit(ctx, &codecommit.GetCommitInput{RepositoryName: aws.String(repo), CommitId: aws.String(commit)})
	if err != nil {
		return "", fmt.Errorf("get commit %s of repository %s: %w", commit, repo, err)
	}
	if out.Commit != nil && len(out.Commit.Parents) > 0 {
		return out.Commit.Parents[0], nil
	}
	return "", nil
}

// commitFiles reads and validates the files to apply at the commit. An
// invalid file is recorded (final) and left out; so is a file that would
// undo another of the commit on every apply (the same function, or a push
// source given to two functions): the first of them (by path) is kept.
func (h *Handler) commitFiles(ctx context.Context, c pushedCommit, paths []string) ([]*definition.File, error) {
	var files []*definition.File
	for _, p := range paths {
		data, sib, err := h.readDefinition(ctx, c.repo, c.commit, p)
		if err != nil {
			return nil, err
		}
		if data == nil {
			continue
		}
		f, rec, err := h.parse(ctx, records.TriggerCodeCommit, c.source(p), p, data, sib)
		if rec != nil {
			continue // recorded and final
		}
		if err != nil {
			return nil, err
		}
		files = append(files, f)
	}
	conflicting := conflicts(files)
	kept := files[:0]
	for _, f := range files {
		if errs := conflicting[f.Path]; len(errs) > 0 {
			if _, err := h.recordInvalid(ctx, records.TriggerCodeCommit, c.source(f.Path), f.Function, errs); err != nil {
				return nil, err
			}
			continue
		}
		kept = append(kept, f)
	}
	return kept, nil
}

// tearDownDeleted tears down what deleted files wired, read at the parent,
// unless a file of this commit (files) still declares the function (a
// moved file). It returns the failures.
func (h *Handler) tearDownDeleted(ctx context.Context, c pushedCommit, paths []string, files []*definition.File) []error {
	if c.parent == "" {
		return nil
	}
	declared := map[string]bool{}
	for _, f := range files {
		declared[records.FunctionKey(f.Function)] = true
	}
	var errs []error
	for _, p := range paths {
		data, sib, err := h.readDefinition(ctx, c.repo, c.parent, p)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if data == nil {
			continue
		}
		old, perr := h.cfg.Parse(p, data, sib)
		if perr != nil {
			c.log.WarnContext(ctx, "deleted file was not valid at the parent commit; nothing to tear down", "path", p, "error", perr.Error())
			continue
		}
		if declared[records.FunctionKey(old.Function)] {
			c.log.InfoContext(ctx, "deleted file's function is declared by another file of the commit; not torn down", "path", p, "function", old.Function)
			continue
		}
		res := h.run(ctx, work{trigger: records.TriggerCodeCommit, source: c.source(p), mode: records.ModeDestroy, functionRef: old.Function})
		if res.err != nil {
			errs = append(errs, res.err)
		}
	}
	return errs
}

// The EventBridge event CodeCommit emits for every reference change: its
// source and detail-type. The stack's rule matches them and delivers the
// event to the deployer as is.
const (
	CodeCommitEventSource = "aws.codecommit"
	CodeCommitStateChange = "CodeCommit Repository State Change"
)

// handleCodeCommitStateChange applies a push that EventBridge reports.
// Unlike a repository trigger, the event names the commit the reference
// pointed at before the push (oldCommitId), so the changes of every commit
// of the push are applied, not only the tip's.
func (h *Handler) handleCodeCommitStateChange(ctx context.Context, raw json.RawMessage) error {
	var ev struct {
		Detail struct {
			Event             string `json:"event"`
			RepositoryName    string `json:"repositoryName"`
			ReferenceType     string `json:"referenceType"`
			ReferenceFullName string `json:"referenceFullName"`
			CommitID          string `json:"commitId"`
			OldCommitID       string `json:"oldCommitId"`
		} `json:"detail"`
	}
	if err := json.Unmarshal(raw, &ev); err != nil {
		return fmt.Errorf("decode CodeCommit state change: %w", err)
	}
	d := ev.Detail
	if d.RepositoryName == "" {
		return fmt.Errorf("unrecognised event: a CodeCommit state change without a repositoryName: %s", excerpt(raw))
	}
	if d.Event == "referenceDeleted" || d.CommitID == "" {
		h.log.InfoContext(ctx, "ignored deleted reference", "repository", d.RepositoryName, "ref", d.ReferenceFullName)
		return nil
	}
	old := d.OldCommitID
	if strings.Trim(old, "0") == "" {
		old = ""
	}
	return h.commit(ctx, d.RepositoryName, d.ReferenceFullName, d.CommitID, old)
}
