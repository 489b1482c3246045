package sweep

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/eventwire/eventwire/internal/contract"
	"github.com/eventwire/eventwire/internal/definition"
	"github.com/eventwire/eventwire/internal/deployer"
	"github.com/eventwire/eventwire/internal/plan"
	"github.com/eventwire/eventwire/internal/records"
)

// checked is the end of one drift check.
type checked struct {
	outcome records.Outcome
	// changes are the plan's changes: what differs (declared), or the
	// resources eventwire owns that are left (orphan).
	changes int
	kind    string
}

// HandleBatch checks the function of each message of an SQS batch
// from the sweep queue, one after the other (or, for a deferred teardown,
// converges it: deferred.go), and answers the messages whose check failed
// (ReportBatchItemFailures), so that only those are received again. A batch with any record from another queue is refused
// whole. It writes one metrics line for the batch.
func (s *Sweep) HandleBatch(ctx context.Context, raw json.RawMessage) (*events.SQSEventResponse, error) {
	var ev events.SQSEvent
	if err := json.Unmarshal(raw, &ev); err != nil {
		return nil, fmt.Errorf("decode SQS event: %w", err)
	}
	for _, r := range ev.Records {
		if s.cfg.QueueARN == "" || r.EventSourceARN != s.cfg.QueueARN {
			return nil, fmt.Errorf("refused SQS batch: message %s comes from %q, not the sweep queue (%s=%q)",
				r.MessageId, r.EventSourceARN, contract.EnvSweepQueueARN, s.cfg.QueueARN)
		}
	}
	resp := &events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{}}
	var checks, done, drifted, orphaned int
	var started time.Time
	for _, r := range ev.Records {
		var m contract.SweepMessage
		if err := json.Unmarshal([]byte(r.Body), &m); err != nil || m.Function == "" {
			// Received again, it would not decode either.
			s.log.ErrorContext(ctx, "ignored sweep message that cannot be decoded", "id", r.MessageId, "excerpt", deployer.Excerpt([]byte(r.Body)))
			continue
		}
		if why := s.outOfBounds(m); why != "" {
			// Received again, it would be out of bounds again.
			s.log.ErrorContext(ctx, OutOfBoundsLogMessage, "id", r.MessageId, "function", m.Function, "kind", m.Kind, "why", why)
			continue
		}
		if m.Kind == contract.SweepKindTeardown {
			if err := s.deferredTeardown(ctx, m); err != nil {
				resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: r.MessageId})
			}
			continue
		}
		checks++
		c, err := s.check(ctx, m)
		if err != nil {
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: r.MessageId})
			continue
		}
		done++
		switch {
		case c.kind == records.KindOrphan:
			orphaned += c.changes
		case c.changes > 0:
			drifted++
		}
		if started.IsZero() || m.Started.Before(started) {
			started = m.Started
		}
	}
	if checks == 0 {
		return resp, nil // deferred teardowns only: no sweep's metrics
	}
	now := s.h.Now()
	ms := []metric{
		{contract.MetricFunctionsChecked, "Count", float64(done)},
		{contract.MetricDriftedFunctions, "Count", float64(drifted)},
		{contract.MetricOrphanedResources, "Count", float64(orphaned)},
	}
	if !started.IsZero() {
		ms = append(ms, metric{contract.MetricSweepDurationSeconds, "Seconds", now.Sub(started).Seconds()})
	}
	s.emitMetrics(ctx, now, ms...)
	return resp, nil
}

// OutOfBoundsLogMessage is logged for a sweep message the deployer may
// not act on (keys id, function, kind, why): a function outside its
// bounds, or a kind it does not know. The message is dropped.
const OutOfBoundsLogMessage = "ignored sweep message: out of bounds"

// outOfBounds says why the deployer may not act on m, or "": a sweep
// message is held to the bounds a definition file is (the function
// prefix, never the deployer itself), whoever sent it.
func (s *Sweep) outOfBounds(m contract.SweepMessage) string {
	switch m.Kind {
	case records.KindDeclared, records.KindOrphan, contract.SweepKindTeardown:
	default:
		return fmt.Sprintf("unknown kind %q", m.Kind)
	}
	return s.h.OutOfBounds(records.TriggerSweep, "", m.Function)
}

// check checks one function under its lease and records the result.
func (s *Sweep) check(ctx context.Context, m contract.SweepMessage) (checked, error) {
	fn := records.DeclKey(m.Function)
	log := s.log.With("function", records.FunctionKey(fn), "ref", fn, "sweep", m.Sweep)
	var c checked
	var err error
	lerr := s.h.WithLease(ctx, records.FunctionKey(fn), log, func(ctx context.Context) {
		c, err = s.checkHeld(ctx, m, fn, log)
	})
	if lerr != nil {
		c := &checkRun{s: s, m: m, fn: fn, kind: m.Kind, mode: records.ModeCheck, start: s.h.Now(), log: log}
		return checked{}, c.fail(ctx, nil, lerr)
	}
	return c, err
}

