// Package sweep is the deployer's drift detection: a scheduled sweep's
// start (catching up with the events that were not delivered, listing
// every function to check and enqueueing one check each on the sweep
// queue), the checks of the sweep queue's batches (each function under its
// lease: planned from its live declaration, or as an orphan; healed or
// pruned with heal on), the liveness of declaring files, and the sweep's
// CloudWatch metrics (Embedded Metric Format). It reaches the sources only
// through the core's Reader interface (deployer.Reader): it must not
// import the sources (internal/deployer/bucket, branch, pipeline) nor the
// composition (internal/layers checks).
package sweep

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/eventwire/eventwire/internal/aws/lazy"
	"github.com/eventwire/eventwire/internal/aws/quota"
	"github.com/eventwire/eventwire/internal/contract"
	"github.com/eventwire/eventwire/internal/deployer"
	"github.com/eventwire/eventwire/internal/reconcile"
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

// Config is drift detection's configuration.
type Config struct {
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
	// of the quotas; the core's Deployer if nil.
	Deployer deployer.Deployer
	// Metrics receives the Embedded Metric Format lines; os.Stdout if nil.
	Metrics io.Writer
}

// Sweep is the sweep's part of the deployer: the scheduled invocation's
// handler (HandleEvent) and the sweep queue's batches' (HandleBatch).
type Sweep struct {
	h   *deployer.Handler
	cfg Config
	log *slog.Logger
	// metricsMu keeps metric lines whole.
	metricsMu sync.Mutex
}

// New returns the sweep of h.
func New(h *deployer.Handler, cfg Config) *Sweep {
	return &Sweep{h: h, cfg: cfg, log: h.Logger()}
}

// Pace makes every AWS call of the sweep wait for p's tokens (p paces at
// the settings' SweepQuotas, the sweep's share): the checks plan and apply
// with a reconciler of their own on cfg with opts, and a scheduled sweep
// lists the managed mappings through a client of its own, so that
// deployments keep the rest of each bucket.
func (s *Sweep) Pace(cfg aws.Config, opts reconcile.Options, p *quota.Pacer) {
	opts.Pacer = p
	r := reconcile.New(cfg, opts)
	s.cfg.Deployer = r
	if _, ok := s.h.Deployer().(deployer.Beginner); ok {
		// The core's deployer plans in one run per invocation: so do
		// the checks.
		s.cfg.Deployer = r.Runs()
	}
	p.Configure(&cfg)
	s.cfg.Mappings = lazy.NewMappings(cfg)
}

// Begin starts the checks' next run (deployer.Beginner), when their
// Deployer has runs.
func (s *Sweep) Begin() {
	if b, ok := s.cfg.Deployer.(deployer.Beginner); ok {
		b.Begin()
	}
}

// SetMetrics makes the sweep write its Embedded Metric Format lines to w
// instead of standard output (the bench reads them back).
func (s *Sweep) SetMetrics(w io.Writer) { s.cfg.Metrics = w }

// HandleEvent starts a sweep (the scheduled invocation's event says
// nothing more).
func (s *Sweep) HandleEvent(ctx context.Context, _ json.RawMessage) error { return s.start(ctx) }

// maxBatch is SendMessageBatch's limit of messages per call.
const maxBatch = 10

// sendAttempts bounds the resending of messages SQS did not take.
const sendAttempts = 3

// start starts a sweep: it catches up with the events the sources did not
// deliver (each Reader's CatchUp, in the order registered: the definition
// files whose put events were not delivered, the branches whose pushes
// were not), lists every function to check
// and enqueues one message each on the sweep queue. It changes nothing in
// AWS and plans nothing: the checks do, one function at a time.
func (s *Sweep) start(ctx context.Context) error {
	sc := s.cfg
	if sc.QueueURL == "" || sc.SQS == nil {
		return fmt.Errorf("scheduled sweep: no sweep queue to enqueue checks on: set %s", contract.EnvSweepQueueURL)
	}
	sw := records.Sweep{ID: records.NewID(), Started: s.h.Now().UTC()}
	for _, r := range s.h.Readers() {
		if err := r.CatchUp(ctx, sw.ID); err != nil {
			return fmt.Errorf("sweep %s: %w", sw.ID, err)
		}
	}
	msgs, err := s.sweepFunctions(ctx, sw)
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
		if err := s.enqueue(ctx, msgs[i:min(i+maxBatch, len(msgs))], 0); err != nil {
			return fmt.Errorf("sweep %s: %w", sw.ID, err)
		}
	}
	if err := s.h.Store().PutSweep(context.WithoutCancel(ctx), sw); err != nil {
		return err
	}
	s.log.InfoContext(ctx, contract.SweepStartedLogMessage, "sweep", sw.ID, "functions", sw.Functions, "declared", sw.Declared, "orphans", sw.Orphans)
	s.emitMetrics(ctx, sw.Started, metric{contract.MetricFunctionsEnqueued, "Count", float64(sw.Functions)})
	return nil
}

// sweepFunctions lists the functions to check, ordered: every function the
// index knows (declared by a live file, or no longer declared: an orphan),
// and every function with a mapping that eventwire manages and the index
// does not know (an orphan: found by the mapping's tag, only among the
// functions this deployer may wire).
func (s *Sweep) sweepFunctions(ctx context.Context, sw records.Sweep) ([]contract.SweepMessage, error) {
	known, err := s.h.Store().KnownFunctions(ctx)
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
	if s.cfg.Mappings != nil {
		unknown := func(o wiring.Mapping) bool {
			_, ok := kinds[records.DeclKey(o.FunctionArn)]
			return !ok && s.h.OutOfBounds(records.TriggerSweep, "", o.FunctionArn) == ""
		}
		ms, err := s.cfg.Mappings.ListTagged(ctx, unknown)
		if err != nil {
			return nil, err
		}
		for _, o := range ms {
			if fn := managedFunction(o); fn != "" && s.h.OutOfBounds(records.TriggerSweep, "", fn) == "" {
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

// enqueue sends up to maxBatch messages in one SendMessageBatch, each
// delayed by delay seconds, and sends again those SQS did not take (a few
// times), then fails.
func (s *Sweep) enqueue(ctx context.Context, msgs []contract.SweepMessage, delay int32) error {
	entries := make([]sqstypes.SendMessageBatchRequestEntry, len(msgs))
	for i, m := range msgs {
		body, err := json.Marshal(m)
		if err != nil {
			return err
		}
		entries[i] = sqstypes.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), MessageBody: aws.String(string(body))}
		if delay > 0 {
			entries[i].DelaySeconds = delay
		}
	}
	for attempt := 1; ; attempt++ {
		out, err := s.cfg.SQS.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(s.cfg.QueueURL), Entries: entries})
		if err != nil {
			return fmt.Errorf("send %d sweep messages to %s: %w", len(entries), s.cfg.QueueURL, err)
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
			return fmt.Errorf("send sweep messages to %s: %d not taken after %d attempts: %w", s.cfg.QueueURL, len(failed), attempt, errors.Join(errs...))
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
