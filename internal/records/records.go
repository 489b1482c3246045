// Package records keeps the deployer's state in one DynamoDB table:
// deployment records (one per run and function), the declaration index
// (which live source declares which function, see index.go), and a lease
// per function so that two deployments of one function never overlap.
//
// The table has a partition key "pk" (String), a sort key "sk" (String) and
// a TTL attribute "expires_at" (Number, epoch seconds). Items:
//
//	records       pk "function#NAME"                  sk "deploy#<start, fixed-width UTC>#<id>"
//	sources       pk "s3#BUCKET/KEY"                  sk "sequencer"
//	              pk "codecommit#REPO/BRANCH:PATH"    sk "sequencer"
//	branches      pk "codecommit#REPO/BRANCH"         sk "branch"
//	declarations  pk "decl#FUNCTION"                  sk SOURCE-ID
//	active        pk "decl#FUNCTION"                  sk "#active"
//	leases        pk "lease#NAME"                     sk "lease"
//	known         pk "sweep#functions"                sk FUNCTION
//	latest sweep  pk "sweep#latest"                   sk "sweep"
//	drift result  pk "drift#latest"                   sk FUNCTION
//
// The last three are drift detection's (see drift.go for their shapes,
// which `eventwire drift` reads); a drift check's record is a deployment
// record with trigger "sweep".
//
// A source id or branch key too long for a sort key (1,024 bytes) is cut
// and ends with a hash of the whole (boundKey); a function name that the
// Lambda API would refuse is never a key (FunctionKey).
//
// Records sort by start time within a function, so a Query newest first is
// the function's history. Only GetItem, PutItem, UpdateItem, DeleteItem,
// Query and TransactWriteItems (updates and deletes) are used.
//
// It is the DynamoDB adapter of the deployer's state: it imports the SDK's
// DynamoDB client and plain data (contract, funcref, plan), never the
// reconciler, the deployer or the CLI, which call it (internal/layers
// checks).
package records

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/eventwire/eventwire/internal/contract"
	"github.com/eventwire/eventwire/internal/funcref"
)

// API is the slice of the DynamoDB client the store needs.
type API interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, opts ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
}

// Attribute names of the table's keys.
const (
	attrPK      = contract.TablePartitionKey
	attrSK      = contract.TableSortKey
	attrExpires = contract.TableTTLAttribute
)

// DefaultRetention is how long deployment records are kept (through the
// table's TTL).
const DefaultRetention = 90 * 24 * time.Hour

// Options tunes a Store. The zero value is usable.
type Options struct {
	// Retention of deployment records; DefaultRetention if zero.
	Retention time.Duration
	// Now is the clock; time.Now if nil.
	Now func() time.Time
}

// Store reads and writes the deployer's table.
type Store struct {
	api       API
	table     string
	retention time.Duration
	now       func() time.Time
}

// New returns a Store on table.
func New(api API, table string, opts Options) *Store {
	if opts.Retention <= 0 {
		opts.Retention = DefaultRetention
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Store{api: api, table: table, retention: opts.Retention, now: opts.Now}
}

// Table is the table's name.
func (s *Store) Table() string { return s.table }

// FunctionKey is the name records and leases of a function reference are
// kept under: the bare function name, without ARN parts or qualifier, so
// that "orders", "orders:live" and the function's ARN share one history and
// one lease.
//
// A string that is not a function reference the Lambda API accepts (its
// FunctionName pattern and lengths, funcref.Check) is never a key: it
// gives "", whose records are kept with those of files that named no
// function ("eventwire history -"). So a file naming a 3,000-character
// function, over DynamoDB's 2,048-byte partition key, is still recorded.
func FunctionKey(ref string) string {
	r, err := funcref.Check(ref)
	if err != nil {
		return ""
	}
	return r.Name
}

// isConditionFailed reports whether err is a failed condition of a
// conditional write.
func isConditionFailed(err error) bool {
	var cf *types.ConditionalCheckFailedException
	return errors.As(err, &cf)
}

func str(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }

func num(v int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
}

func key(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{attrPK: str(pk), attrSK: str(sk)}
}

func getS(item map[string]types.AttributeValue, name string) string {
	if v, ok := item[name].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

func getN(item map[string]types.AttributeValue, name string) int64 {
	if v, ok := item[name].(*types.AttributeValueMemberN); ok {
		n, _ := strconv.ParseInt(v.Value, 10, 64)
		return n
	}
	return 0
}

func getBool(item map[string]types.AttributeValue, name string) bool {
	if v, ok := item[name].(*types.AttributeValueMemberBOOL); ok {
		return v.Value
	}
	return false
}

func getList(item map[string]types.AttributeValue, name string) []string {
	l, ok := item[name].(*types.AttributeValueMemberL)
	if !ok {
		return nil
	}
	var out []string
	for _, v := range l.Value {
		if s, ok := v.(*types.AttributeValueMemberS); ok {
			out = append(out, s.Value)
		}
	}
	return out
}

// getItem reads one item with a strongly consistent read; a missing item
// is a nil map.
func (s *Store) getItem(ctx context.Context, pk, sk string) (map[string]types.AttributeValue, error) {
	out, err := s.api.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.table),
		Key:            key(pk, sk),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, fmt.Errorf("get item %s/%s from table %s: %w", pk, sk, s.table, err)
	}
	return out.Item, nil
}

// CreateTableAPI is the slice of the DynamoDB client CreateTable needs.
type CreateTableAPI interface {
	CreateTable(ctx context.Context, in *dynamodb.CreateTableInput, opts ...func(*dynamodb.Options)) (*dynamodb.CreateTableOutput, error)
}

// CreateTable creates a table with the layout the store expects (on-demand,
// pk/sk strings). The deployer never calls it: the stack owns the real
// table. It is for tests and the local demo.
func CreateTable(ctx context.Context, api CreateTableAPI, table string) error {
	_, err := api.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:   aws.String(table),
		BillingMode: types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String(attrPK), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String(attrSK), AttributeType: types.ScalarAttributeTypeS},
		},
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String(attrPK), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String(attrSK), KeyType: types.KeyTypeRange},
		},
	})
	if err != nil {
		return fmt.Errorf("create table %s: %w", table, err)
	}
	return nil
}
