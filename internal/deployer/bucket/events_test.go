package bucket_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"github.com/eventwire/eventwire/internal/deployer/bucket"
	"github.com/eventwire/eventwire/internal/records"
	"github.com/eventwire/eventwire/internal/testkit/deployertest"
)

type s3Vars struct {
	Event, Key, Version, Sequencer string
}

func TestHandle_UnrecognisedEvent(t *testing.T) {
	e := deployertest.NewEnv(t)
	h := e.NewHandler()
	tests := []struct {
		name, payload, want string
	}{
		{"sqs, no sweep queue", `{"Records":[{"messageId":"1","eventSource":"aws:sqs","eventSourceARN":"arn:aws:sqs:us-east-1:123456789012:q","body":"x"}]}`,
			`refused SQS batch: message 1 comes from "arn:aws:sqs:us-east-1:123456789012:q", not the sweep queue`},
		{"sqs and s3", `{"Records":[{"eventSource":"aws:sqs"},{"eventSource":"aws:s3"}]}`, `"aws:sqs", "aws:s3"`},
		{"mixed", `{"Records":[{"eventSource":"aws:s3"},{"eventSource":"aws:codecommit"}]}`, `"aws:s3", "aws:codecommit"`},
		{"empty object", `{}`, "neither S3, CodeCommit, CodePipeline nor a scheduled sweep: {}"},
		{"eventbridge", `{"version":"0","detail-type":"Object Created","source":"aws.s3"}`, `"detail-type":"Object Created"`},
		{"array", `[1,2]`, "not a JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := h.Handle(context.Background(), json.RawMessage(tt.payload))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Handle(%s) = %v, want an error containing %q", tt.payload, err, tt.want)
			}
		})
	}
	if calls := e.Deployer.Calls(); len(calls) != 0 {
		t.Errorf("deployer called: %v", calls)
	}
}

// The file is read at the key's current version (a later one than the
// event's: the event is superseded, never an older version applied), with
// the sibling _lambdadef.json of its prefix; the key is URL-decoded ('+'
// is a space, %2B a plus); the other record's key is ignored with a log
// line.
func TestS3_AppliesTheCurrentVersion(t *testing.T) {
	e := deployertest.NewEnv(t)
	const key = "team a/orders+v2/_lambdaeventsourcedef.json"
	// No FunctionName in the file: the sibling names the function.
	file := func(batch string) string {
		return `{"PullEventSources":{"EventSourceMapping":{"EventSourceArn":"arn:aws:sqs:us-east-1:123456789012:orders","BatchSize":` + batch + `}}}`
	}
	e.Put("team a/orders+v2/_lambdadef.json", `{"FunctionName":"orders","Runtime":"provided.al2023"}`)
	v1 := e.Put(key, file("5"))
	v2 := e.Put(key, file("7")) // a later version the event is not about
	e.Put("team a/orders+v2/README.md", "# orders")

	// Through aws-lambda-go's handler wrapper, as Lambda calls it.
	ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "req-1"})
	if _, err := lambda.NewHandler(e.NewHandler().Handle).Invoke(ctx, deployertest.Event(t, "s3-put.json", s3Vars{Version: v1, Sequencer: "0055AED6DCD90281E5"})); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"plan orders", "apply orders"}, e.Deployer.Calls()); diff != "" {
		t.Errorf("deployer calls (-want +got):\n%s", diff)
	}
	if got := e.Deployer.Applied()["orders"]; !strings.Contains(got, `"BatchSize":7`) {
		t.Errorf("applied %s, want the current version (BatchSize 7)", got)
	}
	hist := e.History("orders")
	if len(hist) != 1 {
		t.Fatalf("history: %d records, want 1", len(hist))
	}
	r := hist[0]
	want := records.Record{
		Function: "orders", FunctionRef: "orders", Trigger: records.TriggerS3,
		Source: "s3://" + deployertest.Bucket + "/" + key + "?versionId=" + v2, Mode: records.ModeApply,
		Outcome: records.Succeeded, Changes: 1, RequestID: "req-1",
	}
	got := records.Record{Function: r.Function, FunctionRef: r.FunctionRef, Trigger: r.Trigger, Source: r.Source, Mode: r.Mode, Outcome: r.Outcome, Changes: r.Changes, RequestID: r.RequestID}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("record (-want +got):\n%s", diff)
	}
	if !strings.Contains(r.Plan, "+ create") || !strings.Contains(r.PlanJSON, `"action":"create"`) {
		t.Errorf("record plan = %q / %q, want the create", r.Plan, r.PlanJSON)
	}
	if got := e.Log.Grep("ignored S3 key: not a definition file"); len(got) != 1 || !strings.Contains(got[0], "key=team a/orders+v2/README.md") {
		t.Errorf("log lines for the ignored key: %q", got)
	}
}

// The same event delivered ten times is applied once.
func TestS3_ReplayedTenTimes_AppliedOnce(t *testing.T) {
	e := deployertest.NewEnv(t)
	const key = "orders/_lambdaeventsourcedef.json"
	v := e.Put(key, deployertest.SQSFile("orders", "orders", 5))
	ev := deployertest.Event(t, "s3-object.json", s3Vars{Event: "ObjectCreated:Put", Key: key, Version: v, Sequencer: "0055AED6DCD90281E5"})
	h := e.NewHandler()
	for i := 0; i < 10; i++ {
		if err := h.Handle(context.Background(), ev); err != nil {
			t.Fatalf("delivery %d: %v", i+1, err)
		}
	}
	if diff := cmp.Diff([]string{"plan orders", "apply orders"}, e.Deployer.Calls()); diff != "" {
		t.Errorf("deployer calls (-want +got):\n%s", diff)
	}
	if got := len(e.History("orders")); got != 1 {
		t.Errorf("%d records, want 1", got)
	}
	if got := len(e.Log.Grep("dropped S3 event")); got != 9 {
		t.Errorf("%d drop log lines, want 9", got)
	}
}

