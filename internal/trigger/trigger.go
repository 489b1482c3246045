// Package trigger is the deployer Lambda's handler: it recognises the event
// it was invoked with (an S3 notification, a CodeCommit repository trigger
// or a CodePipeline job), finds the definition files the event is about,
// and applies them one function at a time under a per-function lease,
// writing a deployment record for every run.
//
// Validation errors are final: they are recorded and logged, and the
// handler returns nil so that Lambda does not retry. AWS failures are
// returned, so that Lambda's asynchronous retries and the on-failure
// destination keep the event. CodePipeline jobs are always answered.
package trigger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/eventwire/eventwire/internal/definition"
	"github.com/eventwire/eventwire/internal/plan"
	"github.com/eventwire/eventwire/internal/records"
)

// Deployer plans and applies definition files (internal/reconcile's
// Reconciler).
type Deployer interface {
	Plan(ctx context.Context, f *definition.File) (*plan.Plan, error)
	PlanDestroy(ctx context.Context, functionRef string) (*plan.Plan, error)
	Apply(ctx context.Context, p *plan.Plan) error
}

// ParseFunc parses and validates a definition file (definition.Parse).
// It makes no AWS call, so every error it returns is about the file and
// final.
type ParseFunc func(path string, data, functionDef []byte) (*definition.File, error)

// Defaults of Config.
const (
	DefaultLeaseWait       = 60 * time.Second
	DefaultDeadlineReserve = 10 * time.Second
)

// Config is what a Handler needs. Deployer, Store and Parse are required;
// each source's client only for that source's events.
type Config struct {
	Deployer Deployer
	Store    *records.Store
	Parse    ParseFunc

	// S3 reads definition files from the definitions bucket.
	S3 S3API
	// CodeCommit reads commits, differences and files.
	CodeCommit CodeCommitAPI
	// CodePipeline answers jobs.
	CodePipeline CodePipelineAPI
	// ArtifactS3 builds an S3 client that uses a job's artifact
	// credentials (see NewArtifactS3).
	ArtifactS3 func(events.CodePipelineArtifactCredentials) S3API

	Logger *slog.Logger
	// LeaseDuration is how long a function's lease lasts unless released,
	// and never less than until the invocation's deadline (plus a few
	// seconds), so that it cannot expire under a running apply. If zero:
	// until that deadline, or records.DefaultLeaseDuration without one.
	LeaseDuration time.Duration
	// LeaseWait bounds how long a run waits for a function's lease held by
	// another run before it fails (to be retried).
	LeaseWait time.Duration
	// DeadlineReserve is the time kept before the Lambda deadline to answer
	// a CodePipeline job (with a continuation token if work remains), or
	// to record a run cut short and return its error.
	DeadlineReserve time.Duration
	// Now is the clock; time.Now if nil.
	Now func() time.Time
	// FunctionPrefix, if set, is the name prefix of the functions the
	// deployer may wire (the stack scopes its IAM policy to it); Self is
	// the deployer's own name. A file naming a function outside the
	// prefix, or the deployer, is invalid: final, not an AccessDenied to
	// retry.
	FunctionPrefix string
	Self           string
}

// leaseMargin is added to the time left in an invocation to make the
// default lease length: clocks of Lambda and DynamoDB differ a little.
const leaseMargin = 5 * time.Second

// Handler handles the deployer's invocations.
type Handler struct {
	cfg Config
	log *slog.Logger
	now func() time.Time
}

// New returns a Handler.
func New(cfg Config) *Handler {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.LeaseWait <= 0 {
		cfg.LeaseWait = DefaultLeaseWait
	}
	if cfg.DeadlineReserve <= 0 {
		cfg.DeadlineReserve = DefaultDeadlineReserve
	}
	return &Handler{cfg: cfg, log: cfg.Logger, now: cfg.Now}
}

// probe is just enough of an event to tell which kind it is.
type probe struct {
	Records []struct {
		EventSource string `json:"eventSource"`
	} `json:"Records"`
	Job json.RawMessage `json:"CodePipeline.job"`
	// EventBridge events (the stack's CodeCommit rule).
	Source     string `json:"source"`
	DetailType string `json:"detail-type"`
}

