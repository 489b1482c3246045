package records_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/google/go-cmp/cmp"

	"github.com/eventwire/eventwire/internal/records"
)

func TestDeclKey(t *testing.T) {
	tests := []struct{ ref, want string }{
		{"orders", "orders"},
		{"orders:live", "orders:live"},
		{"orders:$LATEST", "orders"},
		{"arn:aws:lambda:us-east-1:123456789012:function:orders", "orders"},
		{"arn:aws:lambda:us-east-1:123456789012:function:orders:live", "orders:live"},
		{"123456789012:function:orders:7", "orders:7"},
	}
	for _, tt := range tests {
		if got := records.DeclKey(tt.ref); got != tt.want {
			t.Errorf("DeclKey(%q) = %q, want %q", tt.ref, got, tt.want)
		}
	}
}

func TestCheckSequencer(t *testing.T) {
	tests := []struct{ seq, wantErr string }{
		{"0055AED6DCD90281E5", ""},
		{"0055aed6dcd90281e5", ""},
		{strings.Repeat("F", 64), ""},
		{"", "sequencer: empty"},
		{strings.Repeat("F", 65), "65 characters, want at most 64"},
		{"0055AED6DCD9028 1E5", `' ' is not a hexadecimal digit`},
		{"0x55", `'x' is not a hexadecimal digit`},
	}
	for _, tt := range tests {
		err := records.CheckSequencer(tt.seq)
		if (err == nil) != (tt.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
			t.Errorf("CheckSequencer(%q) = %v, want %q", tt.seq, err, tt.wantErr)
		}
	}
}

