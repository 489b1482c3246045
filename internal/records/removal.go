package records

import (
	"context"
	"fmt"
	"time"

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
	if err := s.setKnown(ctx, fn, attrRemovalFoundBy, str(sweep)); err != nil {
		return fmt.Errorf("mark the removal found by sweep %s for function %s in table %s: %w", sweep, fn, s.table, err)
	}
	return nil
}

// attrTeardownDeferredUntil, on a known function item, is when the
// teardown that a removal deferred (the deployer's teardown grace) is due.
const attrTeardownDeferredUntil = "teardown_deferred_until"

// MarkTeardownDeferred records that fn's teardown is deferred until then:
// a heal sweep does not prune fn before that, so that a move whose copy's
// event is late keeps its wiring through the grace, as the deferral means.
func (s *Store) MarkTeardownDeferred(ctx context.Context, fn string, until time.Time) error {
	if err := s.setKnown(ctx, fn, attrTeardownDeferredUntil, str(until.UTC().Format(timeLayout))); err != nil {
		return fmt.Errorf("mark the teardown of function %s deferred in table %s: %w", fn, s.table, err)
	}
	return nil
}

// setKnown sets one attribute of fn's known item, made if missing.
func (s *Store) setKnown(ctx context.Context, fn, name string, v types.AttributeValue) error {
	_, err := s.api.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                aws.String(s.table),
		Key:                      key(knownPK, fn),
		UpdateExpression:         aws.String("SET #type = :type, #fn = :fn, #v = :v"),
		ExpressionAttributeNames: map[string]string{"#type": "type", "#fn": "function", "#v": name},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":type": str("known-function"), ":fn": str(fn), ":v": v,
		},
	})
	return err
}

// PruneHolds are what keeps a sweep from pruning a function no live file
// declares, as its known item records them.
type PruneHolds struct {
	// RemovalFoundBy is the id of the sweep that last found the removal
	// of a file declaring the function (MarkRemovalFound); "" if none did.
	RemovalFoundBy string
	// TeardownDeferredUntil is when the function's last deferred teardown
	// is due (MarkTeardownDeferred); zero if none was deferred.
	TeardownDeferredUntil time.Time
}

// PruneHolds reads fn's holds, in one read of its known item.
func (s *Store) PruneHolds(ctx context.Context, fn string) (PruneHolds, error) {
	item, err := s.getItem(ctx, knownPK, fn)
	if err != nil {
		return PruneHolds{}, err
	}
	until, _ := time.Parse(timeLayout, getS(item, attrTeardownDeferredUntil))
	return PruneHolds{RemovalFoundBy: getS(item, attrRemovalFoundBy), TeardownDeferredUntil: until}, nil
}
