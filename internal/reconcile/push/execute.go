package push

import (
	"context"
	"errors"
	"fmt"

	"github.com/eventwire/eventwire/internal/aws/lambdasvc"
	"github.com/eventwire/eventwire/internal/plan"
)

// Execute carries out one action of a plan that Plan made for fn. A
// left-alone entry does nothing.
func (r *Reconciler) Execute(ctx context.Context, fn plan.Function, a plan.Action) error {
	if !a.Kind.IsChange() {
		return nil
	}
	switch op := a.Op.(type) {
	case grantOp:
		err := r.changePolicy(ctx, fn.ARN, func() error { return r.perms.Add(ctx, fn.ARN, op.Statement) })
		if errors.Is(err, lambdasvc.ErrPolicyTooLarge) {
			return r.policyFull(ctx, fn, op.Statement.Qualifier, err)
		}
		return err
	case revokeOp:
		return r.changePolicy(ctx, fn.ARN, func() error {
			return r.perms.Remove(ctx, fn.ARN, op.Statement.Qualifier, op.Statement.Sid)
		})
	case registerOp:
		for _, t := range op.Deregister {
			if err := r.elb.Deregister(ctx, op.TargetGroupArn, t); err != nil {
				return err
			}
		}
		if op.Register != "" {
			return r.register(ctx, op.TargetGroupArn, op.Register)
		}
		return nil
	case deregisterOp:
		return r.elb.Deregister(ctx, op.TargetGroupArn, op.Target)
	case integrationOp:
		return r.changeAPI(ctx, op.ApiID, func() error {
			_, err := r.ensureIntegration(ctx, op.ApiID, op.URI, op.Description)
			return err
		})
	case attachOp:
		return r.changeAPI(ctx, op.ApiID, func() error { return r.attach(ctx, op) })
	case detachOp:
		return r.changeAPI(ctx, op.ApiID, func() error { return r.apigw.SetRouteTarget(ctx, op.ApiID, op.RouteID, "") })
	case deleteIntegrationOp:
		return r.changeAPI(ctx, op.ApiID, func() error { return r.apigw.DeleteIntegration(ctx, op.ApiID, op.IntegrationID) })
	}
	return fmt.Errorf("push: action %s %s %s: unknown operation %T", a.Kind, a.Resource, a.ID, a.Op)
}

// attach points the route at the managed integration to the op's URI,
// made if there is none. Retried whole, it reuses an integration it made
// before its route change was refused.
func (r *Reconciler) attach(ctx context.Context, op attachOp) error {
	id, err := r.ensureIntegration(ctx, op.ApiID, op.URI, op.Description)
	if err != nil {
		return err
	}
	return r.apigw.SetRouteTarget(ctx, op.ApiID, op.RouteID, "integrations/"+id)
}

// ensureIntegration returns the id of the managed integration to uri in the
// API, creating it if there is none, so that an apply interrupted between
// creating an integration and attaching it reuses it on the next run.
func (r *Reconciler) ensureIntegration(ctx context.Context, apiID, uri, desc string) (string, error) {
	ints, err := r.apigw.Integrations(ctx, apiID)
	if err != nil {
		return "", err
	}
	for _, in := range ints {
		if in.Serves(desc, uri) {
			return in.ID, nil
		}
	}
	id, err := r.apigw.CreateIntegration(ctx, apiID, uri, desc)
	if err != nil {
		return "", err
	}
	r.log.DebugContext(ctx, "integration created", "api", apiID, "id", id, "uri", uri)
	return id, nil
}

// policyFull is the error of a grant AWS refused because the resource
// policy of fn (at qualifier) would pass lambdasvc.PolicyLimit: it names
// the function and how many statements the policy holds, and what to do.
func (r *Reconciler) policyFull(ctx context.Context, fn plan.Function, qualifier string, err error) error {
	at := fn.Name
	if qualifier != "" {
		at += ":" + qualifier
	}
	count := "its"
	if sts, lerr := r.perms.List(ctx, fn.ARN, qualifier); lerr == nil {
		count = fmt.Sprintf("its %d", len(sts))
	}
	return fmt.Errorf("function %s: AWS refuses to add a statement: %s statements already fill the resource policy's %d bytes; "+
		"wire fewer routes or target groups to this function or alias, or grant per API and stage by hand: %w",
		at, count, lambdasvc.PolicyLimit, err)
}
