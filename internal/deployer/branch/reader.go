package branch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codecommit"
	cctypes "github.com/aws/aws-sdk-go-v2/service/codecommit/types"

	"github.com/eventwire/eventwire/internal/deployer"
	"github.com/eventwire/eventwire/internal/records"
)

// Read reads a CodeCommit declaration's file and sibling at its commit.
func (cc *Source) Read(ctx context.Context, s records.Source) (deployer.File, error) {
	data, sib, err := cc.readDefinition(ctx, s.Repository, s.Version, s.Path)
	if err == nil && data == nil {
		err = fmt.Errorf("%s: %w", s, deployer.ErrNoObject)
	}
	return deployer.File{Trigger: records.TriggerCodeCommit, Path: s.Path, Data: data, Sib: sib}, err
}

// CatchUp indexes the configured branches whose pushes were not delivered
// (catchup.go).
func (cc *Source) CatchUp(ctx context.Context, sweep string) error {
	return cc.catchUpBranches(ctx, sweep)
}

// Live reports whether the file is at the head of its branch.
func (cc *Source) Live(ctx context.Context, s records.Source, _ *slog.Logger) (bool, error) {
	if cc.cfg.API == nil {
		return false, fmt.Errorf("check %s is live: no CodeCommit client", s)
	}
	_, err := cc.cfg.API.GetFile(ctx, &codecommit.GetFileInput{
		RepositoryName: aws.String(s.Repository), CommitSpecifier: aws.String(s.Branch), FilePath: aws.String(s.Path),
	})
	var nf *cctypes.FileDoesNotExistException
	if errors.As(err, &nf) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("get file %s at the head of %s of repository %s: %w", s.Path, s.Branch, s.Repository, err)
	}
	return true, nil
}
