package records

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Sources whose files cannot be read again later: a CodePipeline action's
// input artifacts (KindPipeline) and the CLI's files (KindCLI). They
// declare functions in the index like S3 and CodeCommit files do, and
// keep the file they declared with in the table (a stored file), so that
// a convergence and the sweep read it from there:
//
//	stored file  pk "file#SOURCE-ID"     sk VERSION
//	set          pk "set#KIND#NAME"      sk "set"
//
// A set is what one declaring source's last run declared: a pipeline
// action's whole set of files (path -> function), so that a run that no
// longer holds a file removes its declaration, as a push that deletes a
// file does; and the functions its changes left to converge.

// PipelineSource is the file at path of a pipeline action's input
// artifacts, read by job.
func PipelineSource(action, path, job string) Source {
	return Source{Kind: KindPipeline, Repository: action, Path: path, Version: job}
}

// CLISource is the declaration of function fn by the CLI's source name,
// written by run.
func CLISource(name, fn, run string) Source {
	return Source{Kind: KindCLI, Repository: name, Path: DeclKey(fn), Version: run}
}

// StoredFile is a declaring file kept in the table: its path (what it is
// validated with), its bytes and its sibling _lambdadef.json's (nil if
// none).
type StoredFile struct {
	Path      string
	Data, Sib []byte
}

func storedPK(src Source) string { return boundKey("file#" + src.ID()) }

// PutFile keeps src's file at src.Version, gzipped: DynamoDB's item
// limit (400 KB) is below a definition file's (definition.MaxFileSize),
// and JSON compresses well. A file that still does not fit fails.
func (s *Store) PutFile(ctx context.Context, src Source, f StoredFile) error {
	item := map[string]types.AttributeValue{
		attrPK: str(storedPK(src)), attrSK: str(boundKey(src.Version)), "type": str("file"),
		"path": str(f.Path), "data": &types.AttributeValueMemberB{Value: gzipped(f.Data)},
		"stored_at": str(s.now().UTC().Format(timeLayout)),
	}
	if f.Sib != nil {
		item["sib"] = &types.AttributeValueMemberB{Value: gzipped(f.Sib)}
	}
	if _, err := s.api.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: item}); err != nil {
		return fmt.Errorf("store the file of %s in table %s: %w", src, s.table, err)
	}
	return nil
}

// ErrNoStoredFile: the table keeps no file for the source at its version.
var ErrNoStoredFile = errors.New("no stored file")

// File reads src's file at src.Version, kept by PutFile.
func (s *Store) File(ctx context.Context, src Source) (StoredFile, error) {
	item, err := s.getItem(ctx, storedPK(src), boundKey(src.Version))
	if err != nil {
		return StoredFile{}, err
	}
	if item == nil {
		return StoredFile{}, fmt.Errorf("%s: %w", src, ErrNoStoredFile)
	}
	f := StoredFile{Path: getS(item, "path")}
	if b, ok := item["data"].(*types.AttributeValueMemberB); ok {
		f.Data, err = gunzipped(b.Value)
	}
	if b, ok := item["sib"].(*types.AttributeValueMemberB); ok && err == nil {
		f.Sib, err = gunzipped(b.Value)
	}
	if err != nil {
		return StoredFile{}, fmt.Errorf("stored file of %s: %w", src, err)
	}
	return f, nil
}

// gzipped is b compressed.
func gzipped(b []byte) []byte {
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	_, _ = zw.Write(b) // a bytes.Buffer does not fail
	_ = zw.Close()
	return out.Bytes()
}

// gunzipped is b decompressed, within the size of a definition file
// (the table is trusted, but a bound costs nothing).
func gunzipped(b []byte) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	return io.ReadAll(io.LimitReader(zr, maxStoredFile))
}

// maxStoredFile bounds a stored file once decompressed: above any
// definition file (definition.MaxFileSize, 1 MiB).
const maxStoredFile = 4 << 20

const setSK = "set"

func setPK(kind, name string) string { return boundKey("set#" + kind + "#" + name) }

// SetLease is the name of the lease that serializes the indexing of a
// set's runs (a function name cannot hold '#').
func SetLease(kind, name string) string { return setPK(kind, name) }

// SetState is what the index knows of a set.
type SetState struct {
	// Paths are the files the set's last indexed run declared: path ->
	// function (DeclKey).
	Paths map[string]string
	// Run is that run's id ("" if none).
	Run     string
	Pending Pending
	rev     int64
	// kind and name are the set's, as Set read it.
	kind, name string
}

