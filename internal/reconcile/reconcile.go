// Package reconcile makes AWS match a definition file, one function at a
// time: observe what AWS has, plan the difference, apply it in order.
//
// The pull side (event source mappings) and the push side (target groups,
// API Gateway routes and the permissions they need) are planned and
// executed by their own packages; this package composes them.
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

// Reconciler plans and applies definition files.
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

// Run returns a context for one run (a CLI command, one invocation of the
// deployer): in it, reads of resources that several functions share (an
// HTTP API's routes and integrations, a target group's description) are
// made once and kept current by the run's own writes (internal/aws/runcache).
// Nothing is kept from one run to the next.
func Run(ctx context.Context) context.Context {
	return context.WithValue(ctx, cacheKey{}, runcache.New())
}

type cacheKey struct{}

// push returns the push side reading through the cache of the run in
// ctx, if any.
func (r *Reconciler) push(ctx context.Context) *push.Reconciler {
	c, _ := ctx.Value(cacheKey{}).(*runcache.Cache)
	return r.c().push.WithCache(c)
}

// Prefetch tells the run (ctx from Run) what the files of the run may need
// to read one by one otherwise, so that the first read reads them all in
// as few calls as AWS allows: the descriptions of the target groups they
// name. A failure there is not an error: each function's plan reads what
// is missing, and reports it.
func (r *Reconciler) Prefetch(ctx context.Context, files []*definition.File) {
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
	c, _ := ctx.Value(cacheKey{}).(*runcache.Cache)
	r.c().elb.WithCache(c).Expect(arns)
}

// Plan observes AWS for the file's function and returns what applying the
// file would do. A function that does not exist is an error.
func (r *Reconciler) Plan(ctx context.Context, f *definition.File) (*plan.Plan, error) {
	fn, err := r.c().functions.Resolve(ctx, f.Function)
	if err != nil {
		return nil, err // names the function already
	}
	p, err := r.plan(ctx, fn, f.Pull, func() ([]plan.Action, error) { return r.push(ctx).Plan(ctx, fn, f.Push) })
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
func (r *Reconciler) PlanDestroy(ctx context.Context, ref string, former []definition.PushSource) (*plan.Plan, error) {
	fn, err := r.c().functions.Resolve(ctx, ref)
	if errors.Is(err, lambdasvc.ErrNotFound) {
		fn, err = r.gone(ctx, ref)
	}
	if err != nil {
		return nil, err // names the function already
	}
	return r.plan(ctx, fn, nil, func() ([]plan.Action, error) { return r.push(ctx).PlanDestroy(ctx, fn, former) })
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
func (r *Reconciler) plan(ctx context.Context, fn plan.Function, pulls []definition.Mapping, planPush func() ([]plan.Action, error)) (*plan.Plan, error) {
	pa, err := r.c().pull.Plan(ctx, fn, pulls)
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
// start and end, and the waits within it, are reported to the
// progress.Func in ctx, if any. A plan that holds a conflict (a source
// held by something eventwire does not own, without takeovers allowed) is
// not applied at all: the error wraps plan.ErrConflict and names each
// conflict and its owner.
func (r *Reconciler) Apply(ctx context.Context, p *plan.Plan) error {
	wait, err := r.Start(ctx, p)
	return errors.Join(err, wait(ctx))
}

// Start is Apply without the waits for mappings to leave Creating or
// Updating: it makes the calls, and returns wait, which waits for them
// (every mapping at once; its errors name each mapping, the bound and the
// mapping's StateTransitionReason). A caller applying many plans calls
// Start for each, then the waits, so that no worker is held while a
// mapping settles. wait is never nil.
func (r *Reconciler) Start(ctx context.Context, p *plan.Plan) (wait func(context.Context) error, err error) {
	waits := &pull.Waits{}
	if err := p.ConflictError(); err != nil {
		return waits.Wait, err
	}
	return waits.Wait, r.apply(ctx, p, waits)
}

// apply makes the calls of p's changes, leaving the waits of its mappings
// to waits.
func (r *Reconciler) apply(ctx context.Context, p *plan.Plan, waits *pull.Waits) error {
	for _, a := range p.Actions {
		if !a.Kind.IsChange() {
			continue
		}
		actx := progress.Scope(ctx, p.Function.Ref, fmt.Sprintf("%s %s %s", a.Kind, a.Resource, a.ID))
		progress.Report(actx, progress.Event{Step: progress.Started})
		var err error
		switch a.Resource {
		case plan.ResourceMapping, plan.ResourceMappingTags:
			err = r.c().pull.Execute(actx, p.Function, a, pull.ExecuteOptions{Waits: waits})
		default:
			err = r.push(ctx).Execute(actx, p.Function, a)
		}
		progress.Report(actx, progress.Event{Step: progress.Finished, Err: err})
		if err != nil {
			return fmt.Errorf("%s %s %s: %w", a.Kind, a.Resource, a.ID, err)
		}
		// function is the bare name, as in the deployer's own lines, so
		// that one search finds a function's whole deployment; ref is the
		// reference the file wrote (qualified, or an ARN).
		r.log.InfoContext(ctx, "change applied",
			"function", p.Function.Name, "ref", p.Function.Ref, "kind", a.Resource, "action", string(a.Kind), "id", a.ID)
	}
	return nil
}