// An older event arriving after a newer one is dropped: the newer file
// stays applied.
func TestS3_OlderEventAfterNewer_Dropped(t *testing.T) {
	e := deployertest.NewEnv(t)
	const key = "orders/_lambdaeventsourcedef.json"
	v1 := e.Put(key, deployertest.SQSFile("orders", "orders", 5))
	v2 := e.Put(key, deployertest.SQSFile("orders", "orders", 7))
	h := e.NewHandler()
	newer := deployertest.Event(t, "s3-object.json", s3Vars{Event: "ObjectCreated:Put", Key: key, Version: v2, Sequencer: "0055AED6DCD90281E6"})
	// Shorter, and older once right-padded.
	older := deployertest.Event(t, "s3-object.json", s3Vars{Event: "ObjectCreated:Put", Key: key, Version: v1, Sequencer: "0055AED6DCD90281E"})
	for _, ev := range []json.RawMessage{newer, older} {
		if err := h.Handle(context.Background(), ev); err != nil {
			t.Fatal(err)
		}
	}
	if got := e.Deployer.Applied()["orders"]; !strings.Contains(got, `"BatchSize":7`) {
		t.Errorf("applied %s, want the newer version (BatchSize 7)", got)
	}
	if diff := cmp.Diff([]string{"succeeded apply s3://" + deployertest.Bucket + "/" + key + "?versionId=" + v2}, e.Outcomes("orders")); diff != "" {
		t.Errorf("records (-want +got):\n%s", diff)
	}
}

