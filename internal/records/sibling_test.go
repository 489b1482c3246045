package records_test

import (
	"context"
	"testing"
	"time"

	"github.com/eventwire/eventwire/internal/records"
)

// The index keeps the _lambdadef.json an S3 file was read with: the same
// file with another sibling (or none) is not the file indexed.
func TestIndex_HasSourceFileComparesTheSibling(t *testing.T) {
	now := time.Date(2026, 11, 23, 1, 0, 0, 0, time.UTC)
	s := newStore(t, &now)
	ctx := context.Background()
	src := func(version string, sib ...string) records.Source {
		x := records.S3Source("defs", "a/_lambdaeventsourcedef.json", version)
		if len(sib) > 0 {
			x.HasSibling, x.SiblingVersion = true, sib[0]
		}
		return x
	}
	indexed := src("v1", "s1")
	prev, err := s.SourceState(ctx, indexed)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Index(ctx, prev, records.Change{Kind: records.Declare, Source: indexed, Function: "orders"}); err != nil {
		t.Fatal(err)
	}
	st, err := s.SourceState(ctx, indexed)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		src  records.Source
		want bool
	}{
		{"same version and sibling", src("v1", "s1"), true},
		{"another sibling version", src("v1", "s2"), false},
		{"no sibling", src("v1"), false},
		{"another version", src("v2", "s1"), false},
	}
	for _, tt := range tests {
		if got := st.HasSourceFile(tt.src, false); got != tt.want {
			t.Errorf("%s: HasSourceFile = %v, want %v", tt.name, got, tt.want)
		}
	}
	unknown := records.SourceState{FileVersion: "v1"}
	if unknown.HasSourceFile(src("v1", "s1"), true) {
		t.Error("a state never found has the file")
	}
	if records.SiblingTag(src("v", "null")) != records.SiblingTag(src("v", "")) {
		t.Error(`S3's null version spelled "null" and "" differ`)
	}
}
