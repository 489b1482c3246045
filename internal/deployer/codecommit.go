package deployer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codecommit"
	cctypes "github.com/aws/aws-sdk-go-v2/service/codecommit/types"

	"github.com/eventwire/eventwire/internal/contract"
)

// CodeCommitAPI is the slice of the CodeCommit client the deployer needs.
type CodeCommitAPI interface {
	codecommit.GetDifferencesAPIClient
	GetCommit(ctx context.Context, in *codecommit.GetCommitInput, opts ...func(*codecommit.Options)) (*codecommit.GetCommitOutput, error)
	GetFile(ctx context.Context, in *codecommit.GetFileInput, opts ...func(*codecommit.Options)) (*codecommit.GetFileOutput, error)
	GetBranch(ctx context.Context, in *codecommit.GetBranchInput, opts ...func(*codecommit.Options)) (*codecommit.GetBranchOutput, error)
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
			if !h.repositoryAccepted(ctx, repo, ref.Ref) || !h.branchAccepted(ctx, repo, ref.Ref) {
				continue
			}
			// A repository trigger names only the pushed tip: its changes
			// since the branch's last indexed commit are applied.
			if err := h.push(ctx, repo, ref.Ref, ref.Commit, ""); err != nil {
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
			if before != "" && before != after && IsDefinitionPath(before) {
				tearSet[before] = true
			}
			if after != "" && IsDefinitionPath(after) {
				applySet[after] = true
			}
			for _, p := range []string{before, after} {
				if path.Base(p) == contract.FunctionDefFileName {
					siblings[path.Join(path.Dir(p), contract.DefinitionFileName)] = true
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
	sib, err = h.readFile(ctx, repo, commit, path.Join(path.Dir(p), contract.FunctionDefFileName))
	return data, sib, err
}

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
		return fmt.Errorf("unrecognised event: a CodeCommit state change without a repositoryName: %s", Excerpt(raw))
	}
	if d.Event == "referenceDeleted" || d.CommitID == "" {
		h.log.InfoContext(ctx, "ignored deleted reference", "repository", d.RepositoryName, "ref", d.ReferenceFullName)
		return nil
	}
	if !h.repositoryAccepted(ctx, d.RepositoryName, d.ReferenceFullName) || !h.branchAccepted(ctx, d.RepositoryName, d.ReferenceFullName) {
		return nil
	}
	old := d.OldCommitID
	if strings.Trim(old, "0") == "" {
		old = ""
	}
	return h.push(ctx, d.RepositoryName, d.ReferenceFullName, d.CommitID, old)
}
