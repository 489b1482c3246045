package push

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/eventwire/eventwire/internal/aws/apigwsvc"
	"github.com/eventwire/eventwire/internal/aws/elbsvc"
	"github.com/eventwire/eventwire/internal/definition"
	"github.com/eventwire/eventwire/internal/plan"
	"github.com/eventwire/eventwire/internal/wiring"
)

// Observe reads what AWS has for fn's push sources: the statements of the
// function's policies (unqualified, its qualifier, each alias when
// needsAliases says so, each version that a desired route's stage
// variable names), the target groups and HTTP APIs that desired, former
// (the push sources of the last file applied for fn, when it is torn
// down) or eventwire's statements name (an API's stages only when a
// desired route of it has a stage variable). A target group, API or route
// that desired names must exist (and a target group must be of type
// lambda); those named only by former or by old statements may be gone. A
// missing fn has no policy: none is read. Reads of shared resources go
// through the run's cache (internal/aws/runcache).
func (r *Reconciler) Observe(ctx context.Context, fn plan.Function, desired, former []definition.PushSource) (wiring.Push, error) {
	o := &observer{r: r, fn: fn, seen: map[stmtKey]bool{}, stages: stageAPIs(desired),
		obs: wiring.Push{TargetGroups: map[string]wiring.TargetGroup{}, APIs: map[string]wiring.API{}}}
	qualifiers := map[string]bool{"": true, fn.Qualifier: true}
	if !fn.Missing {
		if err := o.policies(ctx, qualifiers); err != nil {
			return o.obs, err
		}
	}
	if err := o.named(ctx, desired, former); err != nil {
		return o.obs, err
	}
	if fn.Missing {
		return o.obs, nil
	}
	if needsAliases(fn, desired, o.obs) {
		if err := o.aliases(ctx, qualifiers); err != nil {
			return o.obs, err
		}
		// The aliases' statements may name more target groups and APIs.
		if err := o.named(ctx, desired, former); err != nil {
			return o.obs, err
		}
	}
	// A stage variable may name a version rather than an alias: its
	// policy holds the grant too, so it is read as well.
	if err := o.policies(ctx, stageVersions(desired, o.obs, qualifiers)); err != nil {
		return o.obs, err
	}
	return o.obs, nil
}

// aliases reads fn's aliases and the policies of those not in qualifiers,
// and adds them there.
func (o *observer) aliases(ctx context.Context, qualifiers map[string]bool) error {
	aliases, err := o.r.perms.Aliases(ctx, o.fn.ARN)
	if err != nil {
		return err
	}
	o.obs.Aliases = aliases
	more := map[string]bool{}
	for _, a := range aliases {
		if !qualifiers[a] {
			more[a], qualifiers[a] = true, true
		}
	}
	return o.policies(ctx, more)
}

// named reads the target groups, APIs and routes that desired, former and
// the statements read so far name, those not read yet.
func (o *observer) named(ctx context.Context, desired, former []definition.PushSource) error {
	n, err := namedBy(o.fn, desired, former, o.obs.Statements)
	if err != nil {
		return err
	}
	maps.DeleteFunc(n.targetGroups, func(arn string, _ bool) bool { _, read := o.obs.TargetGroups[arn]; return read })
	maps.DeleteFunc(n.apis, func(id string, _ bool) bool { _, read := o.obs.APIs[id]; return read })
	if err := o.targetGroups(ctx, n.targetGroups); err != nil {
		return err
	}
	if err := o.apis(ctx, n.apis); err != nil {
		return err
	}
	return o.routesExist(ctx, n.routes)
}

