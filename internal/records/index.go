package records

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/eventwire/eventwire/internal/funcref"
)

// The declaration index: which live sources declare each function.
//
//	source       pk SOURCE-ID            sk "sequencer"
//	declaration  pk "decl#FUNCTION"      sk SOURCE-ID
//	active       pk "decl#FUNCTION"      sk "#active"
//
// SOURCE-ID is "s3#BUCKET/KEY" or "codecommit#REPOSITORY/BRANCH:PATH"
// (Source.ID); FUNCTION is the reference normalized by DeclKey. A source
// item holds the newest event applied to the source, the function its last
// valid file declares and that file's version, the version of its newest
// file (valid or not), whether the source was deleted, and the functions its changes left to converge ("pending:F"
// attributes). A declaration item says that the source's live file
// declares the function, with what is needed to read that file again and
// when the index first saw it. The active item is the declaration last
// applied to AWS for the function.

// Kinds of Source.
const (
	KindS3         = "s3"
	KindCodeCommit = "codecommit"
	// KindPipeline is a file of a CodePipeline action's input artifacts
	// (declset.go): Repository holds the action (PIPELINE/STAGE/ACTION),
	// Path the file's path in the artifacts, Version the job's id.
	KindPipeline = "codepipeline"
	// KindCLI is a function the CLI applied with a table (declset.go):
	// Repository holds the CLI's source name (--source), Path the
	// function (DeclKey), Version the run's id.
	KindCLI = "cli"
)

// Source is one place a definition file lives, at one version.
type Source struct {
	Kind string
	// Bucket and Key of an S3 source.
	Bucket, Key string
	// Repository, Branch (the full reference name) and Path of a
	// CodeCommit source.
	Repository, Branch, Path string
	// Version is the S3 object version id, or the commit id.
	Version string
	// HasSibling says whether an S3 file was read with a _lambdadef.json
	// beside it, and SiblingVersion at which version, so that the file is
	// read again as it was (a CodeCommit sibling is read at Version).
	HasSibling     bool
	SiblingVersion string
}

// S3Source is the S3 source bucket/key at version.
func S3Source(bucket, key, version string) Source {
	return Source{Kind: KindS3, Bucket: bucket, Key: key, Version: version}
}

// CodeCommitSource is the file at path of a repository's branch, at commit.
func CodeCommitSource(repo, branch, path, commit string) Source {
	return Source{Kind: KindCodeCommit, Repository: repo, Branch: branch, Path: path, Version: commit}
}

// ID identifies the source, whatever its version: for a pipeline's file
// "codepipeline#PIPELINE/STAGE/ACTION:PATH", for the CLI's
// "cli#SOURCE:FUNCTION". Git reference names
// cannot hold ':' and repository names cannot hold '/', so the parts of a
// CodeCommit id cannot run into each other. It is a partition key and a
// sort key: one too long for a sort key (an S3 key near its 1,024 bytes,
// a deep CodeCommit path) is cut and ends with a hash of the whole
// (boundKey).
func (s Source) ID() string {
	switch s.Kind {
	case KindCodeCommit:
		return boundKey("codecommit#" + s.Repository + "/" + s.Branch + ":" + s.Path)
	case KindPipeline, KindCLI:
		return boundKey(s.Kind + "#" + s.Repository + ":" + s.Path)
	}
	return boundKey("s3#" + s.Bucket + "/" + s.Key)
}

// String names the source at its version, in records and logs:
// s3://BUCKET/KEY?versionId=V, codecommit://REPOSITORY/PATH@COMMIT,
// codepipeline://JOB/PATH (as the pipeline's records always named a
// file) or cli://SOURCE/FUNCTION@RUN.
func (s Source) String() string {
	switch s.Kind {
	case KindCodeCommit:
		return "codecommit://" + s.Repository + "/" + s.Path + "@" + s.Version
	case KindPipeline:
		return "codepipeline://" + s.Version + "/" + s.Path
	case KindCLI:
		return "cli://" + s.Repository + "/" + s.Path + "@" + s.Version
	}
	out := "s3://" + s.Bucket + "/" + s.Key
	if s.Version != "" {
		out += "?versionId=" + s.Version
	}
	return out
}

