package records

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// sourceSK is the sort key of source items ("sequencer": S3 sources kept
// their last sequencer under it before the index existed).
const sourceSK = "sequencer"

// SourceState is what the index knows of one source.
type SourceState struct {
	// Sequencer of the newest S3 event applied (normalized), "" if none;
	// DeclSequencer of the newest one that changed the declaration (a
	// valid file, or a removal). An invalid file changes only Sequencer,
	// so that an older valid file arriving after it still declares.
	Sequencer     string
	DeclSequencer string
	// Function is the function the source's last valid file declares
	// (DeclKey), kept when the source is deleted or a later file is
	// invalid; Version is that file's version.
	Function string
	Version  string
	// FileVersion is the version of the newest file indexed, valid or
	// not: the one of the newest event, or the one a sweep found current
	// (which has no sequencer, so an event indexed after it sets it
	// again); "" if none was recorded (items written before it existed).
	// A sweep compares it with the key's current version, to find a put
	// whose event never came, without reading an invalid file again.
	FileVersion string
	// FileSibling is the _lambdadef.json the newest file was read with
	// (SiblingTag); "" if not recorded (items written before it was).
	FileSibling string
	// Deleted: the source's file was removed.
	Deleted bool
	// Pending are the functions the source's changes left to converge.
	Pending Pending

	found bool
	rev   int64
}

// Declares is the function the source declares now: its last valid file's,
// unless the source was deleted.
func (st SourceState) Declares() string {
	if st.Deleted {
		return ""
	}
	return st.Function
}

// HasFile reports whether the index has the source's file at version as
// its current one: its newest file (valid or not) or its declaring file is
// that version, and the source was not removed since.
func (st SourceState) HasFile(version string) bool {
	return st.found && !st.Deleted && (st.FileVersion == version || st.Version == version)
}

// Stale reports whether an S3 event with sequencer seq is older than the
// newest one that changed the source's declaration: it can change nothing.
func (st SourceState) Stale(seq string) bool {
	return st.DeclSequencer != "" && CompareSequencers(seq, st.DeclSequencer) < 0
}

// Replay reports whether the S3 event with sequencer seq was applied
// already.
func (st SourceState) Replay(seq string) bool {
	return (st.DeclSequencer != "" && CompareSequencers(seq, st.DeclSequencer) == 0) ||
		(st.Sequencer != "" && CompareSequencers(seq, st.Sequencer) == 0)
}

// Superseded reports whether an event newer than seq (of any kind) was
// applied: an invalid file of seq is not worth recording.
func (st SourceState) Superseded(seq string) bool {
	return st.Sequencer != "" && CompareSequencers(seq, st.Sequencer) < 0
}

// SourceState reads what the index knows of a source. A source never seen
// is the zero SourceState.
func (s *Store) SourceState(ctx context.Context, src Source) (SourceState, error) {
	id := src.ID()
	item, err := s.getItem(ctx, id, sourceSK)
	if err != nil {
		return SourceState{}, err
	}
	declSeq := getS(item, "decl_sequencer")
	if declSeq == "" { // written before the index existed
		declSeq = getS(item, "sequencer")
	}
	return SourceState{
		Sequencer:     getS(item, "sequencer"),
		DeclSequencer: declSeq,
		Function:      getS(item, "function"),
		Version:       getS(item, "valid_version"),
		FileVersion:   getS(item, "file_version"),
		FileSibling:   getS(item, "file_sibling"),
		Deleted:       getBool(item, "deleted"),
		Pending:       pendingOf(id, sourceSK, item),
		found:         item != nil,
		rev:           getN(item, "rev"),
	}, nil
}

// ChangeKind is what an event did to a source.
type ChangeKind int

const (
	// Declare: the source's file is valid and declares Change.Function.
	Declare ChangeKind = iota + 1
	// Remove: the source's file was deleted.
	Remove
	// InvalidFile: the source's file does not validate; the previous
	// declaration holds.
	InvalidFile
)

// Change is one event's change to a source, indexed by Store.Index.
type Change struct {
	Kind ChangeKind
	// Source is the source at the event's version.
	Source Source
	// Sequencer is the S3 event's sequencer; "" for CodeCommit (ordered by
	// its branch), and for a change a sweep found without its event.
	Sequencer string
	// Function is the declared function (DeclKey) of a Declare.
	Function string
	// Tag, if set, marks the functions the change affects (the one
	// declared and the one no longer declared) as pending on the source's
	// item, in the same transaction.
	Tag string
}