func TestSource_IDAndString(t *testing.T) {
	s3 := records.S3Source("defs", "team a/orders/_lambdaeventsourcedef.json", "v1")
	cc := records.CodeCommitSource("definitions", "refs/heads/main", "orders/_lambdaeventsourcedef.json", "c1")
	got := []string{s3.ID(), s3.String(), cc.ID(), cc.String()}
	want := []string{
		"s3#defs/team a/orders/_lambdaeventsourcedef.json",
		"s3://defs/team a/orders/_lambdaeventsourcedef.json?versionId=v1",
		"codecommit#definitions/refs/heads/main:orders/_lambdaeventsourcedef.json",
		"codecommit://definitions/orders/_lambdaeventsourcedef.json@c1",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// indexed is the index as plain data: each function's declarations (source
// id@version) and active declaration.
func indexed(t *testing.T, s *records.Store, fns ...string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, fn := range fns {
		decls, active, err := s.Declarations(context.Background(), fn)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range decls {
			out[fn] = append(out[fn], d.Source.ID()+"@"+d.Source.Version)
		}
		if active != nil {
			out[fn] = append(out[fn], "active "+active.Source.ID()+"@"+active.Source.Version)
		}
	}
	return out
}

// One source through a declaration, a new version, an invalid file, a
// switch to another function and a removal: one transaction each, and the
// index says at every step which function the source declares.
func TestIndex_OneSourceThroughItsLife(t *testing.T) {
	now := time.Date(2026, 11, 23, 1, 0, 0, 0, time.UTC)
	s := newStore(t, &now)
	ctx := context.Background()
	const bucket, key = "defs", "orders/_lambdaeventsourcedef.json"
	id := "s3#defs/" + key
	steps := []struct {
		name   string
		change records.Change
		want   map[string][]string
		state  string // Function Version FileVersion Deleted pending...
	}{
		{"declared", records.Change{Kind: records.Declare, Sequencer: "0055AED6DCD90281E5", Function: "orders", Tag: "t1"},
			map[string][]string{"orders": {id + "@v1"}}, "orders v1 v1 false [orders=t1]"},
		{"new version", records.Change{Kind: records.Declare, Sequencer: "0055AED6DCD90281E6", Function: "orders", Tag: "t2"},
			map[string][]string{"orders": {id + "@v2"}}, "orders v2 v2 false [orders=t2]"},
		{"invalid: the declaration holds", records.Change{Kind: records.InvalidFile, Sequencer: "0055AED6DCD90281E7"},
			map[string][]string{"orders": {id + "@v2"}}, "orders v2 v3 false [orders=t2]"},
		{"switched to inventory", records.Change{Kind: records.Declare, Sequencer: "0055AED6DCD90281E8", Function: "inventory", Tag: "t4"},
			map[string][]string{"inventory": {id + "@v4"}}, "inventory v4 v4 false [inventory=t4 orders=t4]"},
		{"removed", records.Change{Kind: records.Remove, Sequencer: "0055AED6DCD90281F0", Tag: "t5"},
			map[string][]string{}, "inventory v4 v4 true [inventory=t5 orders=t4]"},
	}
	for i, st := range steps {
		prev, err := s.SourceState(ctx, records.S3Source(bucket, key, ""))
		if err != nil {
			t.Fatal(err)
		}
		st.change.Source = records.S3Source(bucket, key, "v"+string(rune('1'+i)))
		if err := s.Index(ctx, prev, st.change); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if diff := cmp.Diff(st.want, indexed(t, s, "orders", "inventory")); diff != "" {
			t.Errorf("%s: index (-want +got):\n%s", st.name, diff)
		}
		got, err := s.SourceState(ctx, records.S3Source(bucket, key, ""))
		if err != nil {
			t.Fatal(err)
		}
		var pending []string
		for _, fn := range got.Pending.Sorted("") {
			pending = append(pending, fn+"="+got.Pending.Functions[fn])
		}
		if s := strings.Join([]string{got.Function, got.Version, got.FileVersion, boolText(got.Deleted), "[" + strings.Join(pending, " ") + "]"}, " "); s != st.state {
			t.Errorf("%s: source state %q, want %q", st.name, s, st.state)
		}
		if got.Sequencer != records.NormalizeSequencer(st.change.Sequencer) {
			t.Errorf("%s: sequencer %s", st.name, got.Sequencer)
		}
	}
}

func boolText(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// A write based on a state that another event changed meanwhile is
// refused as a whole (nothing of it is written), so that two events of one
// source never both act on what it declared before.
func TestIndex_StateChangedMeanwhile_Refused(t *testing.T) {
	now := time.Date(2026, 11, 23, 1, 0, 0, 0, time.UTC)
	s := newStore(t, &now)
	ctx := context.Background()
	src := records.S3Source("defs", "a/_lambdaeventsourcedef.json", "v1")
	first, _ := s.SourceState(ctx, src)
	// Two events read the same (empty) state; the first one's write wins.
	if err := s.Index(ctx, first, records.Change{Kind: records.Declare, Source: src, Sequencer: "01", Function: "orders", Tag: "a"}); err != nil {
		t.Fatal(err)
	}
	src2 := src
	src2.Version = "v2"
	err := s.Index(ctx, first, records.Change{Kind: records.Declare, Source: src2, Sequencer: "02", Function: "inventory", Tag: "b"})
	if !errors.Is(err, records.ErrIndexMoved) {
		t.Fatalf("second write on a stale read: err = %v, want ErrIndexMoved", err)
	}
	if diff := cmp.Diff(map[string][]string{"orders": {src.ID() + "@v1"}}, indexed(t, s, "orders", "inventory")); diff != "" {
		t.Errorf("index (-want +got):\n%s", diff)
	}
	// Read again, it goes through and moves the declaration.
	again, _ := s.SourceState(ctx, src)
	if err := s.Index(ctx, again, records.Change{Kind: records.Declare, Source: src2, Sequencer: "02", Function: "inventory", Tag: "b"}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string][]string{"inventory": {src.ID() + "@v2"}}, indexed(t, s, "orders", "inventory")); diff != "" {
		t.Errorf("index (-want +got):\n%s", diff)
	}
}

// FileVersion is the version of the newest file indexed, valid or not: an
// older event arriving late does not change it, a change without a
// sequencer (a sweep's) always does, and an event after it sets it again.
func TestIndex_FileVersionFollowsTheNewestFile(t *testing.T) {
	now := time.Date(2026, 11, 23, 1, 0, 0, 0, time.UTC)
	s := newStore(t, &now)
	ctx := context.Background()
	steps := []struct {
		name    string
		version string
		change  records.Change
		want    string // Function Version FileVersion Sequencer
	}{
		{"v2's event", "v2", records.Change{Kind: records.InvalidFile, Sequencer: "02"}, "  v2 " + records.NormalizeSequencer("02")},
		{"v1's event, late", "v1", records.Change{Kind: records.Declare, Sequencer: "01", Function: "orders"}, "orders v1 v2 " + records.NormalizeSequencer("02")},
		{"v3 found by a sweep", "v3", records.Change{Kind: records.Declare, Function: "orders"}, "orders v3 v3 " + records.NormalizeSequencer("02")},
		{"v3's event", "v3", records.Change{Kind: records.Declare, Sequencer: "03", Function: "orders"}, "orders v3 v3 " + records.NormalizeSequencer("03")},
		{"v4 invalid, found by a sweep", "v4", records.Change{Kind: records.InvalidFile}, "orders v3 v4 " + records.NormalizeSequencer("03")},
	}
	for _, st := range steps {
		src := records.S3Source("defs", "a/_lambdaeventsourcedef.json", st.version)
		prev, err := s.SourceState(ctx, src)
		if err != nil {
			t.Fatal(err)
		}
		st.change.Source = src
		if err := s.Index(ctx, prev, st.change); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		got, err := s.SourceState(ctx, src)
		if err != nil {
			t.Fatal(err)
		}
		if s := strings.Join([]string{got.Function, got.Version, got.FileVersion, got.Sequencer}, " "); s != st.want {
			t.Errorf("%s: state %q, want %q", st.name, s, st.want)
		}
	}
}

// A key's item from before the index (a sequencer and a function, no
// revision) is taken over: its function is the one declared before.
func TestIndex_ItemFromBeforeTheIndex(t *testing.T) {
	now := time.Date(2026, 11, 23, 1, 0, 0, 0, time.UTC)
	s, db := newStoreAndClient(t, &now)
	ctx := context.Background()
	src := records.S3Source("defs", "a/_lambdaeventsourcedef.json", "v2")
	if _, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: src.ID()}, "sk": &types.AttributeValueMemberS{Value: "sequencer"},
		"sequencer": &types.AttributeValueMemberS{Value: records.NormalizeSequencer("01")},
		"function":  &types.AttributeValueMemberS{Value: "orders"},
	}}); err != nil {
		t.Fatal(err)
	}
	prev, err := s.SourceState(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	if prev.Declares() != "orders" || !prev.Replay("01") || !prev.Stale("00FF") {
		t.Fatalf("state %+v", prev)
	}
	if err := s.Index(ctx, prev, records.Change{Kind: records.Declare, Source: src, Sequencer: "02", Function: "inventory", Tag: "t"}); err != nil {
		t.Fatal(err)
	}
	got, _ := s.SourceState(ctx, src)
	if diff := cmp.Diff([]string{"inventory", "orders"}, got.Pending.Sorted("inventory")); diff != "" {
		t.Errorf("pending (-want +got):\n%s", diff)
	}
}

