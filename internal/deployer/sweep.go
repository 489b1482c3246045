package deployer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/eventwire/eventwire/internal/contract"
	"github.com/eventwire/eventwire/internal/records"
	"github.com/eventwire/eventwire/internal/wiring"
)

// SQSAPI is the slice of the SQS client the sweep needs: it only sends.
// (The deployer receives the sweep queue's messages through its event
// source mapping, which Lambda runs.)
type SQSAPI interface {
	SendMessageBatch(ctx context.Context, in *sqs.SendMessageBatchInput, opts ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error)
}

// MappingLister lists every event source mapping of the account and
// region, with the tags of those tagged accepts (lambdasvc.Mappings).
type MappingLister interface {
	ListTagged(ctx context.Context, tagged func(wiring.Mapping) bool) ([]wiring.Mapping, error)
}

// SweepConfig is drift detection's part of Config.
type SweepConfig struct {
	// QueueARN is the only queue whose SQS batches are accepted (checks);
	// QueueURL is where a scheduled sweep enqueues them, through SQS.
	QueueARN, QueueURL string
	SQS                SQSAPI
	// Mappings finds the mappings eventwire manages whose function no
	// live file declares; nil: orphans are found from the index alone.
	Mappings MappingLister
	// Heal makes checks apply the plan and prune orphans; otherwise they
	// only report.
	Heal bool
	// Deployer plans and applies the checks, paced at the sweep's share
	// of the quotas; Config.Deployer if nil.
	Deployer Deployer
	// Metrics receives the Embedded Metric Format lines; os.Stdout if nil.
	Metrics io.Writer
}

// maxBatch is SendMessageBatch's limit of messages per call.
const maxBatch = 10

// sendAttempts bounds the resending of messages SQS did not take.
const sendAttempts = 3

// startSweep starts a sweep: it indexes the definition files whose put
// events were not delivered (catchup.go) and the branches whose pushes
// were not (catchup_codecommit.go), lists every function to check
// and enqueues one message each on the sweep queue. It changes nothing in
// AWS and plans nothing: the checks do, one function at a time.
func (h *Handler) startSweep(ctx context.Context) error {
	sc := h.cfg.Sweep
	if sc.QueueURL == "" || sc.SQS == nil {
		return fmt.Errorf("scheduled sweep: no sweep queue to enqueue checks on: set %s", contract.EnvSweepQueueURL)
	}
	sw := records.Sweep{ID: records.NewID(), Started: h.now().UTC()}
	if err := h.catchUp(ctx, sw.ID); err != nil {
		return fmt.Errorf("sweep %s: %w", sw.ID, err)
	}
	if err := h.catchUpBranches(ctx, sw.ID); err != nil {
		return fmt.Errorf("sweep %s: %w", sw.ID, err)
	}
	msgs, err := h.sweepFunctions(ctx, sw)
	if err != nil {
		return fmt.Errorf("sweep %s: %w", sw.ID, err)
	}
	for _, m := range msgs {
		if m.Kind == records.KindOrphan {
			sw.Orphans++
		} else {
			sw.Declared++
		}
	}
	sw.Functions = len(msgs)
	for i := 0; i < len(msgs); i += maxBatch {
		if err := h.enqueue(ctx, msgs[i:min(i+maxBatch, len(msgs))]); err != nil {
			return fmt.Errorf("sweep %s: %w", sw.ID, err)
		}
	}
	if err := h.cfg.Store.PutSweep(context.WithoutCancel(ctx), sw); err != nil {
		return err
	}
	h.log.InfoContext(ctx, contract.SweepStartedLogMessage, "sweep", sw.ID, "functions", sw.Functions, "declared", sw.Declared, "orphans", sw.Orphans)
	h.emitMetrics(ctx, sw.Started, metric{contract.MetricFunctionsEnqueued, "Count", float64(sw.Functions)})
	return nil
}

