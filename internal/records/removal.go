package records

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// attrRemovalFoundBy, on a known function item (drift.go), is the id of
// the sweep that last found the removal of a file declaring the function
// without its event, and indexed it.
const attrRemovalFoundBy = "removal_found_by"

// MarkRemovalFound records that sweep found the removal of a file
// declaring fn. The sweep writes it before it indexes the removal, so that
// a retry of its check (after a failure once the removal was indexed)
// still knows that this sweep found it, and does not prune fn in the same
// sweep.
func (s *Store) MarkRemovalFound(ctx context.Context, fn, sweep string) error {
	_, err := s.api.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                aws.String(s.table),
		Key:                      key(knownPK, fn),
		UpdateExpression:         aws.String("SET #type = :type, #fn = :fn, #by = :by"),
		ExpressionAttributeNames: map[string]string{"#type": "type", "#fn": "function", "#by": attrRemovalFoundBy},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":type": str("known-function"), ":fn": str(fn), ":by": str(sweep),
		},
	})
	if err != nil {
		return fmt.Errorf("mark the removal found by sweep %s for function %s in table %s: %w", sweep, fn, s.table, err)
	}
	return nil
}

// RemovalFoundBy is the id of the sweep that last found the removal of a
// file declaring fn (MarkRemovalFound); "" if none did.
func (s *Store) RemovalFoundBy(ctx context.Context, fn string) (string, error) {
	item, err := s.getItem(ctx, knownPK, fn)
	if err != nil {
		return "", err
	}
	return getS(item, attrRemovalFoundBy), nil
}
