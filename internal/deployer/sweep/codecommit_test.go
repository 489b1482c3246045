package sweep_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/codecommit"
	"github.com/google/go-cmp/cmp"

	"github.com/eventwire/eventwire/internal/contract"
	"github.com/eventwire/eventwire/internal/deployer/compose"
	"github.com/eventwire/eventwire/internal/deployer/sweep"
	"github.com/eventwire/eventwire/internal/records"
	"github.com/eventwire/eventwire/internal/testkit/deployertest"
)

// The sweep of functions declared by files on a CodeCommit branch (moto has
// no CodeCommit: the repository is a fake speaking its JSON protocol; the
// rest is moto, with the real reconciler).

const (
	headRef  = "refs/heads/main"
	gonePath = "gone/_lambdaeventsourcedef.json"
	keptPath = "kept/_lambdaeventsourcedef.json"
	// callTimeout bounds one delivery to the handler.
	callTimeout = 2 * time.Minute
)

// newRepoSweepWorld is a sweep world whose handlers read the fake
// repository, with the functions gone and kept declared on its branch at
// deployertest.C1 and applied through the push of deployertest.C1.
func newRepoSweepWorld(t *testing.T) (*sweepWorld, *deployertest.FakeRepo, *deployertest.JSONServer) {
	t.Helper()
	sw := newSweepWorld(t)
	sw.mustFunction("gone", "kept")
	for _, q := range []string{"q-gone", "q-kept"} {
		if _, err := sw.Fixture.Queue(context.Background(), q); err != nil {
			t.Fatal(err)
		}
	}
	repo := &deployertest.FakeRepo{
		Name: "definitions", PageSize: 10,
		Parents: map[string][]string{deployertest.C1: {}},
		Trees:   map[string]map[string]string{deployertest.C1: {gonePath: queueFile("gone", 5), keptPath: queueFile("kept", 5)}},
		Refs:    map[string]string{headRef: deployertest.C1},
	}
	js := deployertest.NewCodeCommitServer(t, repo)
	// Two attempts, no backoff: a 500 is retried once, at once.
	sw.Config.CodeCommit.API = codecommit.NewFromConfig(sw.AWS, func(o *codecommit.Options) {
		o.BaseEndpoint = aws.String(js.URL)
		o.Retryer = retry.NewStandard(func(so *retry.StandardOptions) {
			so.MaxAttempts = 2
			so.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
		})
	})
	sw.deliverWith(sw.handler(false), deployertest.PushedEvent(t, deployertest.C1, ""))
	for _, fn := range []string{"gone", "kept"} {
		if n := sw.mappings(fn); n != 1 {
			t.Fatalf("after the push: %s has %d mappings, want 1", fn, n)
		}
	}
	return sw, repo, js
}

// deliverWith invokes h with ev as Lambda would, within callTimeout.
func (sw *sweepWorld) deliverWith(h *compose.Handler, ev json.RawMessage) {
	sw.T.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	ctx = lambdacontext.NewContext(ctx, &lambdacontext.LambdaContext{AwsRequestID: fmt.Sprintf("req-%d", sw.Seq.Add(1))})
	if err := h.Handle(ctx, ev); err != nil {
		sw.T.Fatalf("deliver: %v", err)
	}
}

// headReads are the paths GetFile was asked for at the branch's head (the
// liveness checks), in order.
func headReads(js *deployertest.JSONServer) []string {
	var out []string
	for _, r := range js.Requests() {
		if r.Op == "GetFile" && r.Body["commitSpecifier"] == headRef {
			out = append(out, fmt.Sprint(r.Body["filePath"]))
		}
	}
	return out
}

