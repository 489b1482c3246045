package sweep_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/google/go-cmp/cmp"

	"github.com/eventwire/eventwire/internal/contract"
	"github.com/eventwire/eventwire/internal/deployer/bucket"
	"github.com/eventwire/eventwire/internal/deployer/sweep"
	"github.com/eventwire/eventwire/internal/testkit/deployertest"
)

// Through the real handler on moto: a file applied through its S3 event,
// then its object deleted with no event delivered. The index still
// declares the function, but the sweep finds no current object at the key:
// it indexes the removal and reports the function orphaned (changing
// nothing in AWS), then, with heal on, prunes it. The removal event
// delivered late, then a new put's event, are handled as usual: the
// function is wired again.
func TestSweep_FileRemovedWithoutEvent_OrphanedThenPruned(t *testing.T) {
	sw := newSweepWorld(t)
	ctx := context.Background()
	sw.wireQueues("gone", "kept")
	key := "gone/_lambdaeventsourcedef.json"
	marker := sw.Remove(key) // no event delivered

	if diff := cmp.Diff([]string{"gone declared", "kept declared"}, sw.sweep(sw.handler(false))); diff != "" {
		t.Errorf("sweep messages (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"gone orphaned 1", "kept in-sync 0"}, sw.results()); diff != "" {
		t.Errorf("drift results (-want +got):\n%s", diff)
	}
	if !strings.Contains(sw.plans()["gone"], "- delete      event-source-mapping") {
		t.Errorf("orphan's plan lacks the mapping's deletion:\n%s", sw.plans()["gone"])
	}
	if decls, _, err := sw.Store.Declarations(ctx, "gone"); err != nil || len(decls) != 0 {
		t.Errorf("declarations of gone after the sweep: %v %v, want none", decls, err)
	}
	if n := sw.mappings("gone"); n != 1 {
		t.Errorf("report only: gone has %d mappings, want 1 still", n)
	}

	// Heal: the function is now known as an orphan.
	if diff := cmp.Diff([]string{"gone orphan", "kept declared"}, sw.sweep(sw.handler(true))); diff != "" {
		t.Errorf("sweep messages, heal (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"gone pruned 1", "kept in-sync 0"}, sw.results()); diff != "" {
		t.Errorf("drift results, heal (-want +got):\n%s", diff)
	}
	if n := sw.mappings("gone"); n != 0 {
		t.Errorf("pruned: gone has %d mappings, want none", n)
	}
	if n := sw.mappings("kept"); n != 1 {
		t.Errorf("kept has %d mappings, want 1", n)
	}

	// Later real events of the key.
	late, _ := json.Marshal(bucket.S3RemovalEvent(deployertest.Bucket, key, marker, sw.NextSequencer()))
	sw.Deliver(late)
	v := sw.Put(key, queueFile("gone", 7))
	again, _ := json.Marshal(bucket.S3PutEvent(deployertest.Bucket, key, v, sw.NextSequencer()))
	sw.Deliver(again)
	if _, batch, _ := sw.mapping("gone"); batch != 7 {
		t.Errorf("after a new put: gone's BatchSize %d, want 7", batch)
	}
	if got := sw.active(t, "gone"); got != v {
		t.Errorf("active declaration of gone at %s, want %s", got, v)
	}
}

// Two files declare one function; the winner's object is deleted with no
// event delivered. With heal on, the sweep indexes the removal and applies
// the other live file in its place.
func TestSweep_WinnerRemovedWithoutEvent_OtherDeclarationApplied(t *testing.T) {
	sw := newSweepWorld(t)
	ctx := context.Background()
	sw.mustFunction("shared")
	for _, q := range []string{"a", "b"} {
		if _, err := sw.Fixture.Queue(ctx, "q-"+q); err != nil {
			t.Fatal(err)
		}
	}
	first, second := "a/_lambdaeventsourcedef.json", "b/_lambdaeventsourcedef.json"
	for _, f := range []struct{ key, body string }{{first, deployertest.SQSFile("shared", "q-a", 5)}, {second, deployertest.SQSFile("shared", "q-b", 5)}} {
		v := sw.Put(f.key, f.body)
		b, _ := json.Marshal(bucket.S3PutEvent(deployertest.Bucket, f.key, v, sw.NextSequencer()))
		sw.Deliver(b)
	}
	sw.Remove(first) // no event delivered

	if diff := cmp.Diff([]string{"shared declared"}, sw.sweep(sw.handler(true))); diff != "" {
		t.Errorf("sweep messages (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"shared healed 2"}, sw.results()); diff != "" {
		t.Errorf("drift results (-want +got):\n%s", diff)
	}
	out, err := sw.Fixture.Lambda.ListEventSourceMappings(ctx, &awslambda.ListEventSourceMappingsInput{FunctionName: aws.String(functionARN("shared"))})
	if err != nil {
		t.Fatal(err)
	}
	var sources []string
	for _, m := range out.EventSourceMappings {
		sources = append(sources, aws.ToString(m.EventSourceArn))
	}
	if diff := cmp.Diff([]string{"arn:aws:sqs:us-east-1:123456789012:q-b"}, sources); diff != "" {
		t.Errorf("shared's mappings (-want +got):\n%s", diff)
	}
}

// mappings counts fn's mappings.
func (sw *sweepWorld) mappings(fn string) int {
	sw.T.Helper()
	out, err := sw.Fixture.Lambda.ListEventSourceMappings(context.Background(), &awslambda.ListEventSourceMappingsInput{FunctionName: aws.String(functionARN(fn))})
	if err != nil {
		sw.T.Fatal(err)
	}
	return len(out.EventSourceMappings)
}

// deniedHead is the test bucket's S3 client, except that HeadObject is
// refused with 403 AccessDenied, as AWS answers a role without the right
// (moto grants everything).
type deniedHead struct{ bucket.S3API }

func (deniedHead) HeadObject(context.Context, *s3.HeadObjectInput, ...func(*s3.Options)) (*s3.HeadObjectOutput, error) {
	return nil, &awshttp.ResponseError{ResponseError: &smithyhttp.ResponseError{
		Response: &smithyhttp.Response{Response: &http.Response{StatusCode: http.StatusForbidden}},
		Err:      &smithy.GenericAPIError{Code: "AccessDenied", Message: "Access Denied"},
	}}
}

// A refused HeadObject (fake: AWS's 403) is no proof that the file is
// gone: the check fails (its message is received again) and the
// declaration stays in the index.
func TestSweep_AccessDeniedOnLiveness_CheckFailsDeclarationKept_Fake(t *testing.T) {
	sw := newSweepWorld(t)
	ctx := context.Background()
	sw.wireQueues("kept")
	sw.Config.S3.API = deniedHead{sw.Config.S3.API}
	h := sw.handler(true)
	body, _ := json.Marshal(contract.SweepMessage{Function: "kept", Kind: "declared", Sweep: "s1"})
	raw, _ := json.Marshal(events.SQSEvent{Records: []events.SQSMessage{{MessageId: "m1", Body: string(body), EventSource: "aws:sqs", EventSourceARN: sw.queueARN, AWSRegion: "us-east-1"}}})
	resp, err := h.Invoke(ctx, raw)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]events.SQSBatchItemFailure{{ItemIdentifier: "m1"}}, resp.BatchItemFailures); diff != "" {
		t.Errorf("batch item failures (-want +got):\n%s", diff)
	}
	if decls, _, err := sw.Store.Declarations(ctx, "kept"); err != nil || len(decls) != 1 {
		t.Errorf("declarations of kept: %v %v, want one still", decls, err)
	}
	if n := sw.mappings("kept"); n != 1 {
		t.Errorf("kept has %d mappings, want 1", n)
	}
}

// A file moved to another key is a removal and a put; here the move
// happens after a heal sweep's start (whose listing saw the old key only),
// and neither event has arrived when the checks run. The check finds the
// old key gone and indexes its removal, but does not prune the function it
// leaves orphaned: the put's event may still be on its way. The function
// is never unwired: when the put's event comes, the function is wired from
// the new key; when it never comes, the next sweep's start finds the new
// key. Either way the next heal sweep finds it in sync. A file removed
// (not moved) is pruned by the next heal sweep.
func TestSweep_FileMovedAfterTheStartEventsDelayed_HealPrunesOnlyOnTheNextSweep(t *testing.T) {
	for _, c := range []struct {
		name                string
		moved, putArrives   bool
		messages, outcome   string
		mappingsAfterSecond int
	}{
		{"moved, put arrives", true, true, "moved declared", "moved in-sync 0", 1},
		{"moved, put lost", true, false, "moved declared", "moved in-sync 0", 1},
		{"removed", false, false, "moved orphan", "moved pruned 1", 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			sw := newSweepWorld(t)
			sw.wireQueues("moved")
			oldKey, newKey := "moved/_lambdaeventsourcedef.json", "renamed/_lambdaeventsourcedef.json"
			h := sw.handler(true)
			sw.start(h)
			marker := sw.Remove(oldKey) // no event yet
			var v string
			if c.moved {
				v = sw.Put(newKey, queueFile("moved", 5)) // no event yet
			}
			if diff := cmp.Diff([]string{"moved declared"}, sw.drain(h)); diff != "" {
				t.Errorf("first heal sweep's messages (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]string{"moved orphaned 1"}, sw.results()); diff != "" {
				t.Errorf("first heal sweep's results (-want +got):\n%s", diff)
			}
			if n := sw.mappings("moved"); n != 1 {
				t.Errorf("after the first heal sweep: moved has %d mappings, want 1 (not pruned)", n)
			}
			if got := sw.Log.Grep(sweep.OrphanKeptLogMessage); len(got) != 1 {
				t.Errorf("log lines %q: %q, want one", sweep.OrphanKeptLogMessage, got)
			}

			if c.putArrives {
				removal, _ := json.Marshal(bucket.S3RemovalEvent(deployertest.Bucket, oldKey, marker, sw.NextSequencer()))
				put, _ := json.Marshal(bucket.S3PutEvent(deployertest.Bucket, newKey, v, sw.NextSequencer()))
				sw.Deliver(removal, put)
				if n := sw.mappings("moved"); n != 1 {
					t.Errorf("after the move's events: moved has %d mappings, want 1", n)
				}
				if got := sw.active(t, "moved"); got != v {
					t.Errorf("active declaration of moved at %s, want the new key's %s", got, v)
				}
			}
			if diff := cmp.Diff([]string{c.messages}, sw.sweep(sw.handler(true))); diff != "" {
				t.Errorf("second heal sweep's messages (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]string{c.outcome}, sw.results()); diff != "" {
				t.Errorf("second heal sweep's results (-want +got):\n%s", diff)
			}
			if n := sw.mappings("moved"); n != c.mappingsAfterSecond {
				t.Errorf("after the second heal sweep: moved has %d mappings, want %d", n, c.mappingsAfterSecond)
			}
		})
	}
}