// declared_at is when the index first saw the source declare the
// function: kept by later versions, new after a removal; declarations are
// ordered by it, then by source id.
func TestDeclarations_DeclaredAtAndOrder(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 1, 0, 0, 0, time.UTC)
	now := t0
	s := newStore(t, &now)
	ctx := context.Background()
	write := func(key string, kind records.ChangeKind, seq, version string) {
		t.Helper()
		src := records.S3Source("defs", key, version)
		prev, err := s.SourceState(ctx, src)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Index(ctx, prev, records.Change{Kind: kind, Source: src, Sequencer: seq, Function: "orders"}); err != nil {
			t.Fatal(err)
		}
	}
	write("b", records.Declare, "01", "b1")
	write("c", records.Declare, "01", "c1")
	now = t0.Add(time.Minute)
	write("a", records.Declare, "01", "a1")
	write("b", records.Declare, "02", "b2") // keeps t0
	write("c", records.Remove, "02", "c2")
	write("c", records.Declare, "03", "c3") // new: t0+1m
	decls, active, err := s.Declarations(ctx, "orders")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range decls {
		got = append(got, d.Source.Key+"@"+d.Source.Version+" "+d.DeclaredAt.Sub(t0).String())
	}
	if diff := cmp.Diff([]string{"b@b2 0s", "a@a1 1m0s", "c@c3 1m0s"}, got); diff != "" {
		t.Errorf("declarations (-want +got):\n%s", diff)
	}
	if active != nil {
		t.Errorf("active %+v before any SetActive", active)
	}
	d := decls[0]
	d.Source.HasSibling, d.Source.SiblingVersion = true, "s1"
	if err := s.SetActive(ctx, d); err != nil {
		t.Fatal(err)
	}
	if _, active, _ = s.Declarations(ctx, "orders"); active == nil || !cmp.Equal(*active, d) {
		t.Errorf("active %+v, want %+v", active, d)
	}
	if err := s.DeleteActive(ctx, "orders"); err != nil {
		t.Fatal(err)
	}
	if _, active, _ = s.Declarations(ctx, "orders"); active != nil {
		t.Errorf("active %+v after DeleteActive", active)
	}
}

