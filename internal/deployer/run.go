package deployer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/eventwire/eventwire/internal/definition"
	"github.com/eventwire/eventwire/internal/plan"
	"github.com/eventwire/eventwire/internal/records"
)

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

// RequestID is the invocation's Lambda request id ("" outside Lambda).
func RequestID(ctx context.Context) string {
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		return lc.AwsRequestID
	}
	return ""
}

// Work is one definition file to apply, plan or tear down.
type Work struct {
	Trigger records.Trigger
	// Source names where the file came from, for records and logs.
	Source string
	Mode   records.Mode
	// File is the parsed file (apply and plan).
	File *definition.File
	// FunctionRef is the function to tear down (destroy), and former the
	// push sources of the file last applied for it, if known.
	FunctionRef string
	Former      []definition.PushSource
}

// Result is the end of one run.
type Result struct {
	Record records.Record
	Plan   *plan.Plan
	// Err is an AWS failure (or a held lease): retryable; or, as a
	// refusedError, a final refusal (recorded, not retried).
	Err error
}

// Run carries one piece of work out under the function's lease and writes
// its record: take the lease, plan, apply (or only plan), record.
func (h *Handler) Run(ctx context.Context, w Work) Result {
	r := h.newRun(ctx, w)
	var res Result
	if err := h.WithLease(ctx, r.rec.Function, r.log, func(ctx context.Context) {
		res = h.execute(ctx, r, w)
	}); err != nil {
		return r.fail(ctx, nil, err)
	}
	return res
}

// WithLease runs body holding the lease of function (a bare name, see
// records.FunctionKey), and returns the failure to take it.
func (h *Handler) WithLease(ctx context.Context, function string, log *slog.Logger, body func(context.Context)) error {
	lease, err := h.cfg.Store.AcquireLease(ctx, function, owner(ctx), h.leaseOptions(ctx, log))
	if err != nil {
		return err
	}
	defer func() {
		if err := lease.Release(context.WithoutCancel(ctx)); err != nil {
			log.WarnContext(ctx, "release lease", "error", err.Error())
		}
	}()
	body(ctx)
	return nil
}

// execute plans w, applies it (or only plans), and writes its record; the
// caller holds the function's lease.
func (h *Handler) execute(ctx context.Context, r *runState, w Work) Result {
	p, err := h.planWork(ctx, w)
	if err != nil {
		return r.fail(ctx, nil, err)
	}
	r.setPlan(p)
	h.logPlan(ctx, r.log, p, w.Mode)

	if err := p.ConflictError(); err != nil {
		// Nothing is applied: final, and not the active declaration.
		r.rec.Changes = 0
		return r.refuse(ctx, p, records.Conflict, err, "")
	}
	if w.Mode == records.ModePlan {
		r.rec.Outcome = records.Planned
	} else {
		if err := h.cfg.Deployer.Apply(ctx, p); err != nil {
			if hint := h.refusal(ctx, err); hint != "" {
				return r.refuse(ctx, p, records.Refused, err, hint)
			}
			return r.fail(ctx, p, err)
		}
		r.rec.Outcome = records.Succeeded
	}
	return r.succeed(ctx, p)
}

// runState is one run's record in the making, with its logger.
type runState struct {
	h   *Handler
	rec records.Record
	log *slog.Logger
}

// newRun starts the record of a run of w.
func (h *Handler) newRun(ctx context.Context, w Work) *runState {
	rec := h.Record(ctx, w)
	return &runState{h: h, rec: rec, log: h.log.With("function", rec.Function, "source", w.Source, "mode", string(w.Mode))}
}

// Record is the record of a run of w, started now: its function, source,
// trigger, mode and request id.
func (h *Handler) Record(ctx context.Context, w Work) records.Record {
	ref := w.FunctionRef
	if w.File != nil {
		ref = w.File.Function
	}
	return records.Record{
		Function:    records.FunctionKey(ref),
		FunctionRef: ref,
		Start:       h.now(),
		Trigger:     w.Trigger,
		Source:      w.Source,
		Mode:        w.Mode,
		RequestID:   RequestID(ctx),
	}
}