// Deleting the file tears down the function its last deployment named;
// a delete of a key never deployed does nothing.
func TestS3_Removed_TearsDown(t *testing.T) {
	e := deployertest.NewEnv(t)
	const key = "orders/_lambdaeventsourcedef.json"
	v := e.Put(key, deployertest.SQSFile("orders:live", "orders", 5))
	h := e.NewHandler()
	if err := h.Handle(context.Background(), deployertest.Event(t, "s3-object.json", s3Vars{Event: "ObjectCreated:Put", Key: key, Version: v, Sequencer: "0055AED6DCD90281E5"})); err != nil {
		t.Fatal(err)
	}
	dm := e.Remove(key)
	e.Put("other/_lambdaeventsourcedef.json", "{}")
	dm2 := e.Remove("other/_lambdaeventsourcedef.json")
	steps := []json.RawMessage{deployertest.Event(t, "s3-delete-marker.json", s3Vars{Key: key, Version: dm, Sequencer: "0055AED6DCD9028200"}), deployertest.
		// Redelivered delete: no sequencer is stored for a key with no
		// object, so it is indexed again, and finds nothing to tear down.
		Event(t, "s3-delete-marker.json", s3Vars{Key: key, Version: dm, Sequencer: "0055AED6DCD9028200"}), deployertest.
		// A key never deployed.
		Event(t, "s3-delete-marker.json", s3Vars{Key: "other/_lambdaeventsourcedef.json", Version: dm2, Sequencer: "0055AED6DCD9028300"}),
	}
	for i, ev := range steps {
		if err := h.Handle(context.Background(), ev); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	if diff := cmp.Diff([]string{"plan orders:live", "apply orders:live", "plan-destroy orders:live", "apply orders:live"}, e.Deployer.Calls()); diff != "" {
		t.Errorf("deployer calls (-want +got):\n%s", diff)
	}
	if got := e.Deployer.Applied(); len(got) != 0 {
		t.Errorf("still applied: %v", got)
	}
	want := []string{
		"succeeded destroy s3://" + deployertest.Bucket + "/" + key + "?versionId=" + dm,
		"succeeded apply s3://" + deployertest.Bucket + "/" + key + "?versionId=" + v,
	}
	if diff := cmp.Diff(want, e.Outcomes("orders")); diff != "" {
		t.Errorf("records (-want +got):\n%s", diff)
	}
	if got := e.Log.Grep("nothing to tear down"); len(got) != 2 {
		t.Errorf("log lines for the redelivered delete and the unknown key: %q", got)
	}
}

// A bad file: a failure record, no call to the deployer, no retry (nil),
// and its redelivery is dropped.
func TestS3_BadFile_FailureRecordNoChangeNoRetry(t *testing.T) {
	e := deployertest.NewEnv(t)
	const key = "orders/_lambdaeventsourcedef.json"
	v := e.Put(key, `{"FunctionName":"orders","PullEventSources":{"EventSourceMapping":{"EventSourceArn":"arn:aws:sqs:us-east-1:123456789012:orders"}},"PushEventSorces":[]}`)
	ev := deployertest.Event(t, "s3-object.json", s3Vars{Event: "ObjectCreated:Put", Key: key, Version: v, Sequencer: "0055AED6DCD90281E5"})
	h := e.NewHandler()
	for i := 0; i < 2; i++ {
		if err := h.Handle(context.Background(), ev); err != nil {
			t.Fatalf("delivery %d: %v, want nil (not retried)", i+1, err)
		}
	}
	if calls := e.Deployer.Calls(); len(calls) != 0 {
		t.Errorf("deployer called: %v", calls)
	}
	hist := e.History("orders")
	if len(hist) != 1 {
		t.Fatalf("%d records, want 1", len(hist))
	}
	if r := hist[0]; r.Outcome != records.Invalid || len(r.Errors) == 0 || !strings.Contains(strings.Join(r.Errors, "\n"), "PushEventSorces") {
		t.Errorf("record: outcome %s, errors %q; want invalid naming PushEventSorces", r.Outcome, r.Errors)
	}
}

// A file naming a function the Lambda API would refuse (3,000 characters:
// a DynamoDB partition key holds 2,048 bytes; a name over 64 characters;
// characters outside the pattern) is recorded as invalid, once, under the
// key of files that named no function ("eventwire history -"), and the
// handler returns nil: the event is not retried into the failure queue.
func TestS3_FunctionNameOutsideTheAPIPattern_RecordedInvalidOnce(t *testing.T) {
	for _, name := range []string{strings.Repeat("x", 3000), strings.Repeat("y", 65), "orders!"} {
		t.Run(fmt.Sprintf("%.10s (%d characters)", name, len(name)), func(t *testing.T) {
			e := deployertest.NewEnv(t)
			const key = "orders/_lambdaeventsourcedef.json"
			v := e.Put(key, fmt.Sprintf(`{"FunctionName": %q, "PullEventSources": {"EventSourceMapping": {"EventSourceArn": "arn:aws:sqs:us-east-1:123456789012:orders"}}}`, name))
			ev := deployertest.Event(t, "s3-object.json", s3Vars{Event: "ObjectCreated:Put", Key: key, Version: v, Sequencer: "0055AED6DCD90281E5"})
			h := e.NewHandler()
			for i := 0; i < 2; i++ {
				if err := h.Handle(context.Background(), ev); err != nil {
					t.Fatalf("delivery %d: %.300v, want nil (not retried)", i+1, err)
				}
			}
			if calls := e.Deployer.Calls(); len(calls) != 0 {
				t.Errorf("deployer called: %v", calls)
			}
			hist := e.History("-")
			if len(hist) != 1 {
				t.Fatalf("%d records under \"-\", want 1", len(hist))
			}
			r := hist[0]
			if r.Outcome != records.Invalid || !strings.Contains(strings.Join(r.Errors, "\n"), "FunctionName") {
				t.Errorf("record: outcome %s, errors %.300q; want invalid naming FunctionName", r.Outcome, r.Errors)
			}
			if len(r.FunctionRef) > 300 || !strings.HasPrefix(r.FunctionRef, name[:min(len(name), 64)]) {
				t.Errorf("function_ref %.100q... (%d bytes): want the name, cut short", r.FunctionRef, len(r.FunctionRef))
			}
		})
	}
}

// A definition file under a key near S3's 1,024 bytes is applied: its
// source id ("s3#BUCKET/KEY", over DynamoDB's 1,024-byte sort key) is cut
// and hashed rather than refused by the table, which would retry the
// event into the failure queue.
func TestS3_KeyNearS3sLimit_Applied(t *testing.T) {
	e := deployertest.NewEnv(t)
	key := strings.Repeat("d/", 495) + "_lambdaeventsourcedef.json"
	v := e.Put(key, deployertest.SQSFile("orders", "orders", 5))
	ev := deployertest.Event(t, "s3-object.json", s3Vars{Event: "ObjectCreated:Put", Key: url.QueryEscape(key), Version: v, Sequencer: "0055AED6DCD90281E5"})
	if err := e.NewHandler().Handle(context.Background(), ev); err != nil {
		t.Fatalf("err = %.300v, want nil", err)
	}
	if got := e.Outcomes("orders"); len(got) != 1 || !strings.HasPrefix(got[0], "succeeded apply") {
		t.Errorf("records: %.300q, want one succeeded apply", got)
	}
}

// An event for a key longer than S3 allows (not sent by S3) is ignored,
// logged, and returns nil: its name never becomes a table key, which
// DynamoDB would refuse over 2,048 bytes.
func TestS3_KeyLongerThanS3Allows_Ignored(t *testing.T) {
	e := deployertest.NewEnv(t)
	key := strings.Repeat("k/", 1100) + "_lambdaeventsourcedef.json"
	ev := deployertest.Event(t, "s3-object.json", s3Vars{Event: "ObjectCreated:Put", Key: key, Version: "v1", Sequencer: "0055AED6DCD90281E5"})
	if err := e.NewHandler().Handle(context.Background(), ev); err != nil {
		t.Fatalf("err = %.300v, want nil (ignored)", err)
	}
	if calls := e.Deployer.Calls(); len(calls) != 0 {
		t.Errorf("deployer called: %v", calls)
	}
	if got := e.Log.Grep("longer than S3 allows"); len(got) != 1 {
		t.Errorf("log lines about the key: %q, want 1", got)
	}
}

// An AWS failure in the middle of a run is returned (Lambda retries); the
// retry of the same event converges.
func TestS3_InterruptedRun_NextConverges(t *testing.T) {
	e := deployertest.NewEnv(t)
	const key = "orders/_lambdaeventsourcedef.json"
	v := e.Put(key, deployertest.SQSFile("orders", "orders", 5))
	ev := deployertest.Event(t, "s3-object.json", s3Vars{Event: "ObjectCreated:Put", Key: key, Version: v, Sequencer: "0055AED6DCD90281E5"})
	e.Deployer.ApplyErr = errors.New("create event source mapping: api error TooManyRequestsException: Rate exceeded")
	h := e.NewHandler()
	if err := h.Handle(context.Background(), ev); err == nil || !strings.Contains(err.Error(), "Rate exceeded") {
		t.Fatalf("first run: err = %v, want the AWS failure", err)
	}
	if err := h.Handle(context.Background(), ev); err != nil {
		t.Fatalf("retry: %v", err)
	}
	if err := h.Handle(context.Background(), ev); err != nil {
		t.Fatalf("duplicate: %v", err)
	}
	if _, ok := e.Deployer.Applied()["orders"]; !ok {
		t.Error("not applied after the retry")
	}
	src := "s3://" + deployertest.Bucket + "/" + key + "?versionId=" + v
	if diff := cmp.Diff([]string{"succeeded apply " + src, "failed apply " + src}, e.Outcomes("orders")); diff != "" {
		t.Errorf("records (-want +got):\n%s", diff)
	}
}

// Two invocations for one function at once are serialized by the lease.
func TestS3_ConcurrentInvocations_SerializedByLease(t *testing.T) {
	e := deployertest.
		// Two keys, one function: two invocations S3 may run at once.
		NewEnv(t)

	va := e.Put("a/_lambdaeventsourcedef.json", deployertest.SQSFile("orders", "orders", 5))
	vb := e.Put("b/_lambdaeventsourcedef.json", deployertest.SQSFile("orders", "orders-dlq", 5))
	evA := deployertest.Event(t, "s3-object.json", s3Vars{Event: "ObjectCreated:Put", Key: "a/_lambdaeventsourcedef.json", Version: va, Sequencer: "0055AED6DCD90281E5"})
	evB := deployertest.Event(t, "s3-object.json", s3Vars{Event: "ObjectCreated:Put", Key: "b/_lambdaeventsourcedef.json", Version: vb, Sequencer: "0055AED6DCD90281E6"})

	holdFirstApply(e)
	h := e.NewHandler()
	errs := make(chan error, 2)
	ctxA := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "req-a"})
	ctxB := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "req-b"})
	go func() { errs <- h.Handle(ctxA, evA) }()
	go func() { errs <- h.Handle(ctxB, evB) }()
	for i := 0; i < 2; i++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if e.Deployer.MaxInFlight != 1 {
		t.Errorf("%d applies of one function ran at once, want 1", e.Deployer.MaxInFlight)
	}
	if got := len(e.History("orders")); got != 2 {
		t.Errorf("%d records, want 2", got)
	}
}

