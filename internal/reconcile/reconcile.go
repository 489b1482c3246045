// Package reconcile makes AWS match a definition file, one function at a
// time: observe what AWS has, plan the difference, apply it in order.
//
// The pull side (event source mappings) and the push side (target groups,
// API Gateway routes and the permissions they need) are planned and
// executed by their own packages; this package composes them.
//
// A Reconciler lasts as long as the process (its options and clients); a
// Run is one CLI command or one invocation of the deployer. What belongs
// to a run travels as values, not in the context: the Run holds the cache
// of the reads its functions share and the progress.Func its actions
// report to, and hands each apply's deferred waits to the pull side.
//
// It imports its planners and executors, the adapters and plain data,
// never the records store, the deployer, the CLI or a test kit
// (internal/layers checks).
package reconcile

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/eventwire/eventwire/internal/aws/apigwsvc"
	"github.com/eventwire/eventwire/internal/aws/elbsvc"
	"github.com/eventwire/eventwire/internal/aws/lambdasvc"
	"github.com/eventwire/eventwire/internal/aws/quota"
	"github.com/eventwire/eventwire/internal/aws/runcache"
	"github.com/eventwire/eventwire/internal/aws/stssvc"
	"github.com/eventwire/eventwire/internal/definition"
	"github.com/eventwire/eventwire/internal/funcref"
	"github.com/eventwire/eventwire/internal/plan"
	"github.com/eventwire/eventwire/internal/progress"
	"github.com/eventwire/eventwire/internal/reconcile/pull"
	"github.com/eventwire/eventwire/internal/reconcile/push"
)

// Options tunes a Reconciler. The zero value is usable.
type Options struct {
	Logger *slog.Logger
	Pull   pull.Options
	Push   push.Options
	// Pacer, if not nil, paces every call of the Reconciler's clients
	// under AWS's quotas (internal/aws/quota), shared with whatever else the
	// process paces with it.
	Pacer *quota.Pacer
}

// Reconciler plans and applies definition files. It holds what lasts as
// long as the process: the options and the clients. What belongs to one
// run (the reads its functions share, where its progress goes) is a Run:
// NewRun. A Reconciler's own Plan, PlanDestroy and Apply work outside any
// run: every read goes to AWS, and nothing reports progress.
type Reconciler struct {
	log *slog.Logger
	// region makes the ARN of a function that is gone, with the caller.
	region string
	// c builds the clients on first use: the deployer's cold start builds
	// none, and an event that deploys nothing none at all.
	c func() clients
}

// clients are the Reconciler's adapters and the two sides. elb and push
// read AWS each time: a run binds them to its cache (WithCache).
type clients struct {
	functions *lambdasvc.Functions
	elb       *elbsvc.Client
	pull      *pull.Reconciler
	push      *push.Reconciler
	caller    *stssvc.Caller
}

// New builds a Reconciler on an AWS configuration (the SDK's standard
// chain: profiles, AWS_REGION, AWS_ENDPOINT_URL, ...).
func New(cfg aws.Config, opts Options) *Reconciler {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if opts.Pull.Logger == nil {
		opts.Pull.Logger = log
	}
	if opts.Push.Logger == nil {
		opts.Push.Logger = log
	}
	opts.Pacer.Configure(&cfg)
	return &Reconciler{log: log, region: cfg.Region, c: sync.OnceValue(func() clients {
		lc := lambda.NewFromConfig(cfg)
		elb := elbsvc.New(elasticloadbalancingv2.NewFromConfig(cfg))
		return clients{
			functions: lambdasvc.NewFunctions(lc),
			elb:       elb,
			pull:      pull.New(lambdasvc.NewMappings(lc), opts.Pull),
			push:      push.New(lambdasvc.NewPermissions(lc), elb, apigwsvc.New(apigatewayv2.NewFromConfig(cfg)), opts.Push),
			caller:    stssvc.NewCaller(sts.NewFromConfig(cfg)),
		}
	})}
}

// Run is one run of a Reconciler: one CLI command, one invocation of the
// deployer. The run's plans and applies read a resource that several
// functions share (an HTTP API's routes and integrations, a target
// group's description) once, and keep it current with their own writes
// (internal/aws/runcache); nothing is kept from one run to the next. Each
// action's start and end, and the waits within it, are reported to the
// run's progress.Func. A Run is safe for concurrent use.
type Run struct {
	r        *Reconciler
	cache    *runcache.Cache // nil: no read is shared
	progress progress.Func   // nil: no report
}