// leaseOptions bound the wait for a function's lease and set its length.
//
// The wait gives up on a held lease early enough to record the failure
// before Lambda's deadline. Without a configured length, the lease lasts
// as long as the invocation can: a run cannot outlive Lambda's deadline,
// so neither should its lease when the run is killed. With one, it still
// lasts at least that long (records.LeaseOptions.HolderDeadline), so that
// it never expires under a run that is still going.
func (h *Handler) leaseOptions(ctx context.Context, log *slog.Logger) records.LeaseOptions {
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
	return records.LeaseOptions{
		Duration:       length,
		Wait:           wait,
		Logger:         log,
		HolderDeadline: holderDeadline,
	}
}

// planWork plans w: the file's plan, or the teardown of its function.
func (h *Handler) planWork(ctx context.Context, w Work) (*plan.Plan, error) {
	var p *plan.Plan
	var err error
	if w.Mode == records.ModeDestroy {
		p, err = h.cfg.Deployer.PlanDestroy(ctx, w.FunctionRef, w.Former)
	} else {
		p, err = h.cfg.Deployer.Plan(ctx, w.File)
	}
	if err != nil {
		return nil, err
	}
	if p.Source == "" {
		p.Source = w.Source
	}
	return p, nil
}

// setPlan puts the plan, its JSON and its number of changes in the record.
func (r *runState) setPlan(p *plan.Plan) { r.rec.SetPlan(p) }

// fail records the run as failed with err (and the plan, if there was
// one) and returns err, joined with a failure to write the record.
func (r *runState) fail(ctx context.Context, p *plan.Plan, err error) Result {
	r.rec.Outcome = records.Failed
	r.rec.Errors = ErrorLines(err)
	r.rec.Duration = r.h.now().Sub(r.rec.Start)
	r.log.ErrorContext(ctx, "deployment failed", "error", err.Error())
	// The record must not be lost to a context that is running out.
	written, perr := r.h.cfg.Store.PutRecord(context.WithoutCancel(ctx), r.rec)
	if perr != nil {
		err = errors.Join(err, perr)
	}
	return Result{Record: written, Plan: p, Err: err}
}

// refuse records the run with outcome (refused, or conflict: final) with
// err and, if any, hint, and returns err as a refusedError.
func (r *runState) refuse(ctx context.Context, p *plan.Plan, outcome records.Outcome, err error, hint string) Result {
	r.rec.Outcome = outcome
	r.rec.Errors = ErrorLines(err)
	if hint != "" {
		r.rec.Errors = append(r.rec.Errors, hint)
		err = fmt.Errorf("%w\n%s", err, hint)
	}
	r.rec.Duration = r.h.now().Sub(r.rec.Start)
	r.log.ErrorContext(ctx, "deployment "+string(outcome), "error", err.Error())
	written, perr := r.h.cfg.Store.PutRecord(context.WithoutCancel(ctx), r.rec)
	if perr != nil {
		// The refusal is not recorded: retried, to record it.
		return Result{Record: r.rec, Plan: p, Err: errors.Join(err, perr)}
	}
	return Result{Record: written, Plan: p, Err: refusedError{err: err}}
}

// succeed writes the record of a run that planned or applied.
func (r *runState) succeed(ctx context.Context, p *plan.Plan) Result {
	r.rec.Duration = r.h.now().Sub(r.rec.Start)
	written, err := r.h.cfg.Store.PutRecord(context.WithoutCancel(ctx), r.rec)
	if err != nil {
		return Result{Record: r.rec, Plan: p, Err: err}
	}
	r.log.InfoContext(ctx, "deployment "+string(r.rec.Outcome), "changes", r.rec.Changes, "record", written.ID, "duration_ms", r.rec.Duration.Milliseconds())
	return Result{Record: written, Plan: p}
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