// holdFirstApply makes the first Apply hold its run (and so the lease)
// until another run either finds the lease held (as it should) or enters
// Apply itself (two runs at once: maxInFlight shows it).
func holdFirstApply(e *deployertest.Env) {
	waiting := e.Log.WaitFor("waiting for lease")
	release := make(chan struct{})
	var once sync.Once
	let := func() { once.Do(func() { close(release) }) }
	go func() {
		<-waiting
		let()
	}()
	var mu sync.Mutex
	first := true
	e.Deployer.InApply = func(context.Context, string) error {
		mu.Lock()
		isFirst := first
		first = false
		mu.Unlock()
		if isFirst {
			<-release
		} else {
			let()
		}
		return nil
	}
}

// Lambda may deliver one event to two invocations at once, with the same
// request id: they are serialized too (the request id alone would let the
// second take the first one's lease), and the second is dropped.
func TestS3_DuplicateWithTheSameRequestID_SerializedByLease(t *testing.T) {
	e := deployertest.NewEnv(t)
	const key = "orders/_lambdaeventsourcedef.json"
	v := e.Put(key, deployertest.SQSFile("orders", "orders", 5))
	ev := deployertest.Event(t, "s3-object.json", s3Vars{Event: "ObjectCreated:Put", Key: key, Version: v, Sequencer: "0055AED6DCD90281E5"})
	holdFirstApply(e)
	h := e.NewHandler()
	ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "req-1"})
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	errs := make(chan error, 2)
	for i := 0; i < 2; i++ {
		go func() { errs <- h.Handle(ctx, ev) }()
	}
	for i := 0; i < 2; i++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if e.Deployer.MaxInFlight != 1 {
		t.Errorf("%d applies of one function ran at once, want 1", e.Deployer.MaxInFlight)
	}
	if diff := cmp.Diff([]string{"plan orders", "apply orders"}, e.Deployer.Calls()); diff != "" {
		t.Errorf("deployer calls (-want +got):\n%s", diff)
	}
}

// The interleaving behind a duplicate delivery, driven exactly: a run with
// the request id "req-1" holds the function's lease when a second delivery
// of the event, with the same request id, needs it. The second one must
// wait (here: fail at once, to be retried), never share the lease, whether
// or not the runs know their deadline.
func TestS3_LeaseHeldByTheSameRequestID_Waits(t *testing.T) {
	tests := []struct {
		name string
		// holderDeadline is the holding run's, deadline the second run's
		// (none if zero).
		holderDeadline, deadline time.Duration
	}{
		{"holder and duplicate with deadlines", 5 * time.Minute, 5 * time.Minute},
		{"no deadlines", 0, 0},
		{"holder without a deadline", 0, 5 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := deployertest.NewEnv(t)
			const key = "orders/_lambdaeventsourcedef.json"
			v := e.Put(key, deployertest.SQSFile("orders", "orders", 5))
			var opts records.LeaseOptions
			if tt.holderDeadline > 0 {
				opts.HolderDeadline = time.Now().Add(tt.holderDeadline)
			}
			held, err := e.Store.AcquireLease(context.Background(), "orders", "req-1", opts)
			if err != nil {
				t.Fatal(err)
			}
			e.Config.LeaseWait = 1 // tries once
			ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "req-1"})
			if tt.deadline > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.deadline)
				defer cancel()
			}
			ev := deployertest.Event(t, "s3-object.json", s3Vars{Event: "ObjectCreated:Put", Key: key, Version: v, Sequencer: "0055AED6DCD90281E5"})
			if err := e.NewHandler().Handle(ctx, ev); !errors.Is(err, records.ErrLeaseHeld) {
				t.Fatalf("err = %v, want ErrLeaseHeld", err)
			}
			if calls := e.Deployer.Calls(); len(calls) != 0 {
				t.Errorf("deployer called while the lease was held: %v", calls)
			}
			// The holder's lease is still there, and still its own to
			// release: the failed run did not release it.
			if _, err := e.Store.AcquireLease(context.Background(), "orders", "other", records.LeaseOptions{}); !errors.Is(err, records.ErrLeaseHeld) {
				t.Fatalf("after the duplicate: err = %v, want the holder's lease kept", err)
			}
			if err := held.Release(context.Background()); err != nil {
				t.Fatal(err)
			}
			// The retry converges, as the holder's run would have.
			if err := e.NewHandler().Handle(ctx, ev); err != nil {
				t.Fatalf("retry: %v", err)
			}
			if diff := cmp.Diff([]string{"plan orders", "apply orders"}, e.Deployer.Calls()); diff != "" {
				t.Errorf("deployer calls after the retry (-want +got):\n%s", diff)
			}
		})
	}
}

