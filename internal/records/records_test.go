package records_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/google/go-cmp/cmp"

	"github.com/eventwire/eventwire/internal/records"
	"github.com/eventwire/eventwire/internal/testkit/mototest"
)

func TestMain(m *testing.M) { mototest.Main(m) }

const table = "eventwire-test"

// newStore empties moto, creates the table and returns a store on it whose
// clock is *now.
func newStore(t *testing.T, now *time.Time) *records.Store {
	t.Helper()
	s, _ := newStoreAndClient(t, now)
	return s
}

// newStoreAndClient is newStore, with the DynamoDB client under it.
func newStoreAndClient(t *testing.T, now *time.Time) (*records.Store, *dynamodb.Client) {
	t.Helper()
	srv := mototest.Fresh(t)
	db := dynamodb.NewFromConfig(srv.Config(t))
	if err := records.CreateTable(context.Background(), db, table); err != nil {
		t.Fatal(err)
	}
	return records.New(db, table, records.Options{Now: func() time.Time { return *now }}), db
}

func TestFunctionKey(t *testing.T) {
	tests := []struct{ ref, want string }{
		{"orders", "orders"},
		{"orders:live", "orders"},
		{"orders:7", "orders"},
		{"arn:aws:lambda:us-east-1:123456789012:function:orders", "orders"},
		{"arn:aws:lambda:us-east-1:123456789012:function:orders:live", "orders"},
		{"123456789012:function:orders", "orders"},
		{"123456789012:function:orders:live", "orders"},
		{"-", "-"},
		// Not a reference the Lambda API accepts: never a key.
		{"", ""},
		{strings.Repeat("x", 3000), ""},
		{strings.Repeat("x", 65), ""},
		{"arn:aws:lambda:us-east-1:123456789012:function:" + strings.Repeat("x", 210), ""},
		{"orders!", ""},
		{"orders/../other", ""},
		{"a b", ""},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%.40s", tt.ref), func(t *testing.T) {
			if got := records.FunctionKey(tt.ref); got != tt.want {
				t.Errorf("FunctionKey(%q) = %q, want %q", tt.ref, got, tt.want)
			}
		})
	}
}

func TestCompareSequencers(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"0055AED6DCD90281E5", "0055AED6DCD90281E5", 0},
		{"0055AED6DCD90281E5", "0055AED6DCD90281E6", -1},
		{"0055AED6DCD90281E6", "0055AED6DCD90281E5", 1},
		// Different lengths: the shorter is right-padded with zeros.
		{"0055AED6DCD90281E5", "0055AED6DCD90281E500", 0},
		{"0055AED6DCD90281E5", "0055AED6DCD90281E501", -1},
		{"0055AED6DCD90281F", "0055AED6DCD90281E5FF", 1},
		// Case does not matter.
		{"0055aed6dcd90281e5", "0055AED6DCD90281E5", 0},
	}
	for _, tt := range tests {
		t.Run(tt.a+"_"+tt.b, func(t *testing.T) {
			if got := records.CompareSequencers(tt.a, tt.b); got != tt.want {
				t.Errorf("CompareSequencers(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
			}
			// The stored form orders the same way.
			na, nb := records.NormalizeSequencer(tt.a), records.NormalizeSequencer(tt.b)
			if got := cmpStrings(na, nb); got != tt.want {
				t.Errorf("normalized %q vs %q = %d, want %d", na, nb, got, tt.want)
			}
		})
	}
}

func cmpStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func TestHistory_NewestFirst(t *testing.T) {
	now := time.Date(2026, 11, 23, 1, 0, 0, 0, time.UTC)
	s := newStore(t, &now)
	ctx := context.Background()
	// Written out of order, for two functions, with starts that differ in
	// trailing zeros of the fraction (RFC3339Nano would misorder them).
	starts := []time.Time{
		now.Add(2 * time.Second),
		now,
		now.Add(100 * time.Millisecond),
		now.Add(1*time.Second + 120*time.Millisecond),
	}
	for i, st := range starts {
		_, err := s.PutRecord(ctx, records.Record{
			Function: "orders", ID: fmt.Sprintf("run%d", i), Start: st, Duration: 1500 * time.Millisecond,
			Trigger: records.TriggerS3, Source: "s3://defs/orders/_lambdaeventsourcedef.json?versionId=v1",
			FunctionRef: "orders:live", Mode: records.ModeApply, Outcome: records.Succeeded,
			Plan: "function orders\n  no changes\n", Changes: 0,
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.PutRecord(ctx, records.Record{Function: "inventory", ID: "other", Start: now, Outcome: records.Failed, Errors: []string{"boom", "bang"}}); err != nil {
		t.Fatal(err)
	}

	got, err := s.History(ctx, "orders", 0)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range got {
		ids = append(ids, r.ID)
	}
	if diff := cmp.Diff([]string{"run0", "run3", "run2", "run1"}, ids); diff != "" {
		t.Errorf("history order (-want +got):\n%s", diff)
	}
	want := records.Record{
		Function: "orders", ID: "run3", Start: starts[3], Duration: 1500 * time.Millisecond,
		Trigger: records.TriggerS3, Source: "s3://defs/orders/_lambdaeventsourcedef.json?versionId=v1",
		FunctionRef: "orders:live", Mode: records.ModeApply, Outcome: records.Succeeded,
		Plan: "function orders\n  no changes\n",
	}
	if diff := cmp.Diff(want, got[1]); diff != "" {
		t.Errorf("record (-want +got):\n%s", diff)
	}

	// A limit, and the function named by ARN, find the same records.
	got, err = s.History(ctx, "arn:aws:lambda:us-east-1:123456789012:function:orders", 2)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"run0", "run3"}, idsOf(got)); diff != "" {
		t.Errorf("limited history (-want +got):\n%s", diff)
	}

	got, err = s.History(ctx, "inventory", 0)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]records.Record{{Function: "inventory", ID: "other", Start: now, Outcome: records.Failed, Errors: []string{"boom", "bang"}}}, got); diff != "" {
		t.Errorf("other function (-want +got):\n%s", diff)
	}
}

func idsOf(rs []records.Record) []string {
	var ids []string
	for _, r := range rs {
		ids = append(ids, r.ID)
	}
	return ids
}

func TestLease(t *testing.T) {
	now := time.Date(2026, 11, 23, 1, 0, 0, 0, time.UTC)
	s := newStore(t, &now)
	ctx := context.Background()
	opts := records.LeaseOptions{Duration: time.Minute}

	a, err := s.AcquireLease(ctx, "orders", "run-a", opts)
	if err != nil {
		t.Fatal(err)
	}
	if want := now.Add(time.Minute); !a.Expires.Equal(want) {
		t.Errorf("expires %v, want %v", a.Expires, want)
	}
	// Another owner is refused; another function is not.
	if _, err := s.AcquireLease(ctx, "orders", "run-b", opts); !errors.Is(err, records.ErrLeaseHeld) {
		t.Fatalf("second owner: err = %v, want ErrLeaseHeld", err)
	}
	if _, err := s.AcquireLease(ctx, "inventory", "run-b", opts); err != nil {
		t.Fatalf("other function: %v", err)
	}
	// Nor may its own owner take it again: without the holder's deadline,
	// nothing says that the holder has stopped (see TestLease_HolderDeadline).
	if _, err := s.AcquireLease(ctx, "orders", "run-a", opts); !errors.Is(err, records.ErrLeaseHeld) {
		t.Fatalf("same owner, holder's deadline unknown: err = %v, want ErrLeaseHeld", err)
	}
	// Released: the other owner gets it; the first owner's late release
	// does not take it away.
	if err := a.Release(ctx); err != nil {
		t.Fatal(err)
	}
	b, err := s.AcquireLease(ctx, "orders", "run-b", opts)
	if err != nil {
		t.Fatalf("after release: %v", err)
	}
	if err := a.Release(ctx); err != nil {
		t.Fatalf("stale release: %v", err)
	}
	if _, err := s.AcquireLease(ctx, "orders", "run-c", opts); !errors.Is(err, records.ErrLeaseHeld) {
		t.Fatalf("after stale release: err = %v, want ErrLeaseHeld", err)
	}
	// Expired: taken over.
	now = b.Expires.Add(time.Second)
	if _, err := s.AcquireLease(ctx, "orders", "run-c", opts); err != nil {
		t.Fatalf("expired lease: %v", err)
	}
}

