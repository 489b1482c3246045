package records_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/eventwire/eventwire/internal/records"
)

func TestSource_IDAndString_PipelineAndCLI(t *testing.T) {
	pl := records.PipelineSource("defs/Deploy/eventwire", "BuildArtifact/orders/_lambdaeventsourcedef.json", "job-1")
	cli := records.CLISource("team-a", "orders:$LATEST", "run-1")
	got := []string{pl.ID(), pl.String(), cli.ID(), cli.String()}
	want := []string{
		"codepipeline#defs/Deploy/eventwire:BuildArtifact/orders/_lambdaeventsourcedef.json",
		"codepipeline://job-1/BuildArtifact/orders/_lambdaeventsourcedef.json",
		"cli#team-a:orders",
		"cli://team-a/orders@run-1",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// A stored file comes back as stored, at its version only; one larger
// than DynamoDB's item limit fits, gzipped.
func TestStore_PutFile_RoundTrip(t *testing.T) {
	now := time.Now()
	s := newStore(t, &now)
	ctx := context.Background()
	big := `{"FunctionName": "orders", "Padding": "` + strings.Repeat("x", 600<<10) + `"}`
	src := records.CLISource("cli", "orders", "run-1")
	want := records.StoredFile{Path: "orders/_lambdaeventsourcedef.json", Data: []byte(big), Sib: []byte(`{"FunctionName":"orders"}`)}
	if err := s.PutFile(ctx, src, want); err != nil {
		t.Fatal(err)
	}
	got, err := s.File(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if _, err := s.File(ctx, records.CLISource("cli", "orders", "run-2")); !errors.Is(err, records.ErrNoStoredFile) {
		t.Errorf("another version: %v, want ErrNoStoredFile", err)
	}
}

// A lease's fence passes while it is held, and fails once it expired and
// another run took it, or once it was released.
func TestLease_Check(t *testing.T) {
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	s := newStore(t, &now)
	ctx := context.Background()
	l, err := s.AcquireLease(ctx, "orders", "laptop", records.LeaseOptions{Duration: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Check(ctx); err != nil {
		t.Fatalf("held lease: %v", err)
	}
	now = now.Add(2 * time.Minute)
	if err := l.Check(ctx); !errors.Is(err, records.ErrLeaseLost) {
		t.Errorf("expired lease: %v, want ErrLeaseLost", err)
	}
	if _, err := s.AcquireLease(ctx, "orders", "deployer", records.LeaseOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := l.Check(ctx); !errors.Is(err, records.ErrLeaseLost) || !strings.Contains(err.Error(), "held by deployer") {
		t.Errorf("lease taken over: %v, want ErrLeaseLost naming the deployer", err)
	}
}

// A set's files advance only from the state they were read in.
func TestStore_AdvanceSet(t *testing.T) {
	now := time.Now()
	s := newStore(t, &now)
	ctx := context.Background()
	prev, err := s.Set(ctx, records.KindPipeline, "defs/Deploy/eventwire")
	if err != nil {
		t.Fatal(err)
	}
	paths := map[string]string{"a/_lambdaeventsourcedef.json": "orders"}
	if err := s.AdvanceSet(ctx, prev, "job-1", paths); err != nil {
		t.Fatal(err)
	}
	if err := s.AdvanceSet(ctx, prev, "job-2", nil); !errors.Is(err, records.ErrIndexMoved) {
		t.Errorf("advance from a stale state: %v, want ErrIndexMoved", err)
	}
	got, err := s.Set(ctx, records.KindPipeline, "defs/Deploy/eventwire")
	if err != nil || got.Run != "job-1" || !cmp.Equal(paths, got.Paths) {
		t.Errorf("set %+v %v, want job-1's", got, err)
	}
}
