// Package branch is the deployer's CodeCommit source: it turns a push to
// a configured branch (a repository trigger's records, or CodeCommit's
// EventBridge event) into a change of the declaration index, under the
// branch's lease, then has the core converge the functions it affects; it
// reads the branches' files for the core and the sweep (deployer.Reader),
// and catches up with the pushes that were not delivered. Of the deployer
// it imports the core (internal/deployer) only, never another source, the
// sweep or the composition (internal/layers checks).
package branch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path"
	"slices"
	"sort"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codecommit"
	cctypes "github.com/aws/aws-sdk-go-v2/service/codecommit/types"

	"github.com/eventwire/eventwire/internal/contract"
	"github.com/eventwire/eventwire/internal/deployer"
)

// CodeCommitAPI is the slice of the CodeCommit client the deployer needs.
type CodeCommitAPI interface {
	codecommit.GetDifferencesAPIClient
	GetCommit(ctx context.Context, in *codecommit.GetCommitInput, opts ...func(*codecommit.Options)) (*codecommit.GetCommitOutput, error)
	GetFile(ctx context.Context, in *codecommit.GetFileInput, opts ...func(*codecommit.Options)) (*codecommit.GetFileOutput, error)
	GetBranch(ctx context.Context, in *codecommit.GetBranchInput, opts ...func(*codecommit.Options)) (*codecommit.GetBranchOutput, error)
}

// Config is the CodeCommit source's configuration.
type Config struct {
	// API reads commits, differences and files.
	API CodeCommitAPI
	// Repository and Branches are the CodeCommit repository and the
	// branches (names, "main") whose pushes are accepted: an event of any
	// other repository, or a reference to any other branch, is refused;
	// every CodeCommit event when either is empty.
	Repository string
	Branches   []string
}

// Source is the CodeCommit source: the handler of its events
// (HandleTrigger, HandleChange) and its Reader.
type Source struct {
	h   *deployer.Handler
	cfg Config
	log *slog.Logger
}

// New returns the CodeCommit source of h.
func New(h *deployer.Handler, cfg Config) *Source {
	return &Source{h: h, cfg: cfg, log: h.Logger()}
}

// repositoryName is the last part of a repository ARN
// (arn:aws:codecommit:REGION:ACCOUNT:NAME).
func repositoryName(arn string) string {
	return arn[strings.LastIndex(arn, ":")+1:]
}

// HandleTrigger applies the definition files each pushed commit changed.
func (cc *Source) HandleTrigger(ctx context.Context, raw json.RawMessage) error {
	var ev events.CodeCommitEvent
	if err := json.Unmarshal(raw, &ev); err != nil {
		return fmt.Errorf("decode CodeCommit event: %w", err)
	}
	var errs []error
	for _, r := range ev.Records {
		repo := repositoryName(r.EventSourceARN)
		for _, ref := range r.CodeCommit.References {
			if ref.Deleted || ref.Commit == "" {
				cc.log.InfoContext(ctx, "ignored deleted reference", "repository", repo, "ref", ref.Ref)
				continue
			}
			if !cc.repositoryAccepted(ctx, repo, ref.Ref) || !cc.branchAccepted(ctx, repo, ref.Ref) {
				continue
			}
			// A repository trigger names only the pushed tip: its changes
			// since the branch's last indexed commit are applied.
			if err := cc.push(ctx, repo, ref.Ref, ref.Commit, ""); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// readFile reads a file at a commit; a missing file is nil, nil.
func (cc *Source) readFile(ctx context.Context, repo, commit, p string) ([]byte, error) {
	out, err := cc.cfg.API.GetFile(ctx, &codecommit.GetFileInput{
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
func (cc *Source) changedPaths(ctx context.Context, repo, parent, commit string) (apply, teardown []string, err error) {
	in := &codecommit.GetDifferencesInput{
		RepositoryName:       aws.String(repo),
		AfterCommitSpecifier: aws.String(commit),
	}
	if parent != "" {
		in.BeforeCommitSpecifier = aws.String(parent)
	}
	applySet, tearSet, siblings := map[string]bool{}, map[string]bool{}, map[string]bool{}
	pages := codecommit.NewGetDifferencesPaginator(cc.cfg.API, in)
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, nil, fmt.Errorf("get differences of commit %s in repository %s: %w", commit, repo, err)
		}
		for _, d := range page.Differences {
			before, after := blobPath(d.BeforeBlob), blobPath(d.AfterBlob)
			if before != "" && before != after && deployer.IsDefinitionPath(before) {
				tearSet[before] = true
			}
			if after != "" && deployer.IsDefinitionPath(after) {
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
		data, err := cc.readFile(ctx, repo, commit, p)
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
func (cc *Source) readDefinition(ctx context.Context, repo, commit, p string) (data, sib []byte, err error) {
	if data, err = cc.readFile(ctx, repo, commit, p); err != nil {
		return nil, nil, err
	}
	if data == nil {
		return nil, nil, nil
	}
	sib, err = cc.readFile(ctx, repo, commit, path.Join(path.Dir(p), contract.FunctionDefFileName))
	return data, sib, err
}

// HandleChange applies a push that EventBridge reports.
// Unlike a repository trigger, the event names the commit the reference
// pointed at before the push (oldCommitId), so the changes of every commit
// of the push are applied, not only the tip's.
func (cc *Source) HandleChange(ctx context.Context, raw json.RawMessage) error {
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
		return fmt.Errorf("unrecognised event: a CodeCommit state change without a repositoryName: %s", deployer.Excerpt(raw))
	}
	if d.Event == "referenceDeleted" || d.CommitID == "" {
		cc.log.InfoContext(ctx, "ignored deleted reference", "repository", d.RepositoryName, "ref", d.ReferenceFullName)
		return nil
	}
	if !cc.repositoryAccepted(ctx, d.RepositoryName, d.ReferenceFullName) || !cc.branchAccepted(ctx, d.RepositoryName, d.ReferenceFullName) {
		return nil
	}
	old := d.OldCommitID
	if strings.Trim(old, "0") == "" {
		old = ""
	}
	return cc.push(ctx, d.RepositoryName, d.ReferenceFullName, d.CommitID, old)
}

// The checks below refuse events of a repository or a branch the stack
// did not configure (anyone allowed to invoke the deployer can send it a
// made-up event): final, logged at error level with what was expected,
// and nothing is read from AWS for them.

// repositoryAccepted reports whether a CodeCommit event of repository may
// be handled.
func (cc *Source) repositoryAccepted(ctx context.Context, repository, ref string) bool {
	if cc.cfg.Repository != "" && repository == cc.cfg.Repository {
		return true
	}
	cc.log.ErrorContext(ctx, "refused CodeCommit event: not the configured repository", "repository", repository, "ref", ref, "want", deployer.Expected(cc.cfg.Repository, contract.EnvRepository))
	return false
}

// branchAccepted reports whether a push to ref (refs/heads/BRANCH) of the
// configured repository may be handled.
func (cc *Source) branchAccepted(ctx context.Context, repository, ref string) bool {
	if b, ok := strings.CutPrefix(ref, "refs/heads/"); ok && slices.Contains(cc.cfg.Branches, b) {
		return true
	}
	want := deployer.Expected(strings.Join(cc.cfg.Branches, ", "), contract.EnvBranches)
	cc.log.ErrorContext(ctx, "refused CodeCommit event: not a configured branch", "repository", repository, "ref", ref, "want", want)
	return false
}
