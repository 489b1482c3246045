// Package reconcile makes AWS match a definition file, one function at a
// time: observe what AWS has, plan the difference, apply it in order.
//
// The pull side (event source mappings) and the push side (target groups,
// API Gateway routes and the permissions they need) are planned and
// executed by their own packages; this package composes them.
package reconcile

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/eventwire/eventwire/internal/apigwsvc"
	"github.com/eventwire/eventwire/internal/definition"
	"github.com/eventwire/eventwire/internal/elbsvc"
	"github.com/eventwire/eventwire/internal/lambdasvc"
	"github.com/eventwire/eventwire/internal/plan"
	"github.com/eventwire/eventwire/internal/pull"
	"github.com/eventwire/eventwire/internal/push"
)

// Options tunes a Reconciler. The zero value is usable.
type Options struct {
	Logger *slog.Logger
	Pull   pull.Options
	Push   push.Options
}

// side is what the pull and push packages each provide.
type side[T any] interface {
	Plan(ctx context.Context, fn plan.Function, desired []T) ([]plan.Action, error)
	Execute(ctx context.Context, fn plan.Function, a plan.Action) error
}

// Reconciler plans and applies definition files.
type Reconciler struct {
	log       *slog.Logger
	functions *lambdasvc.Functions
	pull      side[definition.Mapping]
	push      side[definition.PushSource]
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
	lc := lambda.NewFromConfig(cfg)
	return &Reconciler{
		log:       log,
		functions: lambdasvc.NewFunctions(lc),
		pull:      pull.New(lambdasvc.NewMappings(lc), opts.Pull),
		push: push.New(lambdasvc.NewPermissions(lc),
			elbsvc.New(elasticloadbalancingv2.NewFromConfig(cfg)),
			apigwsvc.New(apigatewayv2.NewFromConfig(cfg)), opts.Push),
	}
}

// Plan observes AWS for the file's function and returns what applying the
// file would do.
func (r *Reconciler) Plan(ctx context.Context, f *definition.File) (*plan.Plan, error) {
	p, err := r.plan(ctx, f.Function, f.Pull, f.Push)
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
func (r *Reconciler) PlanDestroy(ctx context.Context, ref string, former []definition.PushSource) (*plan.Plan, error) {
	return r.plan(ctx, ref, nil, nil)
}

func (r *Reconciler) plan(ctx context.Context, ref string, pulls []definition.Mapping, pushes []definition.PushSource) (*plan.Plan, error) {
	fn, err := r.functions.Resolve(ctx, ref)
	if err != nil {
		return nil, err // names the function already
	}
	pa, err := r.pull.Plan(ctx, fn, pulls)
	if err != nil {
		return nil, fmt.Errorf("plan event source mappings of %s: %w", ref, err)
	}
	sa, err := r.push.Plan(ctx, fn, pushes)
	if err != nil {
		return nil, fmt.Errorf("plan push sources of %s: %w", ref, err)
	}
	return &plan.Plan{Function: fn, Actions: append(pa, sa...)}, nil
}

// Apply carries out the plan's changes in order. It stops at the first
// failure: a later run observes AWS afresh and converges.
func (r *Reconciler) Apply(ctx context.Context, p *plan.Plan) error {
	for _, a := range p.Actions {
		if !a.Kind.IsChange() {
			continue
		}
		var err error
		switch a.Resource {
		case plan.ResourceMapping, plan.ResourceMappingTags:
			err = r.pull.Execute(ctx, p.Function, a)
		default:
			err = r.push.Execute(ctx, p.Function, a)
		}
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
