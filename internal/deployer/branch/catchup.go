package branch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codecommit"
	cctypes "github.com/aws/aws-sdk-go-v2/service/codecommit/types"
)

// A push whose event never came (a lost delivery, the rule off at the
// time) leaves the branch's files as the index last saw them, for the
// reasons the S3 source's catchup.go gives (internal/deployer/bucket): a
// new function's file is never checked, a changed file is checked at its
// old commit, and a file moved to another path looks removed (by the
// checks' liveness read at the head) while its new path is never seen.
//
// So after the S3 catch-up, a scheduled sweep's start reads the head of
// each configured branch (GetBranch) and, when it is not the branch's last
// indexed commit, indexes the difference as a push of the head would:
// indexPush under the branch's lease (the net change since the last
// indexed commit, pending markers included; skipped, as a push is, when
// the head does not descend from the last indexed commit). Nothing
// converges: the functions' checks do, in this sweep, as for an S3 file.
// The pending markers are left to the next push of the branch, as a
// failed push's are. A removal is indexed here too, unlike S3's: the
// difference is net to the head, so a file moved in those commits is a
// removal and a declaration in one write (never an orphan), and a file
// removed for good would have been torn down by its push.
//
// A branch never indexed is left to its first push: indexing its whole
// tree here would read every file of the branch. A branch that does not
// exist any more is logged; its functions' checks fail reading their
// files until these are handled. One branch that cannot be read or
// indexed is logged and does not stop the sweep; the next sweep tries it
// again.

// CaughtUpLogMessage is the warning logged for each branch the
// sweep's start indexes (keys repository, branch, from, to, sweep).
const CaughtUpLogMessage = "branch indexed by the sweep: its push was not delivered"

// catchUpBranches indexes the configured branches whose pushes were not
// delivered (see above).
func (cc *Source) catchUpBranches(ctx context.Context, sweep string) error {
	repo := cc.cfg.Repository
	if repo == "" || cc.cfg.API == nil {
		return nil
	}
	for _, name := range cc.cfg.Branches {
		log := cc.log.With("repository", repo, "branch", name, "sweep", sweep)
		if err := cc.catchUpBranch(ctx, repo, name, log); err != nil {
			if ctx.Err() != nil {
				return err
			}
			log.ErrorContext(ctx, "branch not indexed by the sweep: the next sweep tries again", "error", err.Error())
		}
	}
	return nil
}

// catchUpBranch indexes a branch up to its head, if the index has an
// older commit of it.
func (cc *Source) catchUpBranch(ctx context.Context, repo, name string, log *slog.Logger) error {
	out, err := cc.cfg.API.GetBranch(ctx, &codecommit.GetBranchInput{RepositoryName: aws.String(repo), BranchName: aws.String(name)})
	var gone *cctypes.BranchDoesNotExistException
	if errors.As(err, &gone) {
		log.WarnContext(ctx, "configured branch does not exist: its functions' checks fail until their files are handled")
		return nil
	}
	if err != nil {
		return fmt.Errorf("get branch %s of repository %s: %w", name, repo, err)
	}
	var head string
	if out.Branch != nil {
		head = aws.ToString(out.Branch.CommitId)
	}
	if head == "" {
		return fmt.Errorf("get branch %s of repository %s: no head commit", name, repo)
	}
	ref := "refs/heads/" + name // as push events name it
	br, err := cc.h.Store().Branch(ctx, repo, ref)
	switch {
	case err != nil:
		return err
	case br.Commit == head:
		return nil
	case br.Commit == "":
		log.InfoContext(ctx, "branch never indexed: left to its first push", "head", head)
		return nil
	}
	p := pushed{repo: repo, branch: ref, commit: head, log: cc.log.With("repository", repo, "ref", ref, "commit", head)}
	ix, err := cc.indexPushLeased(ctx, p)
	if err != nil {
		return err
	}
	if ix.branch.Commit == head {
		log.WarnContext(ctx, CaughtUpLogMessage, "from", br.Commit, "to", head)
	}
	return nil
}
