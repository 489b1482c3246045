package push

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/eventwire/eventwire/internal/apigwsvc"
	"github.com/eventwire/eventwire/internal/definition"
	"github.com/eventwire/eventwire/internal/elbsvc"
	"github.com/eventwire/eventwire/internal/plan"
	"github.com/eventwire/eventwire/internal/wiring"
)

// Observe reads what AWS has for fn's push sources: the statements of the
// function's policies (unqualified, its qualifier, each alias, each
// version that a desired route's stage variable names), the target
// groups and HTTP APIs that desired, former (the push sources of the last
// file applied for fn, when it is torn down) or eventwire's statements
// name. A target group, API or route that desired names must exist (and a
// target group must be of type lambda); those named only by former or by
// old statements may be gone. A missing fn has no policy: none is read.
func (r *Reconciler) Observe(ctx context.Context, fn plan.Function, desired, former []definition.PushSource) (wiring.Observed, error) {
	o := &observer{r: r, fn: fn, seen: map[stmtKey]bool{},
		obs: wiring.Observed{TargetGroups: map[string]wiring.TargetGroup{}, APIs: map[string]wiring.API{}}}
	qualifiers := map[string]bool{"": true, fn.Qualifier: true}
	if !fn.Missing {
		aliases, err := r.perms.Aliases(ctx, fn.ARN)
		if err != nil {
			return o.obs, err
		}
		o.obs.Aliases = aliases
		for _, a := range aliases {
			qualifiers[a] = true
		}
		if err := o.policies(ctx, qualifiers); err != nil {
			return o.obs, err
		}
	}
	n, err := namedBy(fn, desired, former, o.obs.Statements)
	if err != nil {
		return o.obs, err
	}
	if err := o.targetGroups(ctx, n.targetGroups); err != nil {
		return o.obs, err
	}
	if err := o.apis(ctx, n.apis); err != nil {
		return o.obs, err
	}
	if err := o.routesExist(ctx, n.routes); err != nil {
		return o.obs, err
	}
	if fn.Missing {
		return o.obs, nil
	}
	// A stage variable may name a version rather than an alias: its
	// policy holds the grant too, so it is read as well.
	if err := o.policies(ctx, stageVersions(desired, o.obs, qualifiers)); err != nil {
		return o.obs, err
	}
	return o.obs, nil
}

// observer fills one observation.
type observer struct {
	r    *Reconciler
	fn   plan.Function
	obs  wiring.Observed
	seen map[stmtKey]bool
}

// policies reads the statements of fn's policies at each qualifier.
func (o *observer) policies(ctx context.Context, qualifiers map[string]bool) error {
	for _, q := range slices.Sorted(maps.Keys(qualifiers)) {
		sts, err := o.r.perms.List(ctx, o.fn.ARN, q)
		if err != nil {
			return err
		}
		for _, st := range sts {
			if o.seen[key(st)] {
				continue
			}
			o.seen[key(st)] = true
			o.obs.Statements = append(o.obs.Statements, st)
		}
	}
	return nil
}

// named is what an observation reads: by ARN or id, the target groups and
// APIs, true when the file names them (they must exist), false when only
// eventwire's statements do; and the routes the file names.
type named struct {
	targetGroups, apis map[string]bool
	routes             map[routeRef]bool
}

// namedBy returns what desired, former and eventwire's statements for fn
// name.
func namedBy(fn plan.Function, desired, former []definition.PushSource, statements []wiring.Statement) (named, error) {
	n := named{targetGroups: map[string]bool{}, apis: map[string]bool{}, routes: map[routeRef]bool{}}
	for _, src := range desired {
		switch src.Service {
		case definition.ServiceELB:
			n.targetGroups[src.TargetGroupArn] = true
		case definition.ServiceAPIGateway:
			n.apis[src.ApiId] = true
			n.routes[routeRef{src.ApiId, src.RouteId}] = true
		default:
			return n, fmt.Errorf("push source: unknown service %q", src.Service)
		}
	}
	mayBeGone := func(m map[string]bool, k string) {
		if _, ok := m[k]; !ok && k != "" {
			m[k] = false
		}
	}
	for _, src := range former {
		mayBeGone(n.targetGroups, src.TargetGroupArn)
		mayBeGone(n.apis, src.ApiId)
	}
	for _, s := range statements {
		if !owns(fn, s) {
			continue
		}
		switch s.Principal {
		case definition.ServiceELB:
			mayBeGone(n.targetGroups, s.SourceArn)
		case definition.ServiceAPIGateway:
			mayBeGone(n.apis, apiIDOf(s.SourceArn))
		}
	}
	return n, nil
}

// targetGroups reads the targets of each target group. One the file names
// must exist and be of type lambda.
func (o *observer) targetGroups(ctx context.Context, tgs map[string]bool) error {
	for _, arn := range slices.Sorted(maps.Keys(tgs)) {
		if tgs[arn] {
			tg, err := o.r.elb.TargetGroup(ctx, arn)
			if err != nil {
				return err
			}
			if tg.TargetType != elbsvc.TargetTypeLambda {
				return fmt.Errorf("target group %s: target type is %s, not %s", arn, tg.TargetType, elbsvc.TargetTypeLambda)
			}
		}
		targets, err := o.r.elb.Targets(ctx, arn)
		switch {
		case errors.Is(err, elbsvc.ErrNotFound) && !tgs[arn]:
			o.obs.TargetGroups[arn] = wiring.TargetGroup{Missing: true}
		case err != nil:
			return err
		default:
			o.obs.TargetGroups[arn] = wiring.TargetGroup{Targets: targets}
		}
	}
	return nil
}

// apis reads each API. One the file names must exist.
func (o *observer) apis(ctx context.Context, apis map[string]bool) error {
	for _, id := range slices.Sorted(maps.Keys(apis)) {
		api, err := o.r.apigw.API(ctx, id)
		if errors.Is(err, apigwsvc.ErrNotFound) && !apis[id] {
			o.obs.APIs[id] = wiring.API{Missing: true}
			continue
		}
		if err != nil {
			return err
		}
		o.obs.APIs[id] = api
	}
	return nil
}

// routesExist checks that each route the file names exists.
func (o *observer) routesExist(ctx context.Context, routes map[routeRef]bool) error {
	refs := slices.SortedFunc(maps.Keys(routes), func(a, b routeRef) int {
		if a.api != b.api {
			return strings.Compare(a.api, b.api)
		}
		return strings.Compare(a.route, b.route)
	})
	for _, ref := range refs {
		if _, ok := findRoute(o.obs.APIs[ref.api].Routes, ref.route); !ok {
			// Ask for the route itself, for AWS's own error.
			if _, err := o.r.apigw.Route(ctx, ref.api, ref.route); err != nil {
				return err
			}
			return fmt.Errorf("route %s of api %s: %w", ref.route, ref.api, apigwsvc.ErrNotFound)
		}
	}
	return nil
}

// stageVersions returns the versions, not among qualifiers, that the
// stage variables of desired routes name.
func stageVersions(desired []definition.PushSource, obs wiring.Observed, qualifiers map[string]bool) map[string]bool {
	versions := map[string]bool{}
	for _, src := range desired {
		if src.Service != definition.ServiceAPIGateway || src.AliasStageVariableName == "" {
			continue
		}
		for _, st := range obs.APIs[src.ApiId].Stages {
			if v := st.Variables[src.AliasStageVariableName]; isDigits(v) && !qualifiers[v] {
				versions[v] = true
			}
		}
	}
	return versions
}
