package push

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/eventwire/eventwire/internal/aws/apigwsvc"
	"github.com/eventwire/eventwire/internal/aws/elbsvc"
	"github.com/eventwire/eventwire/internal/aws/lambdasvc"
	"github.com/eventwire/eventwire/internal/aws/retry"
	"github.com/eventwire/eventwire/internal/aws/runcache"
	"github.com/eventwire/eventwire/internal/definition"
	"github.com/eventwire/eventwire/internal/plan"
)

// Options tunes a Reconciler. The zero value is usable.
type Options struct {
	Logger *slog.Logger
	// RetryMax is how many times a change of a function's policy answered
	// ResourceConflictException (another change in progress) or
	// ResourceInUseException, or a target registration refused as invalid
	// (a new permission not yet seen by Elastic Load Balancing), is
	// retried. Default 6.
	RetryMax int
	// RetryBackoff is the first backoff; it doubles each retry, with full
	// jitter, up to 32 times itself. Default 500ms.
	RetryBackoff time.Duration
	// AllowTakeover lets files take over target groups and routes held by
	// something eventwire does not own for the function reference (see
	// Rules). Off, such a source is planned as a conflict.
	AllowTakeover bool
	// APIChangeSpacing is the least time between the answer to a change of
	// an HTTP API and the next change to it: API Gateway refuses a change
	// made while another is in flight or just answered (409
	// ConflictException, "concurrent modification"). Default 50ms; such a
	// refusal is retried all the same, with backoff from APIChangeSpacing.
	APIChangeSpacing time.Duration
}

// Reconciler observes, plans and applies the push sources of functions.
// One Reconciler may work on several files at once: changes to one
// function's policies are made one at a time, by it and by the
// Reconcilers WithCache made from it.
type Reconciler struct {
	perms *lambdasvc.Permissions
	elb   *elbsvc.Client
	apigw *apigwsvc.Client
	log   *slog.Logger
	opts  Options
	sleep func(ctx context.Context, d time.Duration) error
	locks *serial
}

// serial holds one slot per function policy and per HTTP API: the changes
// to each are made one at a time, by a Reconciler and the copies WithCache
// makes of it.
type serial struct {
	mu    sync.Mutex
	slots map[string]*slot
}

// slot is held while one change is made; last is when the last change
// held in it was answered.
type slot struct {
	sync.Mutex
	last time.Time
}

// slot returns the slot of key, made on first use.
func (s *serial) slot(key string) *slot {
	s.mu.Lock()
	defer s.mu.Unlock()
	sl := s.slots[key]
	if sl == nil {
		sl = &slot{}
		s.slots[key] = sl
	}
	return sl
}

// New returns a Reconciler on the three adapters.
func New(l *lambdasvc.Permissions, e *elbsvc.Client, a *apigwsvc.Client, opts Options) *Reconciler {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.RetryMax <= 0 {
		opts.RetryMax = 6
	}
	if opts.RetryBackoff <= 0 {
		opts.RetryBackoff = 500 * time.Millisecond
	}
	if opts.APIChangeSpacing <= 0 {
		opts.APIChangeSpacing = 50 * time.Millisecond
	}
	return &Reconciler{perms: l, elb: e, apigw: a, log: opts.Logger, opts: opts, sleep: retry.Sleep,
		locks: &serial{slots: map[string]*slot{}}}
}

// WithCache returns a Reconciler like r whose reads of target groups and
// APIs are kept in cache, one run's (internal/aws/runcache), shared by
// every function the run plans and applies. It shares r's serial slots.
func (r *Reconciler) WithCache(cache *runcache.Cache) *Reconciler {
	c := *r
	c.elb, c.apigw = r.elb.WithCache(cache), r.apigw.WithCache(cache)
	return &c
}

// changePolicy makes one change to a function's resource-based policies:
// one at a time per function (Lambda may drop a permission when two are
// added to one function at once, which Terraform works around the same
// way), retrying with bounded backoff while Lambda answers that another
// change is in progress.
func (r *Reconciler) changePolicy(ctx context.Context, functionARN string, change func() error) error {
	sl := r.locks.slot("policy/" + functionARN)
	sl.Lock()
	defer sl.Unlock()
	return r.retry(ctx, "policy change", change, func(err error) bool {
		return errors.Is(err, lambdasvc.ErrConflict) || errors.Is(err, lambdasvc.ErrInUse)
	})
}

// changeAPI makes one change to an HTTP API: one at a time per API, at
// least APIChangeSpacing after the answer to the last, retrying with
// bounded backoff while API Gateway answers that the API is being changed
// (ConflictException: "concurrent modification", which files for many
// functions on one shared API otherwise meet; terraform-provider-aws
// #40575). Reads of the API are not held back.
func (r *Reconciler) changeAPI(ctx context.Context, apiID string, change func() error) error {
	sl := r.locks.slot("api/" + apiID)
	sl.Lock()
	defer sl.Unlock()
	if wait := time.Until(sl.last.Add(r.opts.APIChangeSpacing)); wait > 0 {
		if err := r.sleep(ctx, wait); err != nil {
			return err
		}
	}
	defer func() { sl.last = time.Now() }()
	p := retry.Policy{Max: r.opts.RetryMax, Backoff: r.opts.APIChangeSpacing, Sleep: r.sleep, Log: r.log}
	return p.Do(ctx, "api change", change, func(err error) bool { return errors.Is(err, apigwsvc.ErrConflict) })
}

// retry calls call until it succeeds, fails with an error that again does
// not accept, or RetryMax retries are spent.
func (r *Reconciler) retry(ctx context.Context, what string, call func() error, again func(error) bool) error {
	p := retry.Policy{Max: r.opts.RetryMax, Backoff: r.opts.RetryBackoff, Sleep: r.sleep, Log: r.log}
	return p.Do(ctx, what, call, again)
}

// register registers target in the target group. A permission just
// granted takes a while to reach Elastic Load Balancing, which refuses
// the target meanwhile (InvalidTargetException): that is retried, bounded.
func (r *Reconciler) register(ctx context.Context, tgArn, target string) error {
	return r.retry(ctx, "register target", func() error { return r.elb.Register(ctx, tgArn, target) },
		func(err error) bool { return errors.Is(err, elbsvc.ErrInvalidTarget) })
}

// Plan observes AWS for fn and returns the actions that make it match
// desired (nil: remove everything eventwire manages for fn).
func (r *Reconciler) Plan(ctx context.Context, fn plan.Function, desired []definition.PushSource) ([]plan.Action, error) {
	obs, err := r.Observe(ctx, fn, desired, nil)
	if err != nil {
		return nil, err
	}
	if err := CheckStageAliases(fn, desired, obs); err != nil {
		return nil, err
	}
	return Plan(fn, desired, obs, Rules{AllowTakeover: r.opts.AllowTakeover}), nil
}

// PlanDestroy observes AWS for fn and returns the actions that remove
// everything eventwire manages for fn, searching also the target groups
// and routes of former, the push sources of the last file applied for fn
// (see PlanRemoval). For a missing fn no policy is read.
func (r *Reconciler) PlanDestroy(ctx context.Context, fn plan.Function, former []definition.PushSource) ([]plan.Action, error) {
	obs, err := r.Observe(ctx, fn, nil, former)
	if err != nil {
		return nil, err
	}
	return PlanRemoval(fn, former, obs), nil
}