// The loser of a lease it cannot get in time fails, so that it is retried;
// the retry (the same event: its change is already indexed) converges.
func TestS3_LeaseHeld_FailsForRetry(t *testing.T) {
	e := deployertest.NewEnv(t)
	const key = "orders/_lambdaeventsourcedef.json"
	v := e.Put(key, deployertest.SQSFile("orders", "orders", 5))
	held, err := e.Store.AcquireLease(context.Background(), "orders", "another-run", records.LeaseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	e.Config.LeaseWait = 1 // tries once
	ev := deployertest.Event(t, "s3-object.json", s3Vars{Event: "ObjectCreated:Put", Key: key, Version: v, Sequencer: "0055AED6DCD90281E5"})
	err = e.NewHandler().Handle(context.Background(), ev)
	if !errors.Is(err, records.ErrLeaseHeld) {
		t.Fatalf("err = %v, want ErrLeaseHeld", err)
	}
	if calls := e.Deployer.Calls(); len(calls) != 0 {
		t.Errorf("deployer called: %v", calls)
	}
	if err := held.Release(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := e.NewHandler().Handle(context.Background(), ev); err != nil {
		t.Fatalf("retry: %v", err)
	}
	if diff := cmp.Diff([]string{"plan orders", "apply orders"}, e.Deployer.Calls()); diff != "" {
		t.Errorf("deployer calls after the retry (-want +got):\n%s", diff)
	}
}

func TestS3PutEvent(t *testing.T) {
	ev := bucket.S3PutEvent("defs", "team a/orders+v2/_lambdaeventsourcedef.json", "v1", "0055AED6DCD90281E5")
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"key":"team+a/orders%2Bv2/_lambdaeventsourcedef.json"`, `"eventName":"ObjectCreated:Put"`, `"eventSource":"aws:s3"`, `"versionId":"v1"`, `"sequencer":"0055AED6DCD90281E5"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("event %s lacks %s", b, want)
		}
	}
}

// A run killed by Lambda leaves its lease behind; Lambda's retry of the
// invocation keeps the request id, so it takes the lease back at once.
func TestS3_RetryOfACrashedRun_TakesItsLeaseBack(t *testing.T) {
	e := deployertest.NewEnv(t)
	const key = "orders/_lambdaeventsourcedef.json"
	v := e.Put(key, deployertest.SQSFile("orders", "orders", 5))
	// The crashed attempt's deadline has passed.
	crashed := records.LeaseOptions{HolderDeadline: time.Now().Add(-5 * time.Second)}
	if _, err := e.Store.AcquireLease(context.Background(), "orders", "req-crashed", crashed); err != nil {
		t.Fatal(err)
	}
	e.Config.LeaseWait = 1 // would fail at once if it had to wait
	ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "req-crashed"})
	ev := deployertest.Event(t, "s3-object.json", s3Vars{Event: "ObjectCreated:Put", Key: key, Version: v, Sequencer: "0055AED6DCD90281E5"})
	if err := e.NewHandler().Handle(ctx, ev); err != nil {
		t.Fatal(err)
	}
	if _, ok := e.Deployer.Applied()["orders"]; !ok {
		t.Error("not applied")
	}
	// Released at the end: another run gets it.
	if _, err := e.Store.AcquireLease(context.Background(), "orders", "req-next", records.LeaseOptions{}); err != nil {
		t.Errorf("lease not released: %v", err)
	}
}

// Without a configured length, a lease ends with the invocation that took
// it (plus a margin), so a killed run never blocks the function for long.
func TestS3_LeaseLastsAsLongAsTheInvocation(t *testing.T) {
	e := deployertest.NewEnv(t)
	const key = "orders/_lambdaeventsourcedef.json"
	v := e.Put(key, deployertest.SQSFile("orders", "orders", 5))
	var expires time.Time
	e.Deployer.InApply = func(context.Context, string) error {
		// Another run looks at the lease while this one holds it.
		_, err := e.Store.AcquireLease(context.Background(), "orders", "other", records.LeaseOptions{})
		if !errors.Is(err, records.ErrLeaseHeld) {
			return fmt.Errorf("lease not held: %v", err)
		}
		m := regexp.MustCompile(`until (\S+)\)`).FindStringSubmatch(err.Error())
		if m == nil {
			return fmt.Errorf("no expiry in %v", err)
		}
		expires, err = time.Parse(time.RFC3339, m[1])
		return err
	}
	deadline := time.Now().Add(3 * time.Minute)
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	ev := deployertest.Event(t, "s3-object.json", s3Vars{Event: "ObjectCreated:Put", Key: key, Version: v, Sequencer: "0055AED6DCD90281E5"})
	if err := e.NewHandler().Handle(ctx, ev); err != nil {
		t.Fatal(err)
	}
	// Lease expiries are whole seconds.
	if expires.Before(deadline.Truncate(time.Second)) || expires.After(deadline.Add(time.Minute)) {
		t.Errorf("lease expires %v, want just after the deadline %v", expires, deadline)
	}
}