// Index writes a change of a source in one transaction: the source's item
// (only if it is still as prev, read by SourceState: ErrIndexMoved
// otherwise), the declaration of the function the file declares, and the
// removal of the declaration of the function it declared before; and the
// sources of both functions' known items (drift.go), which the sweep
// lists.
func (s *Store) Index(ctx context.Context, prev SourceState, c Change) error {
	id := c.Source.ID()
	u := newUpdate()
	u.set("rev", num(prev.rev+1))
	u.set("type", str("source"))
	newest := true
	if c.Sequencer != "" {
		seq := NormalizeSequencer(c.Sequencer)
		if c.Kind != InvalidFile {
			u.set("decl_sequencer", str(seq))
		}
		newest = prev.Sequencer == "" || seq > prev.Sequencer
		if newest {
			u.set("sequencer", str(seq))
		}
	}
	if newest && (c.Kind == Declare || c.Kind == InvalidFile) {
		u.set("file_version", str(c.Source.Version))
		u.set("file_sibling", str(SiblingTag(c.Source)))
	}
	was := prev.Declares()
	var items []types.TransactWriteItem
	switch c.Kind {
	case Declare:
		u.set("function", str(c.Function))
		u.set("valid_version", str(c.Source.Version))
		u.set("deleted", &types.AttributeValueMemberBOOL{Value: false})
		items = append(items, s.declare(c.Function, c.Source), s.knownUpdate(c.Function, id, true))
		u.pending(c.Tag, c.Function, was)
		if was == c.Function {
			was = ""
		}
	case Remove:
		u.set("deleted", &types.AttributeValueMemberBOOL{Value: true})
		u.pending(c.Tag, was)
	case InvalidFile:
		was = ""
	}
	if was != "" {
		items = append(items, types.TransactWriteItem{Delete: &types.Delete{TableName: aws.String(s.table), Key: key(declPK(was), id)}},
			s.knownUpdate(was, id, false))
	}
	cond := u.condition(prev, id)
	src := types.TransactWriteItem{Update: &types.Update{
		TableName: aws.String(s.table), Key: key(id, sourceSK), UpdateExpression: aws.String(u.expr()),
		ConditionExpression: aws.String(cond), ExpressionAttributeNames: u.names, ExpressionAttributeValues: u.values,
	}}
	_, err := s.api.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: append([]types.TransactWriteItem{src}, items...)})
	if isTransactionConflict(err) {
		return fmt.Errorf("index %s: %w", c.Source, ErrIndexMoved)
	}
	if err != nil {
		return fmt.Errorf("index %s in table %s: %w", c.Source, s.table, err)
	}
	return nil
}

// condition is the check that the source's item is still as read in
// prev: its revision, or, for an item from before the index (no revision),
// that it exists and has none; or that there is none.
func (u *update) condition(prev SourceState, id string) string {
	switch {
	case !prev.found:
		u.names["#pk"] = attrPK
		return "attribute_not_exists(#pk)"
	case prev.rev == 0:
		u.names["#pk"], u.names["#rev"] = attrPK, "rev"
		u.values[":pk0"] = str(id)
		return "attribute_not_exists(#rev) AND #pk = :pk0"
	}
	u.names["#rev"] = "rev"
	u.values[":rev0"] = num(prev.rev)
	return "#rev = :rev0"
}

// sourceUpdate sets an item's type, its function fn and the attributes
// that locate src (removing those src has no value for).
func sourceUpdate(itemType, fn string, src Source) *update {
	u := newUpdate()
	u.set("type", str(itemType))
	u.set("function", str(fn))
	u.set("has_sibling", &types.AttributeValueMemberBOOL{Value: src.HasSibling})
	values := src.values()
	for _, name := range sourceAttrs {
		if v := values[name]; v != "" {
			u.set(name, str(v))
		} else {
			u.remove(name)
		}
	}
	return u
}

// declare is the write of fn's declaration by src; declared_at is kept
// from an earlier version of the same declaration.
func (s *Store) declare(fn string, src Source) types.TransactWriteItem {
	u := sourceUpdate("declaration", fn, src)
	u.names["#declared_at"] = "declared_at"
	u.values[":now"] = str(s.now().UTC().Format(timeLayout))
	u.sets = append(u.sets, "#declared_at = if_not_exists(#declared_at, :now)")
	return types.TransactWriteItem{Update: &types.Update{
		TableName: aws.String(s.table), Key: key(declPK(fn), src.ID()), UpdateExpression: aws.String(u.expr()),
		ExpressionAttributeNames: u.names, ExpressionAttributeValues: u.values,
	}}
}

// update builds an update expression.
type update struct {
	sets, removes []string
	names         map[string]string
	values        map[string]types.AttributeValue
}

func newUpdate() *update {
	return &update{names: map[string]string{}, values: map[string]types.AttributeValue{}}
}

func (u *update) set(name string, v types.AttributeValue) {
	n := "#a" + strconv.Itoa(len(u.names))
	u.names[n] = name
	u.values[":v"+n[1:]] = v
	u.sets = append(u.sets, n+" = :v"+n[1:])
}

func (u *update) remove(name string) {
	n := "#a" + strconv.Itoa(len(u.names))
	u.names[n] = name
	u.removes = append(u.removes, n)
}

// pending marks the functions (the empty ones left out) with tag.
func (u *update) pending(tag string, fns ...string) {
	if tag == "" {
		return
	}
	seen := map[string]bool{}
	for _, fn := range fns {
		if fn != "" && !seen[fn] {
			seen[fn] = true
			u.set(pendingPrefix+fn, str(tag))
		}
	}
}

func (u *update) expr() string {
	e := "SET " + strings.Join(u.sets, ", ")
	if len(u.removes) > 0 {
		e += " REMOVE " + strings.Join(u.removes, ", ")
	}
	return e
}

// AddPending marks functions as pending on p's item with tag.
func (s *Store) AddPending(ctx context.Context, p Pending, tag string, fns ...string) error {
	u := newUpdate()
	u.pending(tag, fns...)
	if len(u.sets) == 0 {
		return nil
	}
	_, err := s.api.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table), Key: key(p.pk, p.sk), UpdateExpression: aws.String(u.expr()),
		ExpressionAttributeNames: u.names, ExpressionAttributeValues: u.values,
	})
	if err != nil {
		return fmt.Errorf("mark functions pending in %s of table %s: %w", p.pk, s.table, err)
	}
	return nil
}