// checkHeld is check once the lease is held: a function a live file
// declares is checked against that file, any other as an orphan. A
// declaring file removed without an event is indexed as removed first
// (liveness.go).
func (s *Sweep) checkHeld(ctx context.Context, m contract.SweepMessage, fn string, log *slog.Logger) (checked, error) {
	decls, active, removed, err := s.liveDeclarations(ctx, fn, m.Sweep, log)
	var may bool
	if err == nil && len(decls) == 0 {
		// An orphan by a removal this sweep found is not pruned yet
		// (see liveness.go).
		may, err = s.mayPrune(ctx, m, fn, removed)
	}
	if err != nil {
		c := &checkRun{s: s, m: m, fn: fn, kind: m.Kind, mode: records.ModeCheck, start: s.h.Now(), log: log}
		return checked{}, c.fail(ctx, nil, err)
	}
	if len(decls) > 0 {
		return s.checkDeclared(ctx, m, deployer.Winner(active, decls), active, log)
	}
	return s.checkOrphan(ctx, m, active, may, log)
}

// OrphanKeptLogMessage is logged (with heal on) when a check leaves an
// orphan for the next sweep because it found the removal of its last
// declaring file itself: a move's other event may still be on its way.
const OrphanKeptLogMessage = "orphan not pruned yet: its file's removal was found by this sweep, not delivered; the next sweep prunes it if it is still orphaned"

// sweepDeployer is the Deployer of the checks.
func (s *Sweep) sweepDeployer() deployer.Deployer {
	if s.cfg.Deployer != nil {
		return s.cfg.Deployer
	}
	return s.h.Deployer()
}

// checkDeclared plans the function from its winning declaration's file,
// read again at its version: a plan with changes is drift. With heal, the
// plan is applied (and the declaration becomes the active one).
func (s *Sweep) checkDeclared(ctx context.Context, m contract.SweepMessage, win records.Declaration, active *records.Declaration, log *slog.Logger) (checked, error) {
	c := &checkRun{s: s, m: m, fn: win.Function, kind: records.KindDeclared, mode: records.ModeCheck,
		source: win.Source.String(), start: s.h.Now(), log: log}
	f, invalid, err := s.h.ReadDeclared(ctx, win)
	if err != nil {
		return checked{}, c.fail(ctx, nil, err)
	}
	if invalid != nil {
		// Only if the deployer's settings changed since: final.
		return c.finish(ctx, records.Invalid, nil, invalid)
	}
	d := s.sweepDeployer()
	p, err := d.Plan(ctx, f)
	if err != nil {
		return checked{}, c.fail(ctx, nil, err)
	}
	if changes(p) == 0 {
		return c.finish(ctx, records.InSync, p, nil)
	}
	if !s.cfg.Heal {
		return c.finish(ctx, records.Drifted, p, nil)
	}
	c.mode = records.ModeApply
	if err := d.Apply(ctx, p); err != nil {
		return checked{}, c.fail(ctx, p, err)
	}
	if active == nil || deployer.FileKey(active.Source) != deployer.FileKey(win.Source) {
		if err := s.h.Store().SetActive(context.WithoutCancel(ctx), deployer.Applied(win, f)); err != nil {
			return checked{}, c.fail(ctx, p, err)
		}
	}
	return c.finish(ctx, records.Healed, p, nil)
}

// checkOrphan plans the teardown of what eventwire owns of a function that
// no live file declares, with the push sources of the file last applied
// for it (stored with its active declaration, else read again at its
// version: deployer.Handler.Former). Nothing left: the function is
// forgotten. Else it is an orphan; with heal and mayPrune, pruned.
func (s *Sweep) checkOrphan(ctx context.Context, m contract.SweepMessage, active *records.Declaration, mayPrune bool, log *slog.Logger) (checked, error) {
	fn := records.DeclKey(m.Function)
	c := &checkRun{s: s, m: m, fn: fn, kind: records.KindOrphan, mode: records.ModeCheck, start: s.h.Now(), log: log}
	last := active
	if last == nil {
		k, err := s.h.Store().KnownFunction(ctx, fn)
		if err != nil {
			return checked{}, c.fail(ctx, nil, err)
		}
		if k != nil && k.LastApplied != nil {
			last = &records.Declaration{Function: fn, Source: *k.LastApplied}
		}
	}
	ref, former := fn, []definition.PushSource(nil)
	if last != nil {
		c.source = last.Source.String()
		r, f, err := s.h.Former(ctx, *last)
		if err != nil {
			log.WarnContext(ctx, "the file last applied cannot be read again: checking without its push sources",
				"declared_by", c.source, "error", err.Error())
		} else {
			ref, former = r, f
		}
	}
	d := s.sweepDeployer()
	p, err := d.PlanDestroy(ctx, ref, former)
	if err != nil {
		return checked{}, c.fail(ctx, nil, err)
	}
	if changes(p) == 0 {
		return s.forget(ctx, c, active != nil)
	}
	outcome := records.Orphaned
	switch {
	case s.cfg.Heal && !mayPrune:
		log.WarnContext(ctx, OrphanKeptLogMessage, "declared_by", c.source)
	case s.cfg.Heal:
		c.mode, outcome = records.ModeDestroy, records.Pruned
		if err := d.Apply(ctx, p); err != nil {
			return checked{}, c.fail(ctx, p, err)
		}
		if _, err := s.forgetIndex(ctx, fn, active != nil); err != nil {
			return checked{}, c.fail(ctx, p, err)
		}
	}
	return c.finish(ctx, outcome, p, nil)
}

