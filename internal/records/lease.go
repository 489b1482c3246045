package records

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// ErrLeaseHeld: another run holds the function's lease and did not let go
// within the wait. The run should fail so that it is retried later.
var ErrLeaseHeld = errors.New("lease held by another deployment")

// DefaultLeaseDuration is how long a lease lasts unless released: longer
// than any one run of the deployer (Lambda's limit is 15 minutes).
const DefaultLeaseDuration = 15 * time.Minute

// Lease is a held per-function lease.
type Lease struct {
	store    *Store
	Function string
	Owner    string
	Expires  time.Time
	// run identifies this acquisition among the holders with one owner
	// (see AcquireLease): Release deletes only the item it wrote.
	run string
}

func leasePK(function string) string { return "lease#" + function }

const leaseSK = "lease"

// attrHolderDeadline is the lease holder's deadline, epoch seconds.
const attrHolderDeadline = "holder_deadline"

// LeaseOptions tunes AcquireLease.
type LeaseOptions struct {
	// Duration of the lease; DefaultLeaseDuration if zero.
	Duration time.Duration
	// Wait bounds how long to wait for a held lease; 0 tries once.
	Wait time.Duration
	// Logger gets a line each time the lease is found held.
	Logger *slog.Logger
	// HolderDeadline is when the run taking the lease is stopped for sure
	// (its Lambda invocation's deadline), if known. The lease then lasts
	// at least until it, so that it cannot expire under a running holder,
	// and the same owner may take the lease back once it has passed:
	// Lambda retries an invocation with the same request id after the
	// previous attempt ended, but it may also deliver one event to two
	// invocations at once, with the same request id, and those must not
	// share the lease. Without it, the lease is the holder's until it is
	// released or expires, whoever asks (its owner too).
	HolderDeadline time.Time
}

// AcquireLease takes the function's lease for owner with a conditional
// write: it succeeds when no lease exists, the existing one has expired, or
// owner holds it and that holder's deadline (opts.HolderDeadline when it
// took the lease) has passed. An owner is not proof of a single holder (a
// Lambda event delivered twice runs twice with one request id), so a
// holder whose deadline was not known keeps the lease from its own owner
// too. When the lease is held, it retries with backoff for up to opts.Wait
// (and never past ctx's deadline), then returns an error wrapping
// ErrLeaseHeld.
//
// function is a function name (FunctionKey) or another bounded name
// (BranchLease); a name too long for a table key is refused before
// DynamoDB sees it.
func (s *Store) AcquireLease(ctx context.Context, function, owner string, opts LeaseOptions) (*Lease, error) {
	if function == "" || len(leasePK(function)) > maxPartitionKeyBytes {
		return nil, fmt.Errorf("lease of %.80q (%d bytes): not a name the table can key", function, len(function))
	}
	if opts.Duration <= 0 {
		opts.Duration = DefaultLeaseDuration
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	giveUp := s.now().Add(opts.Wait)
	if d, ok := ctx.Deadline(); ok && d.Before(giveUp) {
		giveUp = d
	}
	backoff := 100 * time.Millisecond
	// run identifies this acquisition: a PutItem the SDK sends again
	// (its answer lost) finds its own item and succeeds.
	run := NewID()
	for {
		now := s.now()
		expires := now.Add(opts.Duration)
		item := map[string]types.AttributeValue{
			attrPK:        str(leasePK(function)),
			attrSK:        str(leaseSK),
			"type":        str("lease"),
			"owner":       str(owner),
			"run":         str(run),
			"acquired_at": str(now.UTC().Format(timeLayout)),
		}
		if !opts.HolderDeadline.IsZero() {
			// Whole seconds, rounded up: "passed" is then strictly after.
			dl := opts.HolderDeadline.Add(time.Second - 1).Truncate(time.Second)
			item[attrHolderDeadline] = num(dl.Unix())
			if expires.Before(dl) {
				expires = dl
			}
		}
		item[attrExpires] = num(expires.Unix())
		_, err := s.api.PutItem(ctx, &dynamodb.PutItemInput{
			TableName:                aws.String(s.table),
			Item:                     item,
			ConditionExpression:      aws.String("attribute_not_exists(#pk) OR #exp < :now OR #run = :run OR (#owner = :owner AND #dl < :now)"),
			ExpressionAttributeNames: map[string]string{"#pk": attrPK, "#exp": attrExpires, "#owner": "owner", "#dl": attrHolderDeadline, "#run": "run"},
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":now":   num(now.Unix()),
				":owner": str(owner),
				":run":   str(run),
			},
		})
		if err == nil {
			return &Lease{store: s, Function: function, Owner: owner, Expires: time.Unix(expires.Unix(), 0), run: run}, nil
		}
		if !isConditionFailed(err) {
			return nil, fmt.Errorf("acquire lease of function %s in table %s: %w", function, s.table, err)
		}
		holder, until := s.leaseHolder(ctx, function)
		if !s.now().Add(backoff).Before(giveUp) {
			return nil, fmt.Errorf("function %s: %w (%s, until %s)", function, ErrLeaseHeld, holder, until.UTC().Format(time.RFC3339))
		}
		log.InfoContext(ctx, "waiting for lease", "function", function, "holder", holder, "until", until.UTC().Format(time.RFC3339))
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("acquire lease of function %s: %w", function, ctx.Err())
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 2*time.Second)
	}
}

// leaseHolder reads who holds a lease, for messages; errors give "unknown".
func (s *Store) leaseHolder(ctx context.Context, function string) (string, time.Time) {
	item, err := s.getItem(ctx, leasePK(function), leaseSK)
	if err != nil || item == nil {
		return "unknown", time.Time{}
	}
	return getS(item, "owner"), time.Unix(getN(item, attrExpires), 0)
}

// Release gives the lease back, if it is still this acquisition's (its
// run, not only its owner: a lease its owner took back after this
// holder's deadline belongs to the new holder). Releasing a lease another
// run took over is not an error.
func (l *Lease) Release(ctx context.Context) error {
	_, err := l.store.api.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:                 aws.String(l.store.table),
		Key:                       key(leasePK(l.Function), leaseSK),
		ConditionExpression:       aws.String("#run = :run"),
		ExpressionAttributeNames:  map[string]string{"#run": "run"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":run": str(l.run)},
	})
	if err != nil && !isConditionFailed(err) {
		return fmt.Errorf("release lease of function %s in table %s: %w", l.Function, l.store.table, err)
	}
	return nil
}