// Set reads what the index knows of a set.
func (s *Store) Set(ctx context.Context, kind, name string) (SetState, error) {
	pk := setPK(kind, name)
	item, err := s.getItem(ctx, pk, setSK)
	if err != nil {
		return SetState{}, err
	}
	st := SetState{Paths: map[string]string{}, Run: getS(item, "run"), Pending: pendingOf(pk, setSK, item), rev: getN(item, "rev"), kind: kind, name: name}
	if m, ok := item["paths"].(*types.AttributeValueMemberM); ok {
		for p, v := range m.Value {
			if sv, ok := v.(*types.AttributeValueMemberS); ok {
				st.Paths[p] = sv.Value
			}
		}
	}
	return st, nil
}

// AdvanceSet records run's files as the set's, if the set (the one Set
// read prev of) is still as prev (ErrIndexMoved otherwise).
func (s *Store) AdvanceSet(ctx context.Context, prev SetState, run string, paths map[string]string) error {
	kind, name := prev.kind, prev.name
	m := map[string]types.AttributeValue{}
	for p, fn := range paths {
		m[p] = str(fn)
	}
	cond, values := "attribute_not_exists(#rev)", map[string]types.AttributeValue{}
	if prev.rev > 0 {
		cond, values[":rev0"] = "#rev = :rev0", num(prev.rev)
	}
	values[":rev"], values[":run"], values[":paths"], values[":t"] = num(prev.rev+1), str(run), &types.AttributeValueMemberM{Value: m}, str("set")
	_, err := s.api.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.table),
		Key:                       key(setPK(kind, name), setSK),
		UpdateExpression:          aws.String("SET #rev = :rev, #run = :run, #paths = :paths, #t = :t"),
		ConditionExpression:       aws.String(cond),
		ExpressionAttributeNames:  map[string]string{"#rev": "rev", "#run": "run", "#paths": "paths", "#t": "type"},
		ExpressionAttributeValues: values,
	})
	if isConditionFailed(err) {
		return fmt.Errorf("advance %s set %s to run %s: %w", kind, name, run, ErrIndexMoved)
	}
	if err != nil {
		return fmt.Errorf("advance %s set %s in table %s: %w", kind, name, s.table, err)
	}
	return nil
}

// Winner is the declaration to apply of a function's live declarations:
// the active one (the one last applied) if still live, else the first of
// decls (ordered by Store.Declarations: the earliest declared).
func Winner(active *Declaration, decls []Declaration) Declaration {
	if active != nil {
		for _, d := range decls {
			if d.Source.ID() == active.Source.ID() {
				return d
			}
		}
	}
	return decls[0]
}

// DeclareAlone indexes src's declaration of fn (DeclKey) in a source of
// its own (a CLI declaration), read again and written again if another
// writer moved it meanwhile; with remove, its removal.
func (s *Store) DeclareAlone(ctx context.Context, src Source, fn string, remove bool) error {
	c := Change{Kind: Declare, Source: src, Function: fn}
	if remove {
		c = Change{Kind: Remove, Source: src}
	}
	for attempt := 0; ; attempt++ {
		prev, err := s.SourceState(ctx, src)
		if err != nil {
			return err
		}
		if remove && prev.Declares() == "" {
			return nil
		}
		err = s.Index(ctx, prev, c)
		if !errors.Is(err, ErrIndexMoved) || attempt == 4 {
			return err
		}
		time.Sleep(time.Duration(attempt+1) * 50 * time.Millisecond)
	}
}

// ErrLeaseLost: the lease is no longer this holder's (it expired and
// another run took it, or it was released): a fenced run makes no further
// change.
var ErrLeaseLost = errors.New("lease lost: another run took the function over")

// Check is the fence of a held lease: it reads the lease item (a
// consistent read) and fails with ErrLeaseLost unless it is still this
// acquisition's and not expired. A run checks before each change it makes
// to AWS, so that a run paused past its lease (a laptop asleep, a stopped
// process) changes nothing once another run may hold the function.
func (l *Lease) Check(ctx context.Context) error {
	item, err := l.store.getItem(ctx, leasePK(l.Function), leaseSK)
	if err != nil {
		return fmt.Errorf("check lease of function %s: %w", l.Function, err)
	}
	if item == nil || getS(item, "run") != l.run || !l.store.now().Before(time.Unix(getN(item, attrExpires), 0)) {
		holder := "nobody"
		if item != nil {
			holder = getS(item, "owner")
		}
		return fmt.Errorf("function %s: %w (held by %s)", l.Function, ErrLeaseLost, holder)
	}
	return nil
}
