package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/eventwire/eventwire/internal/aws/stssvc"
	"github.com/eventwire/eventwire/internal/definition"
	"github.com/eventwire/eventwire/internal/plan"
	"github.com/eventwire/eventwire/internal/records"
)

// DefaultLeaseWait bounds how long apply and destroy wait for a function's
// lease that someone else holds, as the deployer does.
const DefaultLeaseWait = time.Minute

// errChanged refuses a function whose plan, made again under its lease,
// is not the plan that was shown and confirmed.
var errChanged = errors.New("AWS changed after the plan above was made: nothing applied to this function; run again to see the new plan")

// ledger is the CLI's share of the deployer's table: apply and destroy
// take the per-function lease the deployer takes, and write deployment
// records beside the deployer's (trigger "cli"), so that `eventwire
// history` shows both and the two never work on one function at once.
type ledger struct {
	store  *records.Store
	mode   records.Mode
	owner  string // the lease owner: who, where, and a run id
	caller string // the AWS caller's ARN, "" if unknown
	wait   time.Duration
	// source is the declaring source (--source), runID this run's id (the
	// version of its declarations); duration is the lease's length
	// (records.DefaultLeaseDuration if zero).
	source, runID string
	duration      time.Duration
}

// openLedger returns the ledger of the run's table (--table or
// $EVENTWIRE_TABLE), or nil (after saying so once on the run's stderr)
// when no table is configured.
func (run deployRun) openLedger(ctx context.Context, cfg aws.Config) *ledger {
	table := run.d.tableName()
	if table == "" {
		fmt.Fprintf(run.env.Stderr, "eventwire %s: no deployment table (--table or $%s): no lease is taken, so a deployer run on the same function may overlap this one, and no record is written\n", run.name, TableEnv)
		return nil
	}
	mode := records.ModeApply
	if run.name == "destroy" {
		mode = records.ModeDestroy
	}
	l := &ledger{store: records.New(dynamodb.NewFromConfig(cfg), table, records.Options{}), mode: mode, wait: run.d.leaseWait,
		source: run.d.source, runID: records.NewID()}
	if id, err := stssvc.NewCaller(sts.NewFromConfig(cfg)).Identity(ctx); err == nil {
		l.caller = id.ARN
	}
	host, _ := os.Hostname()
	l.owner = fmt.Sprintf("eventwire %s by %s on %s (run %s)", run.name, orUnknown(l.caller), orUnknown(host), records.NewID())
	return l
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// run applies o's plan under its function's lease: the function's
// declaration is written (declare: another source's is a conflict), the
// plan is made again (replan) under the lease, applied only if it is the
// plan that was confirmed, with the lease checked before each change
// (fenced: a run that lost its lease while paused changes nothing more),
// and recorded. A plan without changes is only declared and recorded. A
// held lease is waited for up to l.wait, then fails the function with who
// holds it.
func (l *ledger) run(ctx context.Context, o *outcome, replan planFunc, apply fencedApply) {
	start := time.Now()
	fn := records.FunctionKey(o.file.Function)
	lease, err := l.store.AcquireLease(ctx, fn, l.owner, records.LeaseOptions{Wait: l.wait, Duration: l.duration})
	if err != nil {
		o.applyErr = err
		l.record(ctx, o, start)
		return
	}
	defer func() {
		if err := lease.Release(context.WithoutCancel(ctx)); err != nil {
			o.recordErr = errors.Join(o.recordErr, err)
		}
	}()
	decl, err := l.declare(ctx, o)
	if err != nil {
		o.applyErr = err
		l.record(ctx, o, start)
		return
	}
	if o.Plan.HasChanges() {
		fresh, err := replan(ctx, o.file)
		switch {
		case err != nil:
			o.applyErr = err
		case fresh.String() != o.Plan.String():
			o.applyErr = errChanged
		default:
			o.Plan = fresh
			o.applyErr = apply(ctx, fresh, lease.Check)
			o.applied = o.applyErr == nil
		}
	}
	if err := l.settle(ctx, o, decl); err != nil {
		o.recordErr = errors.Join(o.recordErr, err)
	}
	l.record(ctx, o, start)
}

// fencedApply applies a plan, checking fence before each change
// (reconcile.Run.ApplyFenced).
type fencedApply func(ctx context.Context, p *plan.Plan, fence func(context.Context) error) error

// record writes o's deployment record.
func (l *ledger) record(ctx context.Context, o *outcome, start time.Time) {
	rec := records.Record{
		Function:    records.FunctionKey(o.file.Function),
		FunctionRef: o.file.Function,
		Start:       start,
		Duration:    time.Since(start),
		Trigger:     records.TriggerCLI,
		Source:      o.Source,
		Mode:        l.mode,
		Outcome:     records.Succeeded,
		Caller:      l.caller,
	}
	if o.Plan != nil {
		rec.SetPlan(o.Plan)
	}
	outcome, err := records.Failed, errors.Join(o.err, o.applyErr)
	if c := o.conflict(); err == nil && c != nil {
		// Not applied: nothing changed, and no retry would change that.
		outcome, err, rec.Changes = records.Conflict, c, 0
	}
	if errors.Is(err, errDeclaredElsewhere) {
		outcome, rec.Changes = records.Conflict, 0
	}
	if err != nil {
		rec.Outcome = outcome
		for _, line := range strings.Split(err.Error(), "\n") {
			if line = strings.TrimSpace(line); line != "" {
				rec.Errors = append(rec.Errors, line)
			}
		}
	}
	if _, err := l.store.PutRecord(context.WithoutCancel(ctx), rec); err != nil {
		o.recordErr = errors.Join(o.recordErr, err)
	}
}

// tableName is --table, or $EVENTWIRE_TABLE.
func (d *deployFlags) tableName() string {
	if d.table != "" {
		return d.table
	}
	return os.Getenv(TableEnv)
}

// planFunc plans one file: what apply or destroy would do for it.
type planFunc func(ctx context.Context, f *definition.File) (*plan.Plan, error)