// needsAliases reports whether fn's aliases (and their policies) must be
// read: for a teardown, which removes eventwire's grants on every alias;
// when a desired route has a stage variable (stages name aliases, whose
// policies hold the route's grants); or when what was read so far shows
// that eventwire wired fn through another qualifier or a stage variable:
// a target of fn with another qualifier in a target group, or one of
// eventwire's integrations for fn in an API that is for another qualifier
// or invokes a stage variable's alias. Otherwise no alias policy can
// hold a grant that the plan would make or remove, and the list is not
// read.
func needsAliases(fn plan.Function, desired []definition.PushSource, obs wiring.Push) bool {
	if desired == nil {
		return true
	}
	for _, src := range desired {
		if src.AliasStageVariableName != "" {
			return true
		}
	}
	own := fn.QualifiedARN()
	for _, tg := range obs.TargetGroups {
		for _, t := range tg.Targets {
			if t != own && (t == fn.ARN || strings.HasPrefix(t, fn.ARN+":")) {
				return true
			}
		}
	}
	forFn := wiring.IntegrationDescription(fn.ARN)
	for _, api := range obs.APIs {
		for _, in := range api.Integrations {
			if in.Description == forFn || strings.HasPrefix(in.Description, forFn+":") {
				if in.Description != wiring.IntegrationDescription(own) || strings.Contains(in.URI, "${stageVariables.") {
					return true
				}
			}
		}
	}
	return false
}

// stageAPIs returns the APIs whose stages desired needs: those of routes
// with a stage variable.
func stageAPIs(desired []definition.PushSource) map[string]bool {
	apis := map[string]bool{}
	for _, src := range desired {
		if src.Service == definition.ServiceAPIGateway && src.AliasStageVariableName != "" {
			apis[src.ApiId] = true
		}
	}
	return apis
}

// observer fills one observation.
type observer struct {
	r      *Reconciler
	fn     plan.Function
	obs    wiring.Push
	seen   map[stmtKey]bool
	stages map[string]bool // APIs whose stages are read
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
			id, _ := executeAPIParts(s.SourceArn)
			mayBeGone(n.apis, id)
		}
	}
	return n, nil
}

// targetGroups reads the targets of each target group. One the file names
// must exist and be of type lambda: a Lambda function among its targets
// shows that (ELB takes one only in a lambda target group); otherwise its
// description is read.
func (o *observer) targetGroups(ctx context.Context, tgs map[string]bool) error {
	for _, arn := range slices.Sorted(maps.Keys(tgs)) {
		targets, err := o.r.elb.Targets(ctx, arn)
		switch {
		case errors.Is(err, elbsvc.ErrNotFound) && !tgs[arn]:
			o.obs.TargetGroups[arn] = wiring.TargetGroup{Missing: true}
			continue
		case err != nil:
			return err
		}
		if tgs[arn] && !slices.ContainsFunc(targets, isFunctionARN) {
			tg, err := o.r.elb.TargetGroup(ctx, arn)
			if err != nil {
				return err
			}
			if tg.TargetType != elbsvc.TargetTypeLambda {
				return fmt.Errorf("target group %s: target type is %s, not %s", arn, tg.TargetType, elbsvc.TargetTypeLambda)
			}
		}
		o.obs.TargetGroups[arn] = wiring.TargetGroup{Targets: targets}
	}
	return nil
}

// isFunctionARN reports whether a target id is a Lambda function's ARN.
func isFunctionARN(id string) bool {
	_, rest, ok := strings.Cut(id, ":lambda:")
	return ok && strings.HasPrefix(id, "arn:") && strings.Contains(rest, ":function:")
}

// apis reads each API. One the file names must exist.
func (o *observer) apis(ctx context.Context, apis map[string]bool) error {
	for _, id := range slices.Sorted(maps.Keys(apis)) {
		api, err := o.r.apigw.API(ctx, id, o.stages[id])
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
func stageVersions(desired []definition.PushSource, obs wiring.Push, qualifiers map[string]bool) map[string]bool {
	versions := map[string]bool{}
	for sv := range stageValues(desired, obs) {
		if isDigits(sv.value) && !qualifiers[sv.value] {
			versions[sv.value] = true
		}
	}
	return versions
}