// NewRun starts a run of r whose progress goes to report (nil: nowhere).
func (r *Reconciler) NewRun(report progress.Func) *Run {
	return &Run{r: r, cache: runcache.New(), progress: report}
}

// alone is the run of a call outside any run: nothing shared, no report.
func (r *Reconciler) alone() *Run { return &Run{r: r} }

// Plan is Run.Plan outside any run.
func (r *Reconciler) Plan(ctx context.Context, f *definition.File) (*plan.Plan, error) {
	return r.alone().Plan(ctx, f)
}

// PlanDestroy is Run.PlanDestroy outside any run.
func (r *Reconciler) PlanDestroy(ctx context.Context, ref string, former []definition.PushSource) (*plan.Plan, error) {
	return r.alone().PlanDestroy(ctx, ref, former)
}

// Apply is Run.Apply outside any run.
func (r *Reconciler) Apply(ctx context.Context, p *plan.Plan) error {
	return r.alone().Apply(ctx, p)
}

// push is the push side, reading through the run's cache.
func (run *Run) push() *push.Reconciler { return run.r.c().push.WithCache(run.cache) }

// Prefetch tells the run what its files may need to read one by one
// otherwise, so that the first read reads them all in as few calls as AWS
// allows: the descriptions of the target groups they name. It makes no
// call itself; a failure of that first read is not an error: each
// function's plan reads what is missing, and reports it.
func (run *Run) Prefetch(files []*definition.File) {
	seen := map[string]bool{}
	var arns []string
	for _, f := range files {
		for _, src := range f.Push {
			if src.Service == definition.ServiceELB && !seen[src.TargetGroupArn] {
				seen[src.TargetGroupArn] = true
				arns = append(arns, src.TargetGroupArn)
			}
		}
	}
	run.r.c().elb.WithCache(run.cache).Expect(arns)
}

// Plan observes AWS for the file's function and returns what applying the
// file would do. A function that does not exist is an error.
func (run *Run) Plan(ctx context.Context, f *definition.File) (*plan.Plan, error) {
	fn, err := run.r.c().functions.Resolve(ctx, f.Function)
	if err != nil {
		return nil, err // names the function already
	}
	p, err := run.plan(ctx, fn, f.Pull, func() ([]plan.Action, error) { return run.push().Plan(ctx, fn, f.Push) })
	if err != nil {
		return nil, err
	}
	p.Source = f.Path
	return p, nil
}

// PlanDestroy returns what removing everything eventwire manages for the
// function ref would do. Resources eventwire does not own are left alone.
//
// former are the push sources of the last file applied for the function
// (nil when unknown): their target groups and routes are checked for
// eventwire's wiring of the function even when the function and its
// policy are gone.
//
// A function that no longer exists is torn down too (AWS keeps its
// mappings, target registrations and integrations after DeleteFunction):
// its ARN is made from the reference, or the caller's account and
// partition and the configured region; the plan's function is marked
// Missing, and no policy is read or changed (it went with the function).
func (run *Run) PlanDestroy(ctx context.Context, ref string, former []definition.PushSource) (*plan.Plan, error) {
	fn, err := run.r.c().functions.Resolve(ctx, ref)
	if errors.Is(err, lambdasvc.ErrNotFound) {
		fn, err = run.r.gone(ctx, ref)
	}
	if err != nil {
		return nil, err // names the function already
	}
	return run.plan(ctx, fn, nil, func() ([]plan.Action, error) { return run.push().PlanDestroy(ctx, fn, former) })
}

// gone returns the function ref names, which does not exist, with its ARN
// made without GetFunctionConfiguration: from ref where it is a full ARN, else with the
// caller's account and partition (STS, asked once) and the configured
// region.
func (r *Reconciler) gone(ctx context.Context, ref string) (plan.Function, error) {
	fr, err := funcref.Parse(ref)
	if err != nil {
		return plan.Function{}, fmt.Errorf("function %s: %w", ref, err)
	}
	partition, account, region := fr.Partition, fr.Account, fr.Region
	if partition == "" || account == "" {
		id, err := r.c().caller.Identity(ctx)
		if err != nil {
			return plan.Function{}, fmt.Errorf("function %s is gone, and its ARN needs the account: %w", ref, err)
		}
		partition, account = id.Partition, id.Account
	}
	if region == "" {
		region = r.region
	}
	if region == "" {
		return plan.Function{}, fmt.Errorf("function %s is gone, and its ARN needs a region: set AWS_REGION or a profile's region", ref)
	}
	return plan.Function{Ref: ref, Name: fr.Name, Qualifier: fr.Qualifier,
		ARN: fr.ARN(partition, region, account), Missing: true}, nil
}

