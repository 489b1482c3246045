package deployer

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/eventwire/eventwire/internal/records"
)

// The parts of the deployer (its event sources and the sweep) are
// registered on the Handler by the composition (internal/deployer/compose):
// the core recognises an event and hands it to the part registered for
// its kind, and reaches a source's files only through its Reader.

// Event is a kind of event the core recognises (see Handle).
type Event int

const (
	// EventS3 is an S3 notification (records of eventSource aws:s3).
	EventS3 Event = iota
	// EventCodeCommit is a CodeCommit repository trigger (records of
	// eventSource aws:codecommit).
	EventCodeCommit
	// EventCodeCommitChange is CodeCommit's EventBridge event
	// (contract.CodeCommitStateChange).
	EventCodeCommitChange
	// EventCodePipeline is a CodePipeline job. Unlike the others, its
	// context is not cut DeadlineReserve short: the job keeps that time
	// to answer itself.
	EventCodePipeline
	// EventSweep is the scheduled invocation that starts a sweep.
	EventSweep
)

var eventNames = [...]string{"S3", "CodeCommit", "CodeCommit state change", "CodePipeline", "scheduled sweep"}

// String names the kind of event, for errors.
func (e Event) String() string { return eventNames[e] }

// EventHandler handles one kind of event.
type EventHandler interface {
	HandleEvent(ctx context.Context, event json.RawMessage) error
}

// EventFunc is a function as an EventHandler.
type EventFunc func(ctx context.Context, event json.RawMessage) error

// HandleEvent calls f.
func (f EventFunc) HandleEvent(ctx context.Context, event json.RawMessage) error {
	return f(ctx, event)
}

// BatchHandler handles an SQS batch (the sweep queue's checks), answering
// the messages that failed.
type BatchHandler interface {
	HandleBatch(ctx context.Context, event json.RawMessage) (*events.SQSEventResponse, error)
}

// On registers the handler of kind's events.
func (h *Handler) On(kind Event, eh EventHandler) { h.events[kind] = eh }

// OnBatch registers the handler of SQS batches.
func (h *Handler) OnBatch(bh BatchHandler) { h.batch = bh }

// dispatch hands an event to the handler of its kind.
func (h *Handler) dispatch(ctx context.Context, kind Event, event json.RawMessage) error {
	eh, ok := h.events[kind]
	if !ok {
		return fmt.Errorf("no handler of %s events: %s", kind, Excerpt(event))
	}
	return eh.HandleEvent(ctx, event)
}

// Reader is how the core and the sweep reach one kind of source of
// definition files (records.KindS3, records.KindCodeCommit): neither knows
// the sources otherwise.
type Reader interface {
	// Read reads the file of a declaration, and the _lambdadef.json beside
	// it, at the versions it was indexed with. A file that is not there
	// (at that version) is an error wrapping ErrNoObject.
	Read(ctx context.Context, s records.Source) (File, error)
	// Live reports whether the source's file is still there now. A
	// refused or failed read is an error, never an absence.
	Live(ctx context.Context, s records.Source, log *slog.Logger) (bool, error)
	// CatchUp lists what the source holds now and indexes what the index
	// lacks, as the events that were not delivered would have: a sweep's
	// start (sweep is its id, for the logs). What cannot be read or
	// indexed is logged and left to the next sweep; only a failure to
	// list, or ctx ending, is returned.
	CatchUp(ctx context.Context, sweep string) error
}

// File is a definition file a Reader read, with the _lambdadef.json
// beside it (Sib, nil if none).
type File struct {
	// Trigger and Path are what the file is validated with (Validate):
	// its source's trigger, and its S3 key or path in the repository.
	Trigger   records.Trigger
	Path      string
	Data, Sib []byte
}

// AddReader registers the reader of kind's sources. The sweep's start
// catches up with the readers in the order they were registered.
func (h *Handler) AddReader(kind string, r Reader) {
	h.readers[kind] = r
	h.readerOrder = append(h.readerOrder, r)
}

// Readers are the readers registered, in order.
func (h *Handler) Readers() []Reader { return h.readerOrder }

// Reader is the reader of kind's sources. Any kind but
// records.KindCodeCommit, records.KindPipeline and records.KindCLI is
// S3's, as for records.Source.ID.
func (h *Handler) Reader(kind string) (Reader, error) {
	switch kind {
	case records.KindCodeCommit, records.KindPipeline, records.KindCLI:
	default:
		kind = records.KindS3
	}
	r, ok := h.readers[kind]
	if !ok {
		return nil, fmt.Errorf("no reader of %s sources", kind)
	}
	return r, nil
}

// Logger is the handler's logger.
func (h *Handler) Logger() *slog.Logger { return h.log }

// Now is the handler's clock.
func (h *Handler) Now() time.Time { return h.now() }

// Store is the records table.
func (h *Handler) Store() *records.Store { return h.cfg.Store }

// Deployer is the reconciler runs plan and apply with.
func (h *Handler) Deployer() Deployer { return h.cfg.Deployer }

// Self is the deployer's own function name ("" if unknown).
func (h *Handler) Self() string { return h.cfg.Self }

// DeadlineReserve is the time kept before an invocation's deadline to
// answer, or to record a run cut short.
func (h *Handler) DeadlineReserve() time.Duration { return h.cfg.DeadlineReserve }

// Beginner is a Deployer, or a part, that does something at the start of
// each invocation: reconcile.Runs starts a new run, so that what an
// invocation's functions share is read once and not kept past it.
type Beginner interface{ Begin() }

// begin tells the Deployer and every part that an invocation starts.
func (h *Handler) begin() {
	if b, ok := h.cfg.Deployer.(Beginner); ok {
		b.Begin()
	}
	if b, ok := h.batch.(Beginner); ok {
		b.Begin()
	}
	for _, eh := range h.events {
		if b, ok := eh.(Beginner); ok {
			b.Begin()
		}
	}
}