// Settle removes a pending function only if no later change marked it
// again.
func TestSettle_KeepsALaterMark(t *testing.T) {
	now := time.Date(2026, 11, 23, 1, 0, 0, 0, time.UTC)
	s := newStore(t, &now)
	ctx := context.Background()
	br, err := s.Branch(ctx, "definitions", "refs/heads/main")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.AddPending(ctx, br.Pending, "t1", "orders", "inventory"); err != nil {
		t.Fatal(err)
	}
	seen, _ := s.Branch(ctx, "definitions", "refs/heads/main")
	if err := s.AddPending(ctx, br.Pending, "t2", "orders"); err != nil {
		t.Fatal(err)
	}
	for _, fn := range []string{"orders", "inventory"} {
		if err := s.Settle(ctx, seen.Pending, fn); err != nil {
			t.Fatal(err)
		}
	}
	after, _ := s.Branch(ctx, "definitions", "refs/heads/main")
	if diff := cmp.Diff(map[string]string{"orders": "t2"}, after.Pending.Functions); diff != "" {
		t.Errorf("pending (-want +got):\n%s", diff)
	}
}

func TestBranch_AdvanceIsConditional(t *testing.T) {
	now := time.Date(2026, 11, 23, 1, 0, 0, 0, time.UTC)
	s := newStore(t, &now)
	ctx := context.Background()
	const repo, branch = "definitions", "refs/heads/main"
	steps := []struct {
		from, to string
		moved    bool
	}{
		{"", "c1", false},
		{"", "c2", true},
		{"c1", "c2", false},
		{"c1", "c3", true},
		{"c2", "c3", false},
	}
	for _, st := range steps {
		err := s.AdvanceBranch(ctx, repo, branch, st.from, st.to)
		if got := errors.Is(err, records.ErrIndexMoved); got != st.moved || (err != nil && !got) {
			t.Errorf("%s..%s: err = %v, want moved %v", st.from, st.to, err, st.moved)
		}
	}
	if b, _ := s.Branch(ctx, repo, branch); b.Commit != "c3" {
		t.Errorf("branch at %q, want c3", b.Commit)
	}
}