// sourceAttrs are the attributes that describe a source in an item.
var sourceAttrs = []string{"kind", "bucket", "key", "repository", "branch", "path", "version", "sibling_version"}

func (s Source) values() map[string]string {
	return map[string]string{
		"kind": s.Kind, "bucket": s.Bucket, "key": s.Key, "repository": s.Repository,
		"branch": s.Branch, "path": s.Path, "version": s.Version, "sibling_version": s.SiblingVersion,
	}
}

func sourceOf(item map[string]types.AttributeValue) Source {
	return Source{
		Kind: getS(item, "kind"), Bucket: getS(item, "bucket"), Key: getS(item, "key"),
		Repository: getS(item, "repository"), Branch: getS(item, "branch"), Path: getS(item, "path"),
		Version: getS(item, "version"), HasSibling: getBool(item, "has_sibling"), SiblingVersion: getS(item, "sibling_version"),
	}
}

// DeclKey is the function reference a declaration is indexed under: the
// function's name, with its qualifier if any ($LATEST is none). The same
// function written as a name or an ARN is one key; orders and orders:live
// are two.
func DeclKey(ref string) string {
	r, err := funcref.Parse(ref)
	if err != nil {
		return ref
	}
	q := r.Qualifier
	if q == funcref.Latest {
		q = ""
	}
	return funcref.Qualify(r.Name, q)
}

// Declaration is a live source declaring a function.
type Declaration struct {
	// Function is the declared reference (DeclKey).
	Function string
	// Source is the live file, at the version that declares it.
	Source Source
	// DeclaredAt is when the index first saw the source declare the
	// function.
	DeclaredAt time.Time
	// Applied is what was applied of the file, kept with the active
	// declaration (SetActive) so that a teardown never needs the file
	// again; nil for a live declaration, and for an active one stored
	// before it was kept.
	Applied *Applied
}

func declPK(fn string) string { return "decl#" + fn }

// activeSK sorts apart from source ids, which start with a letter.
const activeSK = "#active"

// Declarations returns the function's live declarations, ordered by
// DeclaredAt then source id, and its active declaration (nil if none).
func (s *Store) Declarations(ctx context.Context, fn string) ([]Declaration, *Declaration, error) {
	in := &dynamodb.QueryInput{
		TableName:                 aws.String(s.table),
		KeyConditionExpression:    aws.String("#pk = :pk"),
		ExpressionAttributeNames:  map[string]string{"#pk": attrPK},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(declPK(fn))},
		ConsistentRead:            aws.Bool(true),
	}
	var decls []Declaration
	var active *Declaration
	for {
		page, err := s.api.Query(ctx, in)
		if err != nil {
			return nil, nil, fmt.Errorf("query declarations of function %s in table %s: %w", fn, s.table, err)
		}
		for _, item := range page.Items {
			d := Declaration{Function: fn, Source: sourceOf(item)}
			d.DeclaredAt, _ = time.Parse(timeLayout, getS(item, "declared_at"))
			if getS(item, attrSK) == activeSK {
				d.Applied = appliedOf(item)
				active = &d
				continue
			}
			decls = append(decls, d)
		}
		if len(page.LastEvaluatedKey) == 0 {
			break
		}
		in.ExclusiveStartKey = page.LastEvaluatedKey
	}
	sort.Slice(decls, func(i, j int) bool {
		a, b := decls[i], decls[j]
		if !a.DeclaredAt.Equal(b.DeclaredAt) {
			return a.DeclaredAt.Before(b.DeclaredAt)
		}
		return a.Source.ID() < b.Source.ID()
	})
	return decls, active, nil
}