// forget drops a function of which nothing is left in AWS and that no
// live file declares: from the known functions and the latest results.
func (s *Sweep) forget(ctx context.Context, c *checkRun, hasActive bool) (checked, error) {
	forgot, err := s.forgetIndex(ctx, c.fn, hasActive)
	if err == nil && forgot {
		err = s.h.Store().DeleteDriftResult(context.WithoutCancel(ctx), c.fn)
	}
	if err != nil {
		return checked{}, c.fail(ctx, nil, err)
	}
	c.log.InfoContext(ctx, contract.DriftCheckedLogMessage, "kind", c.kind, "outcome", "forgotten", "changes", 0,
		"duration_ms", s.h.Now().Sub(c.start).Milliseconds())
	return checked{kind: c.kind}, nil
}

// forgetIndex forgets fn's active declaration (if any) and known item.
func (s *Sweep) forgetIndex(ctx context.Context, fn string, hasActive bool) (bool, error) {
	ctx = context.WithoutCancel(ctx)
	if hasActive {
		if err := s.h.Store().DeleteActive(ctx, fn); err != nil {
			return false, err
		}
	}
	return s.h.Store().ForgetFunction(ctx, fn)
}

// changes counts the plan's actions that write to AWS.
func changes(p *plan.Plan) int {
	n := 0
	for _, a := range p.Actions {
		if a.Kind.IsChange() {
			n++
		}
	}
	return n
}

// checkRun is one drift check's record in the making.
type checkRun struct {
	s      *Sweep
	m      contract.SweepMessage
	fn     string
	kind   string
	mode   records.Mode
	source string
	start  time.Time
	log    *slog.Logger
}

// fail records the check as failed (it is retried) and returns err.
func (c *checkRun) fail(ctx context.Context, p *plan.Plan, err error) error {
	_, rerr := c.finish(ctx, records.Failed, p, deployer.ErrorLines(err))
	if rerr != nil {
		return fmt.Errorf("%w (and %w)", err, rerr)
	}
	return err
}

// finish writes the check's record (in the function's history) and its
// latest result, and logs it.
func (c *checkRun) finish(ctx context.Context, outcome records.Outcome, p *plan.Plan, errs []string) (checked, error) {
	s := c.s
	rec := s.h.Record(ctx, deployer.Work{Trigger: records.TriggerSweep, Source: c.source, Mode: c.mode, FunctionRef: c.fn})
	rec.Start, rec.Outcome, rec.Errors, rec.SweepID = c.start, outcome, errs, c.m.Sweep
	if p != nil {
		rec.SetPlan(p)
	}
	rec.Duration = s.h.Now().Sub(c.start)
	ctx2 := context.WithoutCancel(ctx)
	written, err := s.h.Store().PutRecord(ctx2, rec)
	if err == nil {
		err = s.h.Store().PutDriftResult(ctx2, records.DriftResult{
			Function: c.fn, SweepID: c.m.Sweep, SweepStarted: c.m.Started, CheckedAt: c.start, Kind: c.kind,
			Outcome: outcome, Source: c.source, Plan: rec.Plan, PlanJSON: rec.PlanJSON, Changes: rec.Changes,
			Errors: rec.Errors, RecordID: written.ID,
		})
	}
	attrs := []any{"kind", c.kind, "outcome", string(outcome), "changes", rec.Changes, "record", written.ID,
		"duration_ms", rec.Duration.Milliseconds()}
	switch outcome {
	case records.InSync, records.Healed, records.Pruned:
		c.log.InfoContext(ctx, contract.DriftCheckedLogMessage, attrs...)
	case records.Drifted, records.Orphaned:
		c.log.WarnContext(ctx, contract.DriftCheckedLogMessage, attrs...)
	default:
		c.log.ErrorContext(ctx, contract.DriftCheckedLogMessage, append(attrs, "error", strings.Join(errs, "; "))...)
	}
	return checked{outcome: outcome, changes: rec.Changes, kind: c.kind}, err
}