// sweepFunctions lists the functions to check, ordered: every function the
// index knows (declared by a live file, or no longer declared: an orphan),
// and every function with a mapping that eventwire manages and the index
// does not know (an orphan: found by the mapping's tag, only among the
// functions this deployer may wire).
func (h *Handler) sweepFunctions(ctx context.Context, sw records.Sweep) ([]contract.SweepMessage, error) {
	known, err := h.cfg.Store.KnownFunctions(ctx)
	if err != nil {
		return nil, err
	}
	kinds := map[string]string{}
	for _, k := range known {
		kinds[k.Function] = records.KindOrphan
		if k.Declared {
			kinds[k.Function] = records.KindDeclared
		}
	}
	if h.cfg.Sweep.Mappings != nil {
		unknown := func(o wiring.Mapping) bool {
			_, ok := kinds[records.DeclKey(o.FunctionArn)]
			return !ok && h.outOfBounds(records.TriggerSweep, "", o.FunctionArn) == ""
		}
		ms, err := h.cfg.Sweep.Mappings.ListTagged(ctx, unknown)
		if err != nil {
			return nil, err
		}
		for _, o := range ms {
			if fn := managedFunction(o); fn != "" && h.outOfBounds(records.TriggerSweep, "", fn) == "" {
				if _, ok := kinds[fn]; !ok {
					kinds[fn] = records.KindOrphan
				}
			}
		}
	}
	msgs := make([]contract.SweepMessage, 0, len(kinds))
	for fn, kind := range kinds {
		msgs = append(msgs, contract.SweepMessage{Function: fn, Kind: kind, Sweep: sw.ID, Started: sw.Started})
	}
	sort.Slice(msgs, func(i, j int) bool { return msgs[i].Function < msgs[j].Function })
	return msgs, nil
}

// managedFunction is the function (declaration key) of a mapping that
// eventwire manages, from its tag (the reference the file wrote), else its
// FunctionArn; "" for a mapping eventwire does not manage.
func managedFunction(o wiring.Mapping) string {
	ref, ok := o.Tags[wiring.TagKey]
	if !ok {
		return ""
	}
	if ref == "" {
		ref = o.FunctionArn
	}
	return records.DeclKey(ref)
}

// enqueue sends up to maxBatch messages in one SendMessageBatch, and sends
// again those SQS did not take (a few times), then fails.
func (h *Handler) enqueue(ctx context.Context, msgs []contract.SweepMessage) error {
	entries := make([]sqstypes.SendMessageBatchRequestEntry, len(msgs))
	for i, m := range msgs {
		body, err := json.Marshal(m)
		if err != nil {
			return err
		}
		entries[i] = sqstypes.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), MessageBody: aws.String(string(body))}
	}
	for attempt := 1; ; attempt++ {
		out, err := h.cfg.Sweep.SQS.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(h.cfg.Sweep.QueueURL), Entries: entries})
		if err != nil {
			return fmt.Errorf("send %d sweep messages to %s: %w", len(entries), h.cfg.Sweep.QueueURL, err)
		}
		if len(out.Failed) == 0 {
			return nil
		}
		failed := map[string]bool{}
		var errs []error
		for _, f := range out.Failed {
			failed[aws.ToString(f.Id)] = true
			errs = append(errs, fmt.Errorf("message %s: %s: %s", aws.ToString(f.Id), aws.ToString(f.Code), aws.ToString(f.Message)))
		}
		if attempt == sendAttempts {
			return fmt.Errorf("send sweep messages to %s: %d not taken after %d attempts: %w", h.cfg.Sweep.QueueURL, len(failed), attempt, errors.Join(errs...))
		}
		var again []sqstypes.SendMessageBatchRequestEntry
		for _, e := range entries {
			if failed[aws.ToString(e.Id)] {
				again = append(again, e)
			}
		}
		entries = again
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(attempt) * 200 * time.Millisecond):
		}
	}
}

// SQSEventFor is the event the deployer's mapping on the sweep queue
// (queueARN, in region) invokes it with for the messages received: what
// the demo, the bench and tests deliver to the handler in Lambda's place.
func SQSEventFor(queueARN, region string, msgs []sqstypes.Message) events.SQSEvent {
	ev := events.SQSEvent{Records: make([]events.SQSMessage, len(msgs))}
	for i, m := range msgs {
		ev.Records[i] = events.SQSMessage{
			MessageId: aws.ToString(m.MessageId), ReceiptHandle: aws.ToString(m.ReceiptHandle), Body: aws.ToString(m.Body),
			EventSource: "aws:sqs", EventSourceARN: queueARN, AWSRegion: region,
		}
	}
	return ev
}