// Handle is the Lambda entry point: lambda.Start(h.Handle).
func (h *Handler) Handle(ctx context.Context, event json.RawMessage) error {
	var p probe
	if err := json.Unmarshal(event, &p); err != nil {
		return fmt.Errorf("unrecognised event (not a JSON object): %w: %s", err, excerpt(event))
	}
	switch {
	case len(p.Job) > 0:
		h.log.InfoContext(ctx, "CodePipeline job received")
		return h.handleCodePipeline(ctx, event)
	case p.Source == "aws.codecommit" && p.DetailType == codeCommitStateChange:
		h.log.InfoContext(ctx, "CodeCommit push received from EventBridge")
		ctx, cancel := h.reserve(ctx)
		defer cancel()
		return h.handleCodeCommitStateChange(ctx, event)
	case len(p.Records) > 0:
		sources := map[string]bool{}
		for _, r := range p.Records {
			sources[r.EventSource] = true
		}
		switch {
		case len(sources) == 1 && sources["aws:s3"]:
			h.log.InfoContext(ctx, "S3 event received", "records", len(p.Records))
			ctx, cancel := h.reserve(ctx)
			defer cancel()
			return h.handleS3(ctx, event)
		case len(sources) == 1 && sources["aws:codecommit"]:
			h.log.InfoContext(ctx, "CodeCommit event received", "records", len(p.Records))
			ctx, cancel := h.reserve(ctx)
			defer cancel()
			return h.handleCodeCommit(ctx, event)
		}
		var names []string
		for _, r := range p.Records {
			names = append(names, fmt.Sprintf("%q", r.EventSource))
		}
		return fmt.Errorf("unrecognised event: records from event sources %s (want aws:s3 or aws:codecommit): %s", strings.Join(names, ", "), excerpt(event))
	}
	return fmt.Errorf("unrecognised event: neither S3, CodeCommit nor CodePipeline: %s", excerpt(event))
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

// excerpt is the start of an event, for error messages.
func excerpt(event []byte) string {
	const n = 200
	s := strings.Join(strings.Fields(string(event)), " ")
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// owner is the lease owner of an invocation: Lambda's request id, which a
// retried asynchronous invocation keeps, so that a retry after a crash takes
// its own lease back at once (once the crashed attempt's deadline has
// passed: a duplicate delivery running at the same time, with the same
// request id, waits like any other run).
func owner(ctx context.Context) string {
	if lc, ok := lambdacontext.FromContext(ctx); ok && lc.AwsRequestID != "" {
		return lc.AwsRequestID
	}
	return "local-" + records.NewID()
}

func requestID(ctx context.Context) string {
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		return lc.AwsRequestID
	}
	return ""
}

// work is one definition file to apply, plan or tear down.
type work struct {
	trigger records.Trigger
	// source names where the file came from, for records and logs.
	source string
	mode   records.Mode
	// file is the parsed file (apply and plan).
	file *definition.File
	// functionRef is the function to tear down (destroy).
	functionRef string
	// check runs under the function's lease before anything else; skip
	// ends the run without a record (e.g. a newer event was applied).
	check func(ctx context.Context) (skip bool, err error)
	// done runs under the lease once the run succeeded and its record is
	// written (e.g. storing the S3 sequencer), so that a concurrent
	// duplicate waiting for the lease sees it in its check.
	done func(ctx context.Context, rec records.Record) error
}

// result is the end of one run.
type result struct {
	record  records.Record
	plan    *plan.Plan
	skipped bool
	// err is an AWS failure (or a held lease): retryable.
	err error
}

// parse parses a file; a failure is written as an invalid record (under
// the function the file seems to name) and returned as the error.
func (h *Handler) parse(ctx context.Context, tr records.Trigger, source, path string, data, functionDef []byte) (*definition.File, *records.Record, error) {
	f, perr := h.cfg.Parse(path, data, functionDef)
	ref := guessFunction(data, functionDef)
	if perr == nil {
		msg := h.outOfBounds(f.Function)
		if msg == "" {
			return f, nil, nil
		}
		ref, perr = f.Function, fmt.Errorf("%s: %s", path, msg)
	}
	written, err := h.recordInvalid(ctx, tr, source, ref, errorLines(perr))
	if err != nil {
		return nil, nil, err
	}
	return nil, &written, perr
}

// outOfBounds says why the deployer may not wire function ref, or "".
func (h *Handler) outOfBounds(ref string) string {
	name := records.FunctionKey(ref)
	switch {
	case h.cfg.Self != "" && name == h.cfg.Self:
		return fmt.Sprintf("function %q is the eventwire deployer itself, which definition files may not wire", ref)
	case !strings.HasPrefix(name, h.cfg.FunctionPrefix):
		return fmt.Sprintf("function %q is outside the functions this deployer may wire (names starting with %q, %s)", ref, h.cfg.FunctionPrefix, EnvFunctionPrefix)
	}
	return ""
}

// recordInvalid logs and records a file's validation errors (final: the
// run ends there) under the function ref.
func (h *Handler) recordInvalid(ctx context.Context, tr records.Trigger, source, ref string, errs []string) (records.Record, error) {
	rec := records.Record{
		Function:    records.FunctionKey(ref),
		FunctionRef: ref,
		Start:       h.now(),
		Trigger:     tr,
		Source:      source,
		Mode:        records.ModeApply,
		Outcome:     records.Invalid,
		Errors:      errs,
		RequestID:   requestID(ctx),
	}
	h.log.ErrorContext(ctx, "invalid definition file", "function", rec.Function, "source", source, "errors", rec.Errors)
	return h.cfg.Store.PutRecord(ctx, rec)
}

// conflicts finds the files of one run that would undo each other on every
// apply, as the CLI does (definition.Conflicts: two files of one function
// and qualifier, or one target group or API route given to two functions).
// It returns the errors by the path of the later file they name.
func conflicts(files []*definition.File) map[string][]string {
	out := map[string][]string{}
	for _, e := range definition.Conflicts(files) {
		out[e.File] = append(out[e.File], e.Error())
	}
	return out
}

// errorLines splits an error into its lines (definition.Errors prints one
// error a line).
func errorLines(err error) []string {
	var out []string
	for _, l := range strings.Split(err.Error(), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// guessFunction finds the function a file that failed validation seems to
// name, so that its failure record lands in the function's history: the
// top-level FunctionName, the sibling's, or the first mapping's. "" if none.
func guessFunction(data, functionDef []byte) string {
	var top struct {
		FunctionName     any `json:"FunctionName"`
		PullEventSources struct {
			EventSourceMapping json.RawMessage `json:"EventSourceMapping"`
		} `json:"PullEventSources"`
	}
	_ = json.Unmarshal(data, &top)
	if s, ok := top.FunctionName.(string); ok && s != "" {
		return s
	}
	var def struct {
		FunctionName any `json:"FunctionName"`
	}
	if functionDef != nil && json.Unmarshal(functionDef, &def) == nil {
		if s, ok := def.FunctionName.(string); ok && s != "" {
			return s
		}
	}
	var one struct {
		FunctionName any `json:"FunctionName"`
	}
	var many []struct {
		FunctionName any `json:"FunctionName"`
	}
	if json.Unmarshal(top.PullEventSources.EventSourceMapping, &one) == nil {
		if s, ok := one.FunctionName.(string); ok {
			return s
		}
	}
	if json.Unmarshal(top.PullEventSources.EventSourceMapping, &many) == nil {
		for _, m := range many {
			if s, ok := m.FunctionName.(string); ok && s != "" {
				return s
			}
		}
	}
	return ""
}

// maxPlanBytes bounds the plan's text and JSON in a record (a DynamoDB item
// holds at most 400 KB).
const maxPlanBytes = 150 << 10

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "\n... (truncated)"
}

// run carries one piece of work out under the function's lease and writes
// its record.
func (h *Handler) run(ctx context.Context, w work) result {
	start := h.now()
	ref := w.functionRef
	if w.file != nil {
		ref = w.file.Function
	}
	fn := records.FunctionKey(ref)
	rec := records.Record{
		Function:    fn,
		FunctionRef: ref,
		Start:       start,
		Trigger:     w.trigger,
		Source:      w.source,
		Mode:        w.mode,
		RequestID:   requestID(ctx),
	}
	log := h.log.With("function", fn, "source", w.source, "mode", string(w.mode))

	fail := func(p *plan.Plan, err error) result {
		rec.Outcome = records.Failed
		rec.Errors = errorLines(err)
		rec.Duration = h.now().Sub(start)
		log.ErrorContext(ctx, "deployment failed", "error", err.Error())
		// The record must not be lost to a context that is running out.
		written, perr := h.cfg.Store.PutRecord(context.WithoutCancel(ctx), rec)
		if perr != nil {
			err = errors.Join(err, perr)
		}
		return result{record: written, plan: p, err: err}
	}

	// Give up on a held lease early enough to record the failure before
	// Lambda's deadline.
	// Without a configured length, the lease lasts as long as the
	// invocation can: a run cannot outlive Lambda's deadline, so neither
	// should its lease when the run is killed. With one, it still lasts
	// at least that long (records.LeaseOptions.HolderDeadline), so that
	// it never expires under a run that is still going.
	wait, length := h.cfg.LeaseWait, h.cfg.LeaseDuration
	var holderDeadline time.Time
	if d, ok := ctx.Deadline(); ok {
		wait = max(0, min(wait, time.Until(d)-h.cfg.DeadlineReserve))
		// ctx ends DeadlineReserve before the invocation does (reserve,
		// and a CodePipeline job's run context).
		holderDeadline = d.Add(h.cfg.DeadlineReserve + leaseMargin)
		if length <= 0 {
			length = time.Until(holderDeadline)
		}
	}
	lease, err := h.cfg.Store.AcquireLease(ctx, fn, owner(ctx), records.LeaseOptions{
		Duration:       length,
		Wait:           wait,
		Logger:         log,
		HolderDeadline: holderDeadline,
	})
	if err != nil {
		return fail(nil, err)
	}
	defer func() {
		if err := lease.Release(context.WithoutCancel(ctx)); err != nil {
			log.WarnContext(ctx, "release lease", "error", err.Error())
		}
	}()
	if w.check != nil {
		skip, err := w.check(ctx)
		if err != nil {
			return fail(nil, err)
		}
		if skip {
			return result{skipped: true}
		}
	}

	var p *plan.Plan
	if w.mode == records.ModeDestroy {
		p, err = h.cfg.Deployer.PlanDestroy(ctx, ref)
	} else {
		p, err = h.cfg.Deployer.Plan(ctx, w.file)
	}
	if err != nil {
		return fail(nil, err)
	}
	if p.Source == "" {
		p.Source = w.source
	}
	rec.Plan = truncate(p.String(), maxPlanBytes)
	if b, err := json.Marshal(p); err == nil {
		rec.PlanJSON = truncate(string(b), maxPlanBytes)
	}
	for _, a := range p.Actions {
		if a.Kind.IsChange() {
			rec.Changes++
		}
	}
	h.logPlan(ctx, log, p, w.mode)

	if w.mode == records.ModePlan {
		rec.Outcome = records.Planned
	} else {
		if err := h.cfg.Deployer.Apply(ctx, p); err != nil {
			return fail(p, err)
		}
		rec.Outcome = records.Succeeded
	}
	rec.Duration = h.now().Sub(start)
	written, err := h.cfg.Store.PutRecord(context.WithoutCancel(ctx), rec)
	if err != nil {
		return result{record: rec, plan: p, err: err}
	}
	if w.done != nil {
		if err := w.done(context.WithoutCancel(ctx), written); err != nil {
			return result{record: written, plan: p, err: err}
		}
	}
	log.InfoContext(ctx, "deployment "+string(rec.Outcome), "changes", rec.Changes, "record", written.ID, "duration_ms", rec.Duration.Milliseconds())
	return result{record: written, plan: p}
}

// logPlan writes, in plan mode, one line per planned change with stable
// keys: function, kind (the resource), action (create, update, ...), id.
// In apply mode the Deployer logs each change as it is applied (the
// reconciler's "change applied" lines, with the same keys).
func (h *Handler) logPlan(ctx context.Context, log *slog.Logger, p *plan.Plan, mode records.Mode) {
	if mode != records.ModePlan {
		return
	}
	for _, a := range p.Actions {
		if !a.Kind.IsChange() {
			continue
		}
		attrs := []any{"kind", a.Resource, "action", string(a.Kind), "id", a.ID}
		if a.Reason != "" {
			attrs = append(attrs, "reason", a.Reason)
		}
		if len(a.Changes) > 0 {
			var cs []string
			for _, c := range a.Changes {
				cs = append(cs, c.String())
			}
			attrs = append(attrs, "changes", cs)
		}
		log.InfoContext(ctx, "planned change", attrs...)
	}
}
