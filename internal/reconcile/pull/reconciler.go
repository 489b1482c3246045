package pull

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/eventwire/eventwire/internal/aws/lambdasvc"
	"github.com/eventwire/eventwire/internal/aws/retry"
	"github.com/eventwire/eventwire/internal/definition"
	"github.com/eventwire/eventwire/internal/plan"
	"github.com/eventwire/eventwire/internal/progress"
	"github.com/eventwire/eventwire/internal/wiring"
)

// Options tunes a Reconciler. The zero value is usable.
type Options struct {
	// WaitTimeout bounds each wait for a mapping to leave a transitional
	// state (Creating, Enabling, Disabling, Updating, Deleting) or to be
	// gone after a delete. Default 5 minutes.
	WaitTimeout time.Duration
	// PollInterval is the time between two reads while waiting. Default 2s.
	PollInterval time.Duration
	// RetryMax is how many times a call answered ResourceInUse,
	// ResourceConflict or TooManyRequests, or refused because the
	// function's execution role is not ready yet (a new role or policy
	// propagating through IAM), is retried. Default 6.
	RetryMax int
	// RetryBackoff is the first backoff; it doubles each retry, with full
	// jitter, up to 32 times itself. Default 500ms.
	RetryBackoff time.Duration
	Logger       *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.WaitTimeout <= 0 {
		o.WaitTimeout = 5 * time.Minute
	}
	if o.PollInterval <= 0 {
		o.PollInterval = 2 * time.Second
	}
	if o.RetryMax <= 0 {
		o.RetryMax = 6
	}
	if o.RetryBackoff <= 0 {
		o.RetryBackoff = 500 * time.Millisecond
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// store is what the Reconciler needs of *lambdasvc.Mappings.
type store interface {
	List(ctx context.Context, function string, mine func(wiring.Mapping) bool) ([]wiring.Mapping, error)
	Get(ctx context.Context, uuid string) (wiring.Mapping, error)
	Create(ctx context.Context, m definition.Mapping) (wiring.Mapping, error)
	Update(ctx context.Context, uuid string, fields definition.Mapping) (wiring.Mapping, error)
	Delete(ctx context.Context, uuid string) error
	Tag(ctx context.Context, arn string, tags map[string]string) error
	Untag(ctx context.Context, arn string, keys []string) error
}

// Reconciler observes, plans and applies a function's event source
// mappings.
type Reconciler struct {
	m    store
	opts Options
	log  *slog.Logger
	// now and sleep are the clock; tests replace them.
	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) error
}

// New returns a Reconciler that works through m.
func New(m *lambdasvc.Mappings, opts Options) *Reconciler { return newReconciler(m, opts) }

func newReconciler(m store, opts Options) *Reconciler {
	opts = opts.withDefaults()
	return &Reconciler{m: m, opts: opts, log: opts.Logger, now: time.Now, sleep: retry.Sleep}
}

// Plan observes the function's mappings and returns the actions that make
// them match desired. desired == nil plans the teardown: managed mappings
// are deleted, the others left alone.
func (r *Reconciler) Plan(ctx context.Context, fn plan.Function, desired []definition.Mapping) ([]plan.Action, error) {
	observed, err := r.observe(ctx, fn)
	if err != nil {
		return nil, err
	}
	return Plan(fn, desired, observed), nil
}

// observe lists the mappings of the function, by its (qualified) ARN as
// ListEventSourceMappings documents, the same string the mappings are
// created with (moto matches the filter against that literal string). Plan
// filters them on FunctionArn.
//
// For a function that is gone, every mapping of the account and region is
// listed, and Plan keeps the function's own: AWS answers a filter naming a
// function that does not exist with an empty list or with the mappings,
// never an error (LocalStack's AWS-validated tests), so the filter cannot
// be trusted to find what a deleted function left.
//
// Tags are read only for the mappings whose FunctionArn is fn's: the
// others are not fn's, and Plan filters them out.
func (r *Reconciler) observe(ctx context.Context, fn plan.Function) ([]wiring.Mapping, error) {
	target := fn.QualifiedARN()
	if target == "" {
		target = fn.Ref
	}
	if fn.Missing {
		r.log.InfoContext(ctx, "function gone: listing every event source mapping", "function", fn.Name, "ref", fn.Ref)
		return r.list(ctx, fn, "")
	}
	return r.list(ctx, fn, target)
}

func (r *Reconciler) list(ctx context.Context, fn plan.Function, function string) ([]wiring.Mapping, error) {
	var out []wiring.Mapping
	err := r.retry(ctx, "list", func() error {
		var err error
		out, err = r.m.List(ctx, function, func(o wiring.Mapping) bool { return fn.Is(o.FunctionArn) })
		return err
	})
	return out, err
}

// ExecuteOptions tell Execute where to report and where to leave its
// waits. The zero value reports nothing and waits for each mapping in
// place.
type ExecuteOptions struct {
	// Progress receives the waits on AWS: each read that finds a mapping
	// in a transitional state, or not yet gone after a delete.
	Progress progress.Func
	// Waits, if not nil, takes the waits for the mappings Execute creates
	// or updates to leave Creating or Updating: Execute returns once its
	// calls are made, and Waits.Wait waits.
	Waits *Waits
}

// Execute carries out one action of a plan that Plan made.
func (r *Reconciler) Execute(ctx context.Context, fn plan.Function, a plan.Action, opts ExecuteOptions) error {
	x := &execution{Reconciler: r, ExecuteOptions: opts}
	return x.execute(ctx, fn, a, true)
}

// execution is one Execute: the Reconciler, with its options.
type execution struct {
	*Reconciler
	ExecuteOptions
}

// execute carries out a; adopt tells whether a create refused as a
// conflict re-observes and adopts (false inside that adoption, so that it
// cannot loop).
func (x *execution) execute(ctx context.Context, fn plan.Function, a plan.Action, adopt bool) error {
	if !a.Kind.IsChange() {
		return nil
	}
	op, ok := a.Op.(*Op)
	if !ok || op == nil {
		return fmt.Errorf("%s %s %s: no operation in the action", a.Kind, a.Resource, a.ID)
	}
	log := x.log.With("function", fn.Ref, "kind", a.Resource, "action", string(a.Kind), "id", a.ID)
	switch {
	case a.Kind == plan.Create:
		return x.create(ctx, fn, op, adopt, log)
	case a.Kind == plan.Delete:
		return x.delete(ctx, op.UUID, log)
	case a.Kind == plan.Replace:
		if err := x.delete(ctx, op.UUID, log); err != nil {
			return err
		}
		return x.create(ctx, fn, op, adopt, log)
	case a.Kind == plan.Update && a.Resource == plan.ResourceMappingTags:
		return x.tags(ctx, op, log)
	case a.Kind == plan.Update, a.Kind == plan.Adopt:
		if op.Update != nil {
			if err := x.update(ctx, op, log); err != nil {
				return err
			}
		}
		return x.tags(ctx, op, log)
	}
	return fmt.Errorf("%s %s %s: unknown action", a.Kind, a.Resource, a.ID)
}

func (x *execution) create(ctx context.Context, fn plan.Function, op *Op, adopt bool, log *slog.Logger) error {
	backoff := x.policy().Start()
	for attempt := 0; ; attempt++ {
		var created wiring.Mapping
		err := x.retryIf(ctx, "create", func() error {
			var err error
			created, err = x.m.Create(ctx, *op.Create)
			return err
		}, func(err error) bool {
			// A conflict on create means the mapping exists: adopt it
			// below rather than send the same create again.
			return retryable(err) && !errors.Is(err, lambdasvc.ErrConflict)
		})
		if err == nil {
			log.DebugContext(ctx, "event source mapping created", "uuid", created.UUID)
			return x.settle(ctx, created, op.Enabled, log)
		}
		if !adopt || !errors.Is(err, lambdasvc.ErrConflict) {
			return err
		}
		log.InfoContext(ctx, "event source mapping exists already, adopting it", "error", err)
		adopted, aerr := x.adoptExisting(ctx, fn, *op.Create)
		if aerr != nil {
			return aerr
		}
		if adopted {
			return nil
		}
		// The conflicting mapping cannot be seen: one still being
		// deleted, or a list that lags. Try the create again, bounded.
		if attempt >= x.opts.RetryMax {
			return err
		}
		if err := backoff.Wait(ctx, "create", err); err != nil {
			return err
		}
	}
}

// adoptExisting re-observes after a create that AWS refused as a conflict,
// and carries out what a new plan of that one mapping says (adopt, update,
// tags). adopted is false when the plan still says create: the mapping
// that conflicts cannot be seen.
func (x *execution) adoptExisting(ctx context.Context, fn plan.Function, req definition.Mapping) (adopted bool, err error) {
	observed, err := x.observe(ctx, fn)
	if err != nil {
		return false, err
	}
	desired := req
	desired.Tags = nil
	for k, v := range req.Tags {
		if k != wiring.TagKey {
			if desired.Tags == nil {
				desired.Tags = map[string]string{}
			}
			desired.Tags[k] = v
		}
	}
	for _, a := range Plan(fn, []definition.Mapping{desired}, observed) {
		switch a.Kind {
		case plan.Create:
			return false, nil
		case plan.Delete, plan.LeaveAlone:
			continue
		}
		if err := x.execute(ctx, fn, a, false); err != nil {
			return false, err
		}
	}
	return true, nil
}

func (x *execution) update(ctx context.Context, op *Op, log *slog.Logger) error {
	if _, err := x.waitStable(ctx, op.UUID); err != nil {
		return err
	}
	var updated wiring.Mapping
	err := x.retry(ctx, "update", func() error {
		var err error
		updated, err = x.m.Update(ctx, op.UUID, *op.Update)
		return err
	})
	if err != nil {
		return err
	}
	log.DebugContext(ctx, "event source mapping updated", "uuid", op.UUID)
	if updated.UUID == "" {
		updated.UUID = op.UUID
	}
	return x.settle(ctx, updated, op.Enabled, log)
}

func (r *Reconciler) tags(ctx context.Context, op *Op, log *slog.Logger) error {
	if len(op.Tag) > 0 {
		if err := r.retry(ctx, "tag", func() error { return r.m.Tag(ctx, op.MappingARN, op.Tag) }); err != nil {
			return err
		}
	}
	if len(op.Untag) > 0 {
		if err := r.retry(ctx, "untag", func() error { return r.m.Untag(ctx, op.MappingARN, op.Untag) }); err != nil {
			return err
		}
	}
	if len(op.Tag)+len(op.Untag) > 0 {
		log.DebugContext(ctx, "event source mapping tagged", "uuid", op.UUID)
	}
	return nil
}

// delete deletes a mapping once it is stable, and waits until it is gone.
func (x *execution) delete(ctx context.Context, uuid string, log *slog.Logger) error {
	if _, err := x.waitStable(ctx, uuid); err != nil {
		if errors.Is(err, lambdasvc.ErrNotFound) {
			return nil
		}
		return err
	}
	if err := x.retry(ctx, "delete", func() error { return x.m.Delete(ctx, uuid) }); err != nil {
		return err
	}
	if err := x.waitGone(ctx, uuid); err != nil {
		return err
	}
	log.DebugContext(ctx, "event source mapping deleted", "uuid", uuid)
	return nil
}

// settle checks that a mapping that was just created or updated ends
// where the file wants it. got is the create's or update's answer: a
// mapping still in a transitional state (AWS answers Creating or Updating)
// is waited for, and only then is it read again; with Waits in the
// options the wait is left to Waits.Wait, off the caller's path.
func (x *execution) settle(ctx context.Context, got wiring.Mapping, enabled bool, log *slog.Logger) error {
	if got.State != "" && !wiring.Transitional(got.State) {
		return settled(ctx, got, enabled, log.With("uuid", got.UUID))
	}
	wait := func(ctx context.Context) error {
		o, err := x.waitStable(ctx, got.UUID)
		if err != nil {
			return err
		}
		return settled(ctx, o, enabled, log)
	}
	if x.Waits != nil {
		x.Waits.add(wait)
		return nil
	}
	return wait(ctx)
}

// settled checks that o, a mapping in a stable state, is in the state the
// file wants.
func settled(ctx context.Context, o wiring.Mapping, enabled bool, log *slog.Logger) error {
	want := wiring.StateEnabled
	if !enabled {
		want = wiring.StateDisabled
	}
	if o.State != want {
		return fmt.Errorf("event source mapping %s is %s, not %s: %s", o.UUID, o.State, want, reasonOf(o))
	}
	log.DebugContext(ctx, "event source mapping settled", "uuid", o.UUID, "state", o.State)
	return nil
}

func reasonOf(o wiring.Mapping) string {
	s := o.StateTransitionReason
	if s == "" {
		s = "no reason given"
	}
	if o.LastProcessingResult != "" {
		s += " (last processing result: " + o.LastProcessingResult + ")"
	}
	return s
}

// waitStable reads the mapping until its state is not transitional, for at
// most WaitTimeout. A mapping that is gone is an error wrapping
// lambdasvc.ErrNotFound.
func (x *execution) waitStable(ctx context.Context, uuid string) (wiring.Mapping, error) {
	var last wiring.Mapping
	deadline := x.now().Add(x.opts.WaitTimeout)
	for {
		var o wiring.Mapping
		err := x.retry(ctx, "get", func() error {
			var err error
			o, err = x.m.Get(ctx, uuid)
			return err
		})
		if err != nil {
			return o, err
		}
		last = o
		if !wiring.Transitional(o.State) {
			return o, nil
		}
		x.Progress.Wait("mapping "+uuid, string(o.State))
		if !x.now().Before(deadline) {
			return last, fmt.Errorf("event source mapping %s still %s after %s: %s",
				uuid, last.State, x.opts.WaitTimeout, reasonOf(last))
		}
		if err := x.sleep(ctx, x.opts.PollInterval); err != nil {
			return last, fmt.Errorf("wait for event source mapping %s: %w", uuid, err)
		}
	}
}

// waitGone reads the mapping until AWS no longer has it, for at most
// WaitTimeout.
func (x *execution) waitGone(ctx context.Context, uuid string) error {
	deadline := x.now().Add(x.opts.WaitTimeout)
	for {
		var o wiring.Mapping
		err := x.retry(ctx, "get", func() error {
			var err error
			o, err = x.m.Get(ctx, uuid)
			return err
		})
		if errors.Is(err, lambdasvc.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		x.Progress.Wait("deletion of mapping "+uuid, string(o.State))
		if !x.now().Before(deadline) {
			return fmt.Errorf("event source mapping %s not deleted after %s: still %s: %s",
				uuid, x.opts.WaitTimeout, o.State, reasonOf(o))
		}
		if err := x.sleep(ctx, x.opts.PollInterval); err != nil {
			return fmt.Errorf("wait for deletion of event source mapping %s: %w", uuid, err)
		}
	}
}

func retryable(err error) bool {
	return errors.Is(err, lambdasvc.ErrInUse) || errors.Is(err, lambdasvc.ErrConflict) ||
		errors.Is(err, lambdasvc.ErrThrottled) || errors.Is(err, lambdasvc.ErrRoleNotReady)
}

func (r *Reconciler) retry(ctx context.Context, what string, call func() error) error {
	return r.retryIf(ctx, what, call, retryable)
}

// retryIf calls call until it succeeds, fails with an error that again
// does not accept, or RetryMax retries are spent.
func (r *Reconciler) retryIf(ctx context.Context, what string, call func() error, again func(error) bool) error {
	return r.policy().Do(ctx, what, call, again)
}

// policy is the reconciler's retry policy, on its clock.
func (r *Reconciler) policy() retry.Policy {
	return retry.Policy{Max: r.opts.RetryMax, Backoff: r.opts.RetryBackoff, Sleep: r.sleep, Log: r.log}
}