func TestLease_WaitsForRelease(t *testing.T) {
	now := time.Now()
	s := newStore(t, &now)
	ctx := context.Background()
	a, err := s.AcquireLease(ctx, "orders", "run-a", records.LeaseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	released := make(chan error, 1)
	waiting := make(chan struct{}, 1)
	go func() {
		<-waiting
		released <- a.Release(ctx)
	}()
	log := notifyingLogger(waiting)
	// The clock is frozen, so the wait is bounded only by the release.
	_, err = s.AcquireLease(ctx, "orders", "run-b", records.LeaseOptions{Wait: time.Hour, Logger: log})
	if err != nil {
		t.Fatalf("waiting owner: %v", err)
	}
	if err := <-released; err != nil {
		t.Fatal(err)
	}
}

// notifyingLogger signals on ch (without blocking) each time a line is
// logged.
func notifyingLogger(ch chan<- struct{}) *slog.Logger {
	return slog.New(notifyHandler{ch})
}

type notifyHandler struct{ ch chan<- struct{} }

func (h notifyHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h notifyHandler) Handle(context.Context, slog.Record) error {
	select {
	case h.ch <- struct{}{}:
	default:
	}
	return nil
}
func (h notifyHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h notifyHandler) WithGroup(string) slog.Handler      { return h }

// A holder with a known deadline keeps the lease at least that long, and
// its own owner id (a duplicate delivery of one Lambda event runs with the
// same request id) gets it only once that deadline has passed.
func TestLease_HolderDeadline(t *testing.T) {
	now := time.Date(2026, 11, 23, 1, 0, 0, 0, time.UTC)
	s := newStore(t, &now)
	ctx := context.Background()
	deadline := now.Add(5 * time.Minute)
	opts := records.LeaseOptions{Duration: time.Minute, HolderDeadline: deadline}

	a, err := s.AcquireLease(ctx, "orders", "req-1", opts)
	if err != nil {
		t.Fatal(err)
	}
	if !a.Expires.Equal(deadline) {
		t.Errorf("expires %v, want the holder's deadline %v (not the shorter duration)", a.Expires, deadline)
	}
	steps := []struct {
		name  string
		at    time.Time
		owner string
		opts  records.LeaseOptions
		held  bool
	}{
		{"same request id, holder running", now.Add(time.Second), "req-1", records.LeaseOptions{Duration: time.Minute, HolderDeadline: now.Add(6 * time.Minute)}, true},
		{"after the configured duration, before the deadline", now.Add(2 * time.Minute), "req-2", records.LeaseOptions{Duration: time.Minute}, true},
		{"at the deadline", deadline, "req-1", records.LeaseOptions{Duration: time.Hour, HolderDeadline: deadline.Add(5 * time.Minute)}, true},
		{"same request id, holder's deadline passed (a retry)", deadline.Add(time.Second), "req-1", records.LeaseOptions{Duration: time.Hour, HolderDeadline: deadline.Add(5 * time.Minute)}, false},
		{"another run, before the retry's deadline", deadline.Add(2 * time.Second), "req-2", records.LeaseOptions{Duration: time.Minute}, true},
	}
	for _, st := range steps {
		now = st.at
		_, err := s.AcquireLease(ctx, "orders", st.owner, st.opts)
		if held := errors.Is(err, records.ErrLeaseHeld); held != st.held || (err != nil && !held) {
			t.Errorf("%s: err = %v, want held %v", st.name, err, st.held)
		}
	}
}

// Two holders in turn with one owner (a retry taking back the lease of an
// attempt whose deadline passed): the first one's late release leaves the
// second one's lease alone, and only the second one's release frees it.
func TestLease_ReleaseByAnotherHolderOfTheOwner_KeepsTheLease(t *testing.T) {
	now := time.Date(2026, 11, 23, 1, 0, 0, 0, time.UTC)
	s := newStore(t, &now)
	ctx := context.Background()
	first, err := s.AcquireLease(ctx, "orders", "req-1", records.LeaseOptions{HolderDeadline: now.Add(time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	now = now.Add(2 * time.Minute)
	second, err := s.AcquireLease(ctx, "orders", "req-1", records.LeaseOptions{HolderDeadline: now.Add(time.Minute)})
	if err != nil {
		t.Fatalf("same owner after the holder's deadline: %v", err)
	}
	if err := first.Release(ctx); err != nil {
		t.Fatalf("late release: %v", err)
	}
	if _, err := s.AcquireLease(ctx, "orders", "req-2", records.LeaseOptions{}); !errors.Is(err, records.ErrLeaseHeld) {
		t.Fatalf("after the first holder's late release: err = %v, want ErrLeaseHeld (the second holder's lease kept)", err)
	}
	if err := second.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AcquireLease(ctx, "orders", "req-2", records.LeaseOptions{}); err != nil {
		t.Fatalf("after the second holder's release: %v", err)
	}
}

// A record of a file with thousands of errors is still written (a DynamoDB
// item holds 400 KB): the errors that fit are kept, and the count of the
// rest.
func TestPutRecord_ManyErrors_Bounded(t *testing.T) {
	now := time.Date(2026, 11, 23, 1, 0, 0, 0, time.UTC)
	s := newStore(t, &now)
	ctx := context.Background()
	var errs []string
	for i := 0; i < 5000; i++ {
		errs = append(errs, fmt.Sprintf("orders/_lambdaeventsourcedef.json:%d:5: PullEventSources.EventSourceMapping[%d].BatchSize: 0 is out of range [1, 10000]", i+1, i))
	}
	plan := string(make([]byte, 150<<10))
	if _, err := s.PutRecord(ctx, records.Record{Function: "orders", ID: "big", Start: now, Outcome: records.Invalid, Errors: errs, Plan: plan, PlanJSON: plan}); err != nil {
		t.Fatal(err)
	}
	got, err := s.History(ctx, "orders", 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("%d records, want 1", len(got))
	}
	kept := got[0].Errors
	if len(kept) < 2 || len(kept) >= len(errs) || kept[0] != errs[0] {
		t.Fatalf("kept %d errors, want the first ones and a count", len(kept))
	}
	if want := fmt.Sprintf("... and %d more error(s), not kept in the record", len(errs)-(len(kept)-1)); kept[len(kept)-1] != want {
		t.Errorf("last line %q, want %q", kept[len(kept)-1], want)
	}
}

// A record of a file naming a 3,000-character function (over DynamoDB's
// 2,048-byte partition key) is written under the key of runs that named no
// function, with the name cut short in its body; a lease for such a name is
// refused before DynamoDB sees it.
func TestPutRecord_FunctionNameOverTheAPIBounds_UnderNoFunction(t *testing.T) {
	now := time.Date(2026, 11, 23, 1, 0, 0, 0, time.UTC)
	s := newStore(t, &now)
	ctx := context.Background()
	long := strings.Repeat("x", 3000)
	if _, err := s.PutRecord(ctx, records.Record{Function: long, FunctionRef: long, ID: "long", Start: now, Outcome: records.Invalid}); err != nil {
		t.Fatal(err)
	}
	got, err := s.History(ctx, "-", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].ID != "long" || got[0].Function != "-" {
		t.Fatalf("history of \"-\" = %+v, want the record", got)
	}
	if want := strings.Repeat("x", 256) + "... (3000 bytes)"; got[0].FunctionRef != want {
		t.Errorf("function_ref = %.300q, want %q", got[0].FunctionRef, want)
	}
	if _, err := s.AcquireLease(ctx, long, "run", records.LeaseOptions{}); err == nil || !strings.Contains(err.Error(), "not a name the table can key") {
		t.Errorf("lease of a 3,000-character name: err = %.200v, want a refusal", err)
	}
}

// loseFirstPutAnswer lets the first PutItem through to the server and
// answers the client with a 500, as when the answer is lost: the SDK
// sends the same request again.
type loseFirstPutAnswer struct {
	inner http.RoundTripper
	lost  atomic.Bool
}

func (l *loseFirstPutAnswer) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := l.inner.RoundTrip(r)
	if err != nil || !strings.HasSuffix(r.Header.Get("X-Amz-Target"), ".PutItem") || !l.lost.CompareAndSwap(false, true) {
		return resp, err
	}
	resp.Body.Close()
	return &http.Response{
		StatusCode: http.StatusInternalServerError,
		Header:     http.Header{"Content-Type": {"application/x-amz-json-1.0"}},
		Body:       io.NopCloser(strings.NewReader(`{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"answer lost"}`)),
		Request:    r,
	}, nil
}

// The SDK's retry of a lease write whose answer was lost finds the lease
// it wrote itself, and takes it.
func TestLease_AnswerLost_RetryTakesIt(t *testing.T) {
	now := time.Date(2026, 11, 23, 1, 0, 0, 0, time.UTC)
	srv := mototest.Fresh(t)
	cfg := srv.Config(t)
	lose := &loseFirstPutAnswer{inner: http.DefaultTransport}
	cfg.HTTPClient = &http.Client{Transport: lose}
	db := dynamodb.NewFromConfig(cfg)
	if err := records.CreateTable(context.Background(), db, table); err != nil {
		t.Fatal(err)
	}
	s := records.New(db, table, records.Options{Now: func() time.Time { return now }})
	if _, err := s.AcquireLease(context.Background(), "orders", "req-1", records.LeaseOptions{HolderDeadline: now.Add(5 * time.Minute)}); err != nil {
		t.Fatalf("AcquireLease: %v", err)
	}
	if !lose.lost.Load() {
		t.Fatal("no answer was lost: the test did not test anything")
	}
}

// Source ids are table keys: one over DynamoDB's 1,024-byte sort key is
// cut and ends with a hash of the whole, so it fits and stays distinct.
func TestSourceID_Bounded(t *testing.T) {
	bucket := strings.Repeat("b", 63)
	long := func(last string) string { return strings.Repeat("k/", 498) + "_lambdaeventsourcedef.json" + last }
	short := records.S3Source("defs", "orders/_lambdaeventsourcedef.json", "v1").ID()
	if short != "s3#defs/orders/_lambdaeventsourcedef.json" {
		t.Errorf("short id = %q, want it unchanged", short)
	}
	a, b := records.S3Source(bucket, long("a"), "").ID(), records.S3Source(bucket, long("b"), "").ID()
	if len(a) > 1024 || len(b) > 1024 || a == b || !strings.Contains(a, "#sha256:") {
		t.Errorf("long ids: %d and %d bytes, equal %v; want at most 1,024, distinct, hashed", len(a), len(b), a == b)
	}
	path := strings.Repeat("é", 600) + "/_lambdaeventsourcedef.json"
	if id := records.CodeCommitSource("repo", "refs/heads/main", path, "c1").ID(); len(id) > 1024 || !utf8.ValidString(id) {
		t.Errorf("CodeCommit id of a long path: %d bytes, valid UTF-8 %v", len(id), utf8.ValidString(id))
	}
}
