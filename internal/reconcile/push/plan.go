// Package push plans and applies a function's push event sources: Elastic
// Load Balancing target groups and API Gateway HTTP API routes, and the
// resource-policy statements that let those services invoke the function.
//
// Plan is pure: it computes the actions from the file (desired) and from
// wiring.Push, plain data that the Reconciler reads from AWS. What
// eventwire manages is found from AWS alone: its statements (ids starting
// with owner.StatementPrefix, and equal to the id eventwire gives that
// grant for this function reference) name the target groups and APIs it
// wired, and the integrations it creates carry a description that names
// the function reference (owner.IntegrationDescription).
//
// The planner is plan.go, targets.go, routes.go, grants.go, aliases.go,
// arn.go and ops.go; the Reconciler (push.go, observe.go, execute.go)
// reads AWS and carries the actions out.
//
// The planner's files import only plain data (internal/plan's
// planners test checks them file by file); the package imports the
// adapters, never the deployer, the CLI or a test kit (internal/layers).
package push

import (
	"github.com/eventwire/eventwire/internal/definition"
	"github.com/eventwire/eventwire/internal/plan"
	"github.com/eventwire/eventwire/internal/wiring"
)

// Rules are the operator's choices that change what Plan plans.
type Rules struct {
	// AllowTakeover lets a file take over a source held by something
	// eventwire does not own for the function reference: a target group
	// serving another target (deregistered) or a route pointing at another
	// integration (re-pointed). The plan shows a replace naming the owner.
	// Without it, such a source is a conflict: it gets nothing (no grant,
	// no registration, no integration), and the plan is not applied.
	AllowTakeover bool
}

// Plan returns the actions that make AWS match desired for fn, in the
// order they must run: grants, then target registrations, integrations
// and route attachments; then route detachments, target deregistrations,
// integration deletions, and last the revocations; then, as information,
// the routes left alone (pointed at fn's integration by someone else). A
// conflict (a source held by something eventwire does not own, without
// rules.AllowTakeover) is planned where its registration or attachment
// would be. A nil desired plans the removal of everything eventwire
// manages for fn.
//
// Plan expects every target group, API and route that desired names to be
// in obs (the Reconciler refuses a file naming missing ones); a desired
// route missing from obs is skipped.
func Plan(fn plan.Function, desired []definition.PushSource, obs wiring.Push, rules Rules) []plan.Action {
	return planAll(&planning{fn: fn, desired: desired, obs: obs, rules: rules})
}

// PlanRemoval plans the removal of everything eventwire manages for fn,
// like Plan with no desired sources, where former, the push sources of the
// last file applied for fn, mark as eventwire's what its statements would:
// fn (at its qualifier) registered in one of former's target groups is
// deregistered, and one of former's routes pointed at fn's integration is
// detached. So the wiring of a function that is gone, whose policy went
// with it, is still found.
func PlanRemoval(fn plan.Function, former []definition.PushSource, obs wiring.Push) []plan.Action {
	c := claims{targetGroups: map[string]bool{}, routes: map[routeRef]bool{}}
	for _, src := range former {
		switch src.Service {
		case definition.ServiceELB:
			c.targetGroups[src.TargetGroupArn] = true
		case definition.ServiceAPIGateway:
			c.routes[routeRef{src.ApiId, src.RouteId}] = true
		}
	}
	return planAll(&planning{fn: fn, obs: obs, claims: c})
}

// claims are the target groups and routes that the last file applied for
// fn declared: eventwire wired fn there.
type claims struct {
	targetGroups map[string]bool
	routes       map[routeRef]bool
}

// planning is one function's plan in the making: what its steps read (the
// function, the file's sources, what AWS has, the claims and the rules)
// and the grants they add to.
type planning struct {
	fn      plan.Function
	desired []definition.PushSource // nil: remove everything
	obs     wiring.Push
	claims  claims
	rules   Rules
	grants  *grantSet // made by planAll
}

// planAll plans pl's actions, in the order Plan gives.
func planAll(pl *planning) []plan.Action {
	pl.grants = newGrantSet(pl.fn, pl.obs.Statements)
	registers, deregisters := planTargets(pl)
	r := planRoutes(pl)
	grants, revokes := planGrants(pl.fn, pl.obs, pl.grants)
	var actions []plan.Action
	for _, group := range [][]plan.Action{grants, registers, r.integrations, r.attaches, r.conflicts, r.detaches, deregisters, r.deletes, revokes, r.left} {
		actions = append(actions, group...)
	}
	return actions
}