// plan plans fn's mappings against pulls, then its push sources with
// planPush.
func (run *Run) plan(ctx context.Context, fn plan.Function, pulls []definition.Mapping, planPush func() ([]plan.Action, error)) (*plan.Plan, error) {
	pa, err := run.r.c().pull.Plan(ctx, fn, pulls)
	if err != nil {
		return nil, fmt.Errorf("plan event source mappings of %s: %w", fn.Ref, err)
	}
	sa, err := planPush()
	if err != nil {
		return nil, fmt.Errorf("plan push sources of %s: %w", fn.Ref, err)
	}
	return &plan.Plan{Function: fn, Actions: append(pa, sa...)}, nil
}

// Apply carries out the plan's changes in order, and waits for the event
// source mappings it created or updated to settle. It stops at the first
// failure: a later run observes AWS afresh and converges. Each action's
// start and end, and the waits within it, are reported to the run's
// progress.Func. A plan that holds a conflict (a source held by something
// eventwire does not own, without takeovers allowed) is not applied at
// all: the error wraps plan.ErrConflict and names each conflict and its
// owner.
func (run *Run) Apply(ctx context.Context, p *plan.Plan) error {
	wait, err := run.Start(ctx, p)
	return errors.Join(err, wait(ctx))
}

// Start is Apply without the waits for mappings to leave Creating or
// Updating: it makes the calls, and returns wait, which waits for them
// (every mapping at once; its errors name each mapping, the bound and the
// mapping's StateTransitionReason). A caller applying many plans calls
// Start for each, then the waits, so that no worker is held while a
// mapping settles. wait is never nil.
func (run *Run) Start(ctx context.Context, p *plan.Plan) (wait func(context.Context) error, err error) {
	waits := &pull.Waits{}
	if err := p.ConflictError(); err != nil {
		return waits.Wait, err
	}
	return waits.Wait, run.apply(ctx, p, waits, nil)
}

// ApplyFenced is Apply with a fence: fence is called before each change
// (a lease's check, records.Lease.Check), and an error it returns stops
// the apply before that change is made, as the error of the apply. A run
// that lost its lease while paused so changes nothing more.
func (run *Run) ApplyFenced(ctx context.Context, p *plan.Plan, fence func(context.Context) error) error {
	waits := &pull.Waits{}
	if err := p.ConflictError(); err != nil {
		return err
	}
	return errors.Join(run.apply(ctx, p, waits, fence), waits.Wait(ctx))
}

// apply makes the calls of p's changes, leaving the waits of its mappings
// to waits; fence, if not nil, is checked before each.
func (run *Run) apply(ctx context.Context, p *plan.Plan, waits *pull.Waits, fence func(context.Context) error) error {
	side := run.push()
	for _, a := range p.Actions {
		if !a.Kind.IsChange() {
			continue
		}
		if fence != nil {
			if err := fence(ctx); err != nil {
				return fmt.Errorf("%s %s %s: not made: %w", a.Kind, a.Resource, a.ID, err)
			}
		}
		report := run.progress.Scope(p.Function.Ref, fmt.Sprintf("%s %s %s", a.Kind, a.Resource, a.ID))
		report.Report(progress.Event{Step: progress.Started})
		var err error
		switch a.Resource {
		case plan.ResourceMapping, plan.ResourceMappingTags:
			err = run.r.c().pull.Execute(ctx, p.Function, a, pull.ExecuteOptions{Progress: report, Waits: waits})
		default:
			err = side.Execute(ctx, p.Function, a)
		}
		report.Report(progress.Event{Step: progress.Finished, Err: err})
		if err != nil {
			return fmt.Errorf("%s %s %s: %w", a.Kind, a.Resource, a.ID, err)
		}
		// function is the bare name, as in the deployer's own lines, so
		// that one search finds a function's whole deployment; ref is the
		// reference the file wrote (qualified, or an ARN).
		run.r.log.InfoContext(ctx, "change applied",
			"function", p.Function.Name, "ref", p.Function.Ref, "kind", a.Resource, "action", string(a.Kind), "id", a.ID)
	}
	return nil
}