// denied is S3 refusing reads of keys with a suffix (a bucket policy or an
// SCP changed; moto does not enforce IAM, so this is a fake over the real
// client).
type denied struct {
	bucket.S3API
	suffix string
}

func (s denied) GetObject(ctx context.Context, in *s3.GetObjectInput, opts ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	if strings.HasSuffix(aws.ToString(in.Key), s.suffix) {
		return nil, &smithy.GenericAPIError{Code: "AccessDenied", Message: "Access Denied"}
	}
	return s.S3API.GetObject(ctx, in, opts...)
}

// A refused read is an AWS failure to retry, never taken for a missing
// object: a removal must not tear down, a put must not resolve the function
// without its sibling _lambdadef.json.
func TestS3_FakeAWS_AccessDeniedIsNotAbsence(t *testing.T) {
	const key = "orders/_lambdaeventsourcedef.json"
	t.Run("sibling refused on a put", func(t *testing.T) {
		e := deployertest.NewEnv(t)
		v := e.Put(key, deployertest.SQSFile("orders", "orders", 5))
		e.Config.S3.API = denied{e.S3, "_lambdadef.json"}
		ev := deployertest.Event(t, "s3-object.json", s3Vars{Event: "ObjectCreated:Put", Key: key, Version: v, Sequencer: "0055AED6DCD90281E5"})
		if err := e.NewHandler().Handle(context.Background(), ev); err == nil || !strings.Contains(err.Error(), "AccessDenied") {
			t.Errorf("Handle = %v, want the AccessDenied returned for a retry", err)
		}
		if _, ok := e.Deployer.Applied()["orders"]; ok {
			t.Error("applied without reading the sibling")
		}
	})
	t.Run("key refused on a removal", func(t *testing.T) {
		e := deployertest.NewEnv(t)
		v := e.Put(key, deployertest.SQSFile("orders", "orders", 5))
		h := e.NewHandler()
		put := deployertest.Event(t, "s3-object.json", s3Vars{Event: "ObjectCreated:Put", Key: key, Version: v, Sequencer: "0055AED6DCD90281E5"})
		if err := h.Handle(context.Background(), put); err != nil {
			t.Fatal(err)
		}
		e.Config.S3.API = denied{e.S3, key}
		removed := deployertest.Event(t, "s3-object.json", s3Vars{Event: "ObjectRemoved:Delete", Key: key, Version: v, Sequencer: "0055AED6DCD90281F0"})
		if err := e.NewHandler().Handle(context.Background(), removed); err == nil {
			t.Error("Handle = nil, want the AccessDenied returned for a retry")
		}
		if _, ok := e.Deployer.Applied()["orders"]; !ok {
			t.Error("torn down on a refused read")
		}
	})
}

// Deleting one old version of a key is not deleting the file: the current
// version is applied (indexed in the removal's place), and the put of the
// current version, arriving after, changes nothing.
func TestS3_RemovedVersion_KeyStillThere_NoTeardown(t *testing.T) {
	e := deployertest.NewEnv(t)
	const key = "orders/_lambdaeventsourcedef.json"
	v1 := e.Put(key, deployertest.SQSFile("orders", "orders", 5))
	v2 := e.Put(key, deployertest.SQSFile("orders", "orders", 7))
	if _, err := e.S3.DeleteObject(context.Background(), &s3.DeleteObjectInput{Bucket: aws.String(deployertest.Bucket), Key: aws.String(key), VersionId: aws.String(v1)}); err != nil {
		t.Fatal(err)
	}
	h := e.NewHandler()
	for _, ev := range []json.RawMessage{deployertest.Event(t, "s3-object.json", s3Vars{Event: "ObjectRemoved:Delete", Key: key, Version: v1, Sequencer: "0055AED6DCD90281F0"}), deployertest.
		// Older than the removal: still applied, since the removal changed
		// nothing.
		Event(t, "s3-object.json", s3Vars{Event: "ObjectCreated:Put", Key: key, Version: v2, Sequencer: "0055AED6DCD90281E6"}),
	} {
		if err := h.Handle(context.Background(), ev); err != nil {
			t.Fatal(err)
		}
	}
	if diff := cmp.Diff([]string{"plan orders", "apply orders"}, e.Deployer.Calls()); diff != "" {
		t.Errorf("deployer calls (-want +got):\n%s", diff)
	}
	if got := e.Log.Grep(bucket.SupersededLogMessage); len(got) != 1 {
		t.Errorf("log lines: %q", got)
	}
}

// The same event delivered to several invocations at once is still applied
// once: the key's sequencer is checked and stored under the lease.
func TestS3_DuplicatesAtOnce_AppliedOnce(t *testing.T) {
	e := deployertest.NewEnv(t)
	const key = "orders/_lambdaeventsourcedef.json"
	v := e.Put(key, deployertest.SQSFile("orders", "orders", 5))
	ev := deployertest.Event(t, "s3-object.json", s3Vars{Event: "ObjectCreated:Put", Key: key, Version: v, Sequencer: "0055AED6DCD90281E5"})
	h := e.NewHandler()
	errs := make(chan error)
	for i := 0; i < 5; i++ {
		ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: fmt.Sprintf("req-%d", i)})
		go func() { errs <- h.Handle(ctx, ev) }()
	}
	for i := 0; i < 5; i++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	var applies int
	for _, c := range e.Deployer.Calls() {
		if strings.HasPrefix(c, "apply ") {
			applies++
		}
	}
	if applies != 1 {
		t.Errorf("%d applies, want 1 (calls %v)", applies, e.Deployer.Calls())
	}
	if got := len(e.History("orders")); got != 1 {
		t.Errorf("%d records, want 1", got)
	}
}

