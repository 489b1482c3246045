package records

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// A CodeCommit branch's item: pk "codecommit#REPOSITORY/BRANCH", sk
// "branch", with the last commit whose changes were indexed and the
// functions those changes left to converge.
const branchSK = "branch"

func branchPK(repo, branch string) string { return boundKey("codecommit#" + repo + "/" + branch) }

// BranchLease is the name of the lease that serializes the indexing of a
// branch's pushes (a function name cannot hold '#').
func BranchLease(repo, branch string) string { return branchPK(repo, branch) }

// BranchState is what the index knows of a CodeCommit branch.
type BranchState struct {
	// Commit is the last commit whose changes were indexed, "" if none.
	Commit  string
	Pending Pending
}

// Branch reads what the index knows of a branch.
func (s *Store) Branch(ctx context.Context, repo, branch string) (BranchState, error) {
	pk := branchPK(repo, branch)
	item, err := s.getItem(ctx, pk, branchSK)
	if err != nil {
		return BranchState{}, err
	}
	return BranchState{Commit: getS(item, "commit"), Pending: pendingOf(pk, branchSK, item)}, nil
}

// AdvanceBranch records commit as the branch's last indexed commit, if it
// is still from (ErrIndexMoved otherwise).
func (s *Store) AdvanceBranch(ctx context.Context, repo, branch, from, commit string) error {
	cond := "#c = :from"
	values := map[string]types.AttributeValue{":c": str(commit), ":from": str(from)}
	if from == "" {
		cond = "attribute_not_exists(#c)"
		delete(values, ":from")
	}
	_, err := s.api.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.table),
		Key:                       key(branchPK(repo, branch), branchSK),
		UpdateExpression:          aws.String("SET #c = :c, #t = :t"),
		ConditionExpression:       aws.String(cond),
		ExpressionAttributeNames:  map[string]string{"#c": "commit", "#t": "type"},
		ExpressionAttributeValues: merge(values, map[string]types.AttributeValue{":t": str("branch")}),
	})
	if isConditionFailed(err) {
		return fmt.Errorf("advance branch %s of repository %s to %s: %w", branch, repo, commit, ErrIndexMoved)
	}
	if err != nil {
		return fmt.Errorf("advance branch %s of repository %s in table %s: %w", branch, repo, s.table, err)
	}
	return nil
}

func merge(a, b map[string]types.AttributeValue) map[string]types.AttributeValue {
	for k, v := range b {
		a[k] = v
	}
	return a
}