// Through the real handler: a file on the branch applied through its
// push, then deleted from the branch's head with no push event delivered.
// The index still declares the function, but GetFile at the head answers
// FileDoesNotExistException: the sweep indexes the removal and reports the
// function orphaned (changing nothing in AWS), then, with heal on, prunes
// it. The file still at the head is in sync. The push delivered late, then
// a push adding the file again, are handled as usual. GetBranch fails
// through both sweeps: their start cannot catch the branch up (logged),
// and the checks alone find the removal.
func TestSweep_CodeCommitFileRemovedWithoutPush_OrphanedThenPruned_Fake(t *testing.T) {
	sw, repo, js := newRepoSweepWorld(t)
	ctx := context.Background()
	repo.Update(func() { // no event delivered
		repo.Parents[deployertest.C2] = []string{deployertest.C1}
		repo.Trees[deployertest.C2] = map[string]string{keptPath: queueFile("kept", 5)}
		repo.Refs[headRef] = deployertest.C2
		repo.GetBranchFault = deployertest.AWSError{Type: "AccessDeniedException", Message: "not authorized to perform codecommit:GetBranch"}
	})

	if diff := cmp.Diff([]string{"gone declared", "kept declared"}, sw.sweep(sw.handler(false))); diff != "" {
		t.Errorf("sweep messages (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{gonePath, keptPath}, sortedCopy(headReads(js))); diff != "" {
		t.Errorf("GetFile at %s (-want +got):\n%s", headRef, diff)
	}
	if diff := cmp.Diff([]string{"gone orphaned 1", "kept in-sync 0"}, sw.results()); diff != "" {
		t.Errorf("drift results (-want +got):\n%s", diff)
	}
	if !strings.Contains(sw.plans()["gone"], "- delete      event-source-mapping arn:aws:sqs:us-east-1:123456789012:q-gone") {
		t.Errorf("orphan's plan lacks the mapping's deletion:\n%s", sw.plans()["gone"])
	}
	if decls, _, err := sw.Store.Declarations(ctx, "gone"); err != nil || len(decls) != 0 {
		t.Errorf("declarations of gone after the sweep: %v %v, want none", decls, err)
	}
	if st, err := sw.Store.SourceState(ctx, records.CodeCommitSource("definitions", headRef, gonePath, "")); err != nil || !st.Deleted {
		t.Errorf("source of gone after the sweep: deleted %v (%v), want the removal indexed", st.Deleted, err)
	}
	if got := sw.Log.Grep(sweep.RemovedWithoutEventLogMessage); len(got) != 1 ||
		!strings.Contains(got[0], "declared_by=codecommit://definitions/"+gonePath+"@"+deployertest.C1) {
		t.Errorf("log lines of the removal: %q", got)
	}
	if got := sw.Log.Grep("branch not indexed by the sweep"); len(got) != 1 || !strings.Contains(got[0], "AccessDeniedException") {
		t.Errorf("log lines of the catch-up: %q", got)
	}
	for fn, want := range map[string]int{"gone": 1, "kept": 1} {
		if n := sw.mappings(fn); n != want {
			t.Errorf("report only: %s has %d mappings, want %d", fn, n, want)
		}
	}

	// Heal: the function is now known as an orphan.
	if diff := cmp.Diff([]string{"gone orphan", "kept declared"}, sw.sweep(sw.handler(true))); diff != "" {
		t.Errorf("sweep messages, heal (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"gone pruned 1", "kept in-sync 0"}, sw.results()); diff != "" {
		t.Errorf("drift results, heal (-want +got):\n%s", diff)
	}
	for fn, want := range map[string]int{"gone": 0, "kept": 1} {
		if n := sw.mappings(fn); n != want {
			t.Errorf("healed: %s has %d mappings, want %d", fn, n, want)
		}
	}

	// The push of deployertest.C2 delivered late changes nothing; deployertest.C3 adds the file
	// again: wired again. A push is checked against the branch's head, so
	// GetBranch answers again from here.
	repo.Update(func() { repo.GetBranchFault = nil })
	sw.deliverWith(sw.handler(false), deployertest.PushedEvent(t, deployertest.C2, deployertest.C1))
	if n := sw.mappings("gone"); n != 0 {
		t.Errorf("after the late push: gone has %d mappings, want none", n)
	}
	repo.Update(func() {
		repo.Parents[deployertest.C3] = []string{deployertest.C2}
		repo.Trees[deployertest.C3] = map[string]string{keptPath: queueFile("kept", 5), gonePath: queueFile("gone", 7)}
		repo.Refs[headRef] = deployertest.C3
	})
	sw.deliverWith(sw.handler(false), deployertest.PushedEvent(t, deployertest.C3, deployertest.C2))
	if _, batch, _ := sw.mapping("gone"); batch != 7 {
		t.Errorf("after the file is added again: gone's BatchSize %d, want 7", batch)
	}
}

// GetFile at the head failing with another error than
// FileDoesNotExistException (AWS's AccessDeniedException, a 500) is no
// proof that the file is gone: with heal on, the check fails, its message
// is answered as a batch item failure (received again), and nothing is
// indexed or pruned.
func TestSweep_CodeCommitLivenessFails_CheckFailsNothingPruned_Fake(t *testing.T) {
	tests := []struct {
		name  string
		fault error
		// want is in the check's recorded error.
		want string
	}{
		{"access denied", deployertest.AWSError{Type: "AccessDeniedException", Message: "not authorized to perform codecommit:GetFile"}, "AccessDeniedException"},
		{"internal error", errors.New("internal failure"), "StatusCode: 500"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sw, repo, js := newRepoSweepWorld(t)
			repo.Update(func() { repo.GetFileFault = tt.fault })

			// One batch, delivered once: not through sweep, which takes a
			// failed check for a test failure and receives until the
			// queue is empty.
			resp := sw.checkBatch(sw.handler(true), "gone")
			if diff := cmp.Diff([]events.SQSBatchItemFailure{{ItemIdentifier: "m-gone"}}, resp.BatchItemFailures); diff != "" {
				t.Errorf("batch item failures (-want +got):\n%s", diff)
			}
			if len(headReads(js)) == 0 {
				t.Errorf("no GetFile at %s: the liveness was not checked", headRef)
			}
			sw.checkFailedKept(t, tt.want)
		})
	}
}

// checkBatch invokes h with one sweep message per function, in one SQS
// batch (message ids "m-FUNCTION"), within callTimeout.
func (sw *sweepWorld) checkBatch(h *compose.Handler, fns ...string) *events.SQSEventResponse {
	sw.T.Helper()
	var ev events.SQSEvent
	for _, fn := range fns {
		body, _ := json.Marshal(contract.SweepMessage{Function: fn, Kind: records.KindDeclared, Sweep: "s1", Started: time.Now().UTC()})
		ev.Records = append(ev.Records, events.SQSMessage{
			MessageId: "m-" + fn, Body: string(body), EventSource: "aws:sqs", EventSourceARN: sw.queueARN, AWSRegion: "us-east-1",
		})
	}
	raw, _ := json.Marshal(ev)
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	ctx = lambdacontext.NewContext(ctx, &lambdacontext.LambdaContext{AwsRequestID: fmt.Sprintf("sweep-%d", sw.Seq.Add(1))})
	resp, err := h.Invoke(ctx, raw)
	if err != nil {
		sw.T.Fatalf("sweep batch: %v", err)
	}
	return resp
}

// checkFailedKept: gone's check failed with an error naming want, and gone
// is still declared, its source not deleted, its mapping in place.
func (sw *sweepWorld) checkFailedKept(t *testing.T, want string) {
	t.Helper()
	ctx := context.Background()
	rs, err := sw.Store.DriftResults(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 1 || rs[0].Function != "gone" || rs[0].Outcome != records.Failed || !strings.Contains(strings.Join(rs[0].Errors, "\n"), want) {
		t.Errorf("drift results: %+v, want gone failed with %q", rs, want)
	}
	if decls, _, err := sw.Store.Declarations(ctx, "gone"); err != nil || len(decls) != 1 {
		t.Errorf("declarations of gone: %v %v, want one still", decls, err)
	}
	if st, err := sw.Store.SourceState(ctx, records.CodeCommitSource("definitions", headRef, gonePath, "")); err != nil || st.Deleted || st.Declares() != "gone" {
		t.Errorf("source of gone: deleted %v, declares %q (%v), want it unchanged", st.Deleted, st.Declares(), err)
	}
	if got := sw.Log.Grep(sweep.RemovedWithoutEventLogMessage); len(got) != 0 {
		t.Errorf("removal logged: %q", got)
	}
	if n := sw.mappings("gone"); n != 1 {
		t.Errorf("gone has %d mappings, want 1", n)
	}
}

func sortedCopy(l []string) []string {
	out := append([]string(nil), l...)
	slices.Sort(out)
	return out
}