// A file naming a function the deployer may not wire (outside the stack's
// functionNamePrefix, or the deployer itself) is invalid: recorded, not
// sent to AWS, not retried (IAM would refuse it with an AccessDenied that
// Lambda would retry three times before the failure queue).
func TestS3_FunctionOutsideThePrefix_Invalid(t *testing.T) {
	tests := []struct {
		name, function, wantErr string
		applied                 bool
	}{
		{"inside", "team-orders:live", "", true},
		{"outside", "orders", `orders/_lambdaeventsourcedef.json: function "orders" is outside the functions this deployer may wire (names starting with "team-", EVENTWIRE_FUNCTION_PREFIX)`, false},
		{"the deployer", "arn:aws:lambda:us-east-1:123456789012:function:team-eventwire-deployer:live", `orders/_lambdaeventsourcedef.json: function "arn:aws:lambda:us-east-1:123456789012:function:team-eventwire-deployer:live" is the eventwire deployer itself, which definition files may not wire`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := deployertest.NewEnv(t)
			e.Config.FunctionPrefix = "team-"
			e.Config.Self = "team-eventwire-deployer"
			const key = "orders/_lambdaeventsourcedef.json"
			v := e.Put(key, deployertest.SQSFile(tt.function, "orders", 5))
			ev := deployertest.Event(t, "s3-object.json", s3Vars{Event: "ObjectCreated:Put", Key: key, Version: v, Sequencer: "0055AED6DCD90281E5"})
			if err := e.NewHandler().Handle(context.Background(), ev); err != nil {
				t.Fatalf("Handle = %v, want nil (not retried)", err)
			}
			if got := len(e.Deployer.Calls()) > 0; got != tt.applied {
				t.Errorf("deployer calls %v, want applied %v", e.Deployer.Calls(), tt.applied)
			}
			checkOneRecord(e, t, tt.function, tt.wantErr)
		})
	}
}

// checkOneRecord: the function has one record, succeeded, or, with
// wantErr, invalid with that one error.
func checkOneRecord(e *deployertest.Env, t *testing.T, function, wantErr string) {
	t.Helper()
	hist := e.History(function)
	if len(hist) != 1 {
		t.Fatalf("%d records, want 1", len(hist))
	}
	if wantErr == "" {
		if hist[0].Outcome != records.Succeeded {
			t.Errorf("outcome %s, want succeeded", hist[0].Outcome)
		}
		return
	}
	if diff := cmp.Diff([]string{wantErr}, hist[0].Errors); diff != "" || hist[0].Outcome != records.Invalid {
		t.Errorf("record %s, errors (-want +got):\n%s", hist[0].Outcome, diff)
	}
}

// A file under a key prefix that the stack maps to a function prefix
// (keyPrefixFunctions) may only wire that team's functions: one naming
// another team's function is invalid (recorded, final, nothing applied),
// whatever the deployer's wider functionNamePrefix allows. The longest
// mapped prefix counts; a key under no mapped prefix is held to the wider
// prefix only.
func TestS3_KeyPrefixMapsToFunctionPrefix_OtherTeamsFunctionInvalid(t *testing.T) {
	tests := []struct {
		name, key, function, wantErr string
	}{
		{"own team", "team-a/orders/_lambdaeventsourcedef.json", "shop-a-orders", ""},
		{"other team's function", "team-a/orders/_lambdaeventsourcedef.json", "shop-b-billing",
			`team-a/orders/_lambdaeventsourcedef.json: function "shop-b-billing" is outside the functions files under "team-a/" may wire (names starting with "shop-a-", EVENTWIRE_KEY_PREFIX_FUNCTIONS)`},
		{"the longest prefix counts", "team-a/payments/_lambdaeventsourcedef.json", "shop-a-orders",
			`team-a/payments/_lambdaeventsourcedef.json: function "shop-a-orders" is outside the functions files under "team-a/payments/" may wire (names starting with "shop-a-pay-", EVENTWIRE_KEY_PREFIX_FUNCTIONS)`},
		{"by ARN", "team-b/x/_lambdaeventsourcedef.json", "arn:aws:lambda:us-east-1:123456789012:function:shop-a-orders:live",
			`team-b/x/_lambdaeventsourcedef.json: function "arn:aws:lambda:us-east-1:123456789012:function:shop-a-orders:live" is outside the functions files under "team-b/" may wire (names starting with "shop-b-", EVENTWIRE_KEY_PREFIX_FUNCTIONS)`},
		{"unmapped folder", "shared/_lambdaeventsourcedef.json", "shop-b-billing", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := deployertest.NewEnv(t)
			e.Config.FunctionPrefix = "shop-"
			e.Config.KeyPrefixFunctions = map[string]string{"team-a/": "shop-a-", "team-a/payments/": "shop-a-pay-", "team-b/": "shop-b-"}
			v := e.Put(tt.key, deployertest.SQSFile(tt.function, "orders", 5))
			ev := deployertest.Event(t, "s3-object.json", s3Vars{Event: "ObjectCreated:Put", Key: tt.key, Version: v, Sequencer: "0055AED6DCD90281E5"})
			if err := e.NewHandler().Handle(context.Background(), ev); err != nil {
				t.Fatalf("Handle = %v, want nil (not retried)", err)
			}
			if applied := len(e.Deployer.Calls()) > 0; applied != (tt.wantErr == "") {
				t.Errorf("deployer calls %v, want applied %v", e.Deployer.Calls(), tt.wantErr == "")
			}
			checkOneRecord(e, t, tt.function, tt.wantErr)
		})
	}
}