// SetActive records d as the function's declaration applied to AWS, with
// what was applied of its file (d.Applied, if set), and as the source last
// applied in the function's known item (drift.go).
func (s *Store) SetActive(ctx context.Context, d Declaration) error {
	item := map[string]types.AttributeValue{
		attrPK: str(declPK(d.Function)), attrSK: str(activeSK),
		"type": str("active"), "function": str(d.Function),
		"declared_at": str(d.DeclaredAt.UTC().Format(timeLayout)),
		"applied_at":  str(s.now().UTC().Format(timeLayout)),
		"has_sibling": &types.AttributeValueMemberBOOL{Value: d.Source.HasSibling},
	}
	for k, v := range d.Source.values() {
		if v != "" {
			item[k] = str(v)
		}
	}
	if err := putApplied(item, d.Applied); err != nil {
		return fmt.Errorf("put active declaration of function %s into table %s: %w", d.Function, s.table, err)
	}
	_, err := s.api.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: item})
	if err != nil {
		return fmt.Errorf("put active declaration of function %s into table %s: %w", d.Function, s.table, err)
	}
	return s.setLastApplied(ctx, d.Function, d.Source)
}

// DeleteActive forgets the function's active declaration (torn down).
func (s *Store) DeleteActive(ctx context.Context, fn string) error {
	_, err := s.api.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(s.table), Key: key(declPK(fn), activeSK)})
	if err != nil {
		return fmt.Errorf("delete active declaration of function %s from table %s: %w", fn, s.table, err)
	}
	return nil
}

// Pending are the functions that index changes left to converge, with the
// tag of the change that last added each, and the item that holds them (a
// source item, or a CodeCommit branch item).
type Pending struct {
	pk, sk    string
	Functions map[string]string
}

const pendingPrefix = "pending:"

func pendingOf(pk, sk string, item map[string]types.AttributeValue) Pending {
	p := Pending{pk: pk, sk: sk, Functions: map[string]string{}}
	for name := range item {
		if fn, ok := strings.CutPrefix(name, pendingPrefix); ok {
			p.Functions[fn] = getS(item, name)
		}
	}
	return p
}

// Sorted lists the pending functions, first (if pending) then the others
// by name.
func (p Pending) Sorted(first string) []string {
	var out []string
	for fn := range p.Functions {
		if fn != first {
			out = append(out, fn)
		}
	}
	sort.Strings(out)
	if _, ok := p.Functions[first]; ok {
		out = append([]string{first}, out...)
	}
	return out
}

// Settle removes fn from the pending functions once it has converged,
// unless a later change added it again (its tag changed): that change
// converges it.
func (s *Store) Settle(ctx context.Context, p Pending, fn string) error {
	tag, ok := p.Functions[fn]
	if !ok {
		return nil
	}
	_, err := s.api.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.table),
		Key:                       key(p.pk, p.sk),
		UpdateExpression:          aws.String("REMOVE #p"),
		ConditionExpression:       aws.String("#p = :tag"),
		ExpressionAttributeNames:  map[string]string{"#p": pendingPrefix + fn},
		ExpressionAttributeValues: map[string]types.AttributeValue{":tag": str(tag)},
	})
	if err != nil && !isConditionFailed(err) {
		return fmt.Errorf("settle function %s in %s of table %s: %w", fn, p.pk, s.table, err)
	}
	return nil
}

// ErrIndexMoved: the source's item changed since it was read (another
// event of the source was indexed meanwhile). Read it again and decide
// again.
var ErrIndexMoved = errors.New("the source's index entry changed meanwhile")

// isTransactionConflict reports whether a transaction was cancelled by a
// failed condition or a concurrent transaction on one of its items.
func isTransactionConflict(err error) bool {
	var tc *types.TransactionCanceledException
	if !errors.As(err, &tc) {
		return false
	}
	for _, r := range tc.CancellationReasons {
		if c := aws.ToString(r.Code); c == "ConditionalCheckFailed" || c == "TransactionConflict" {
			return true
		}
	}
	return false
}
