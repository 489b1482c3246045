package deployertest

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/eventwire/eventwire/internal/contract"
	"github.com/eventwire/eventwire/internal/deployer"
	"github.com/eventwire/eventwire/internal/deployer/sweep"
	"github.com/eventwire/eventwire/internal/records"
)

// DeferTeardowns makes the world's handler defer teardowns by grace, as
// the stack's deployer does: through delayed messages on a sweep queue of
// the world's own, which DeliverDeferred delivers.
func (w *World) DeferTeardowns(grace time.Duration) { w.deferTeardowns(grace, false) }

// DeferTeardownsAndHeal is DeferTeardowns with the sweep's heal mode on,
// for SweepCheck.
func (w *World) DeferTeardownsAndHeal(grace time.Duration) { w.deferTeardowns(grace, true) }

func (w *World) deferTeardowns(grace time.Duration, heal bool) {
	w.T.Helper()
	ctx := context.Background()
	name := w.prefix + "eventwire-sweep"
	arn, err := w.Fixture.Queue(ctx, name)
	if err != nil {
		w.T.Fatal(err)
	}
	u, err := w.Fixture.SQS.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(name)})
	if err != nil {
		w.T.Fatal(err)
	}
	w.sweepURL, w.sweepARN, w.grace = aws.ToString(u.QueueUrl), arn, grace
	w.build(deployer.Settings{SweepQueueURL: w.sweepURL, SweepQueueARN: w.sweepARN, TeardownGrace: grace, DriftHeal: heal})
}

// deferredWait bounds the wait for the sweep queue's delayed messages.
const deferredWait = 2 * time.Minute

// DeliverDeferred waits until the sweep queue's messages sent so far are
// due (the grace), delivers them to the handler as the deployer's mapping would
// (batches of up to 10; a message whose convergence failed fails the
// test), and returns the number delivered.
func (w *World) DeliverDeferred() int {
	w.T.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), deferredWait)
	defer cancel()
	// Every message was sent before the call, so all are due once the
	// grace has passed.
	time.Sleep(w.grace + 500*time.Millisecond)
	n := 0
	for {
		out, err := w.Fixture.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(w.sweepURL), MaxNumberOfMessages: 10, VisibilityTimeout: 60,
		})
		if err != nil {
			w.T.Fatal(err)
		}
		if len(out.Messages) == 0 {
			return n
		}
		raw, _ := json.Marshal(sweep.SQSEventFor(w.sweepARN, "us-east-1", out.Messages))
		ictx := lambdacontext.NewContext(ctx, &lambdacontext.LambdaContext{AwsRequestID: fmt.Sprintf("deferred-%d", w.Seq.Add(1))})
		resp, err := w.h.Invoke(ictx, raw)
		if err != nil || len(resp.BatchItemFailures) > 0 {
			w.T.Fatalf("deferred teardowns: %v %v", err, resp)
		}
		for _, m := range out.Messages {
			if _, err := w.Fixture.SQS.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(w.sweepURL), ReceiptHandle: m.ReceiptHandle}); err != nil {
				w.T.Fatal(err)
			}
		}
		n += len(out.Messages)
	}
}

// SweepCheck delivers one sweep check of fn as an orphan, in sweep id, to
// the handler as the sweep queue's mapping would (DeferTeardowns first);
// a failed check fails the test.
func (w *World) SweepCheck(fn, id string) {
	w.T.Helper()
	body, _ := json.Marshal(contract.SweepMessage{Function: w.prefix + fn, Kind: records.KindOrphan, Sweep: id, Started: time.Now()})
	msgs := []sqstypes.Message{{MessageId: aws.String("check-" + id), ReceiptHandle: aws.String("check-" + id), Body: aws.String(string(body))}}
	raw, _ := json.Marshal(sweep.SQSEventFor(w.sweepARN, "us-east-1", msgs))
	ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: fmt.Sprintf("check-%d", w.Seq.Add(1))})
	resp, err := w.h.Invoke(ctx, raw)
	if err != nil || len(resp.BatchItemFailures) > 0 {
		w.T.Fatalf("sweep check of %s: %v %v", fn, err, resp)
	}
}