// A run that outlasts the invocation is cut short before Lambda's deadline,
// so that its failure is recorded and returned (for Lambda to retry) while
// the function still runs.
func TestS3_RunOutlastsTheInvocation_RecordedBeforeTheDeadline(t *testing.T) {
	e := deployertest.NewEnv(t)
	e.Config.DeadlineReserve = 30 * time.Second
	const key = "orders/_lambdaeventsourcedef.json"
	v := e.Put(key, deployertest.SQSFile("orders", "orders", 5))
	e.Deployer.InApply = func(ctx context.Context, _ string) error {
		<-ctx.Done()
		return fmt.Errorf("create event source mapping: %w", ctx.Err())
	}
	// The run gets 3 s before the reserve: time to take the lease and read
	// the object even on a loaded machine, then it blocks in the apply.
	ctx, cancel := context.WithTimeout(context.Background(), e.Config.DeadlineReserve+3*time.Second)
	defer cancel()
	ev := deployertest.Event(t, "s3-object.json", s3Vars{Event: "ObjectCreated:Put", Key: key, Version: v, Sequencer: "0055AED6DCD90281E5"})
	err := e.NewHandler().Handle(ctx, ev)
	if ctx.Err() != nil {
		t.Error("the handler returned after the invocation's deadline: Lambda would have stopped it first")
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Handle = %v, want the run's deadline error (retried)", err)
	}
	if diff := cmp.Diff([]string{"failed apply s3://" + deployertest.Bucket + "/" + key + "?versionId=" + v}, e.Outcomes("orders")); diff != "" {
		t.Errorf("records (-want +got):\n%s", diff)
	}
}

// One record of an S3 event that cannot be decoded (a key that is not
// URL-encoded) is logged and skipped; the event's other records still run.
func TestS3_UndecodableRecord_OthersStillRun(t *testing.T) {
	e := deployertest.NewEnv(t)
	const key = "orders/_lambdaeventsourcedef.json"
	v := e.Put(key, deployertest.SQSFile("orders", "orders", 5))
	good := deployertest.Event(t, "s3-object.json", s3Vars{Event: "ObjectCreated:Put", Key: key, Version: v, Sequencer: "0055AED6DCD90281E5"})
	bad := deployertest.Event(t, "s3-object.json", s3Vars{Event: "ObjectCreated:Put", Key: "%zz/_lambdaeventsourcedef.json", Version: v, Sequencer: "0055AED6DCD90281E5"})
	var evBad, evGood struct{ Records []json.RawMessage }
	if err := json.Unmarshal(bad, &evBad); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(good, &evGood); err != nil {
		t.Fatal(err)
	}
	both, _ := json.Marshal(map[string]any{"Records": []json.RawMessage{evBad.Records[0], evGood.Records[0]}})
	if err := e.NewHandler().Handle(context.Background(), both); err != nil {
		t.Fatalf("Handle = %v, want nil", err)
	}
	if diff := cmp.Diff([]string{"plan orders", "apply orders"}, e.Deployer.Calls()); diff != "" {
		t.Errorf("deployer calls (-want +got):\n%s", diff)
	}
	if got := e.Log.Grep("ignored S3 event record that cannot be decoded"); len(got) != 1 || !strings.Contains(got[0], "record=0") {
		t.Errorf("log lines: %q", got)
	}
}

// A forged event cannot store its sequencer: a malformed one is refused,
// and so is one whose object version (or delete marker) does not exist;
// the key's real uploads, with lower sequencers, are still applied.
func TestS3_ForgedEvents_Refused(t *testing.T) {
	e := deployertest.NewEnv(t)
	const key = "orders/_lambdaeventsourcedef.json"
	h := e.NewHandler()
	forged := []struct {
		name, event, version, sequencer, log string
	}{
		{"malformed sequencer", "ObjectCreated:Put", "v", "0055AED6DCD9028ZZZ", "refused S3 event: malformed sequencer"},
		{"over-long sequencer", "ObjectCreated:Put", "v", strings.Repeat("F", 65), "refused S3 event: malformed sequencer"},
		{"missing sequencer", "ObjectCreated:Put", "v", "", "refused S3 event: malformed sequencer"},
		{"version that never existed", "ObjectCreated:Put", "forged-version", strings.Repeat("F", 64), "ignored S3 event: the object version does not exist"},
		{"delete marker that never existed", "ObjectRemoved:DeleteMarkerCreated", "forged-marker", strings.Repeat("F", 64), "ignored S3 event: the delete marker it names does not exist"},
	}
	for _, f := range forged {
		ev := deployertest.Event(t, "s3-object.json", s3Vars{Event: f.event, Key: key, Version: f.version, Sequencer: f.sequencer})
		if err := h.Handle(context.Background(), ev); err != nil {
			t.Fatalf("%s: Handle = %v, want nil (refused, not retried)", f.name, err)
		}
		if got := e.Log.Grep(f.log); len(got) == 0 {
			t.Errorf("%s: no log line %q", f.name, f.log)
		}
	}
	st, err := e.Store.SourceState(context.Background(), records.S3Source(deployertest.Bucket, key, ""))
	if err != nil {
		t.Fatal(err)
	}
	if st.Sequencer != "" {
		t.Fatalf("a forged sequencer was stored: %+v", st)
	}
	v := e.Put(key, deployertest.SQSFile("orders", "orders", 5))
	if err := h.Handle(context.Background(), deployertest.Event(t, "s3-object.json", s3Vars{Event: "ObjectCreated:Put", Key: key, Version: v, Sequencer: "0055AED6DCD90281E5"})); err != nil {
		t.Fatal(err)
	}
	dm := e.Remove(key)
	if err := h.Handle(context.Background(), deployertest.Event(t, "s3-delete-marker.json", s3Vars{Key: key, Version: dm, Sequencer: "0055AED6DCD90281E6"})); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"plan orders", "apply orders", "plan-destroy orders", "apply orders"}, e.Deployer.Calls()); diff != "" {
		t.Errorf("deployer calls of the real events (-want +got):\n%s", diff)
	}
}
