package deployer

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/eventwire/eventwire/internal/contract"
)

// probe is just enough of an event to tell which kind it is.
type probe struct {
	Records []struct {
		EventSource string `json:"eventSource"`
	} `json:"Records"`
	Job json.RawMessage `json:"CodePipeline.job"`
	// EventBridge events (the stack's CodeCommit rule, the sweep's
	// schedule).
	Source     string `json:"source"`
	DetailType string `json:"detail-type"`
	// Eventwire is "sweep" in the schedule's constant input (SweepInput).
	Eventwire string `json:"eventwire"`
}

// sweepInput is SweepInput, decoded.
var sweepInput = func() (p probe) {
	_ = json.Unmarshal([]byte(contract.SweepInput), &p)
	return p
}()

// Invoke is the Lambda entry point: lambda.Start(h.Invoke). An SQS batch
// of the sweep queue is answered with the messages whose check failed
// (events.SQSEventResponse, for the mapping's ReportBatchItemFailures);
// every other event as Handle handles it, answered with null.
func (h *Handler) Invoke(ctx context.Context, event json.RawMessage) (*events.SQSEventResponse, error) {
	h.begin()
	var p probe
	if err := json.Unmarshal(event, &p); err == nil && isSQS(p) {
		h.log.InfoContext(ctx, "sweep checks received", "records", len(p.Records))
		if h.batch == nil {
			return nil, fmt.Errorf("no handler of SQS batches: %s", Excerpt(event))
		}
		ctx, cancel := h.reserve(ctx)
		defer cancel()
		return h.batch.HandleBatch(ctx, event)
	}
	return nil, h.Handle(ctx, event)
}

// isSQS reports whether the event is an SQS batch.
func isSQS(p probe) bool {
	for _, r := range p.Records {
		if r.EventSource != "aws:sqs" {
			return false
		}
	}
	return len(p.Records) > 0
}

// Handle handles an event: the entry point of every event but an SQS batch
// (see Invoke), which it handles too, failing if any message's check
// failed. The event goes to the part registered for its kind (On), with
// a context that ends DeadlineReserve before the invocation's deadline
// (but for a CodePipeline job, which keeps that time to answer itself).
func (h *Handler) Handle(ctx context.Context, event json.RawMessage) error {
	var p probe
	if err := json.Unmarshal(event, &p); err != nil {
		return fmt.Errorf("unrecognised event (not a JSON object): %w: %s", err, Excerpt(event))
	}
	if isSQS(p) {
		resp, err := h.Invoke(ctx, event)
		if err == nil && len(resp.BatchItemFailures) > 0 {
			err = fmt.Errorf("sweep checks failed: %d of %d messages", len(resp.BatchItemFailures), len(p.Records))
		}
		return err
	}
	kind, err := recognise(p, event)
	if err != nil {
		return err
	}
	received := []any{}
	if kind == EventS3 || kind == EventCodeCommit {
		received = append(received, "records", len(p.Records))
	}
	h.log.InfoContext(ctx, receivedMessages[kind], received...)
	if kind != EventCodePipeline {
		var cancel context.CancelFunc
		ctx, cancel = h.reserve(ctx)
		defer cancel()
	}
	return h.dispatch(ctx, kind, event)
}

// receivedMessages are the lines logged as each kind of event arrives.
var receivedMessages = map[Event]string{
	EventS3:               "S3 event received",
	EventCodeCommit:       "CodeCommit event received",
	EventCodeCommitChange: "CodeCommit push received from EventBridge",
	EventCodePipeline:     "CodePipeline job received",
	EventSweep:            "scheduled sweep received",
}

// recognise tells which kind of event p is, or why it is none.
func recognise(p probe, event json.RawMessage) (Event, error) {
	switch {
	case p.Source == contract.SweepEventSource && p.DetailType == contract.SweepDetailType, p.Eventwire != "" && p.Eventwire == sweepInput.Eventwire:
		return EventSweep, nil
	case len(p.Job) > 0:
		return EventCodePipeline, nil
	case p.Source == contract.CodeCommitEventSource && p.DetailType == contract.CodeCommitStateChange:
		return EventCodeCommitChange, nil
	case len(p.Records) > 0:
		sources := map[string]bool{}
		for _, r := range p.Records {
			sources[r.EventSource] = true
		}
		switch {
		case len(sources) == 1 && sources["aws:s3"]:
			return EventS3, nil
		case len(sources) == 1 && sources["aws:codecommit"]:
			return EventCodeCommit, nil
		}
		var names []string
		for _, r := range p.Records {
			names = append(names, fmt.Sprintf("%q", r.EventSource))
		}
		return 0, fmt.Errorf("unrecognised event: records from event sources %s (want aws:s3, aws:codecommit or aws:sqs): %s", strings.Join(names, ", "), Excerpt(event))
	}
	return 0, fmt.Errorf("unrecognised event: neither S3, CodeCommit, CodePipeline nor a scheduled sweep: %s", Excerpt(event))
}

// reserve ends ctx DeadlineReserve before its deadline, so that a run cut
// short by Lambda's timeout still writes its failure record and returns
// its error (for Lambda to retry) before Lambda stops the function.
func (h *Handler) reserve(ctx context.Context) (context.Context, context.CancelFunc) {
	if d, ok := ctx.Deadline(); ok {
		return context.WithDeadline(ctx, d.Add(-h.cfg.DeadlineReserve))
	}
	return ctx, func() {}
}

// Excerpt is the start of an event, for error messages.
func Excerpt(event []byte) string {
	const n = 200
	s := strings.Join(strings.Fields(string(event)), " ")
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// Expected is what a refusal log line says was expected: the setting's
// value, or that it is not set.
func Expected(value, env string) string {
	if value == "" {
		return "none (" + env + " is not set: this source is not accepted)"
	}
	return value
}
