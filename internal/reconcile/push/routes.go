package push

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/eventwire/eventwire/internal/definition"
	"github.com/eventwire/eventwire/internal/funcref"
	"github.com/eventwire/eventwire/internal/plan"
	"github.com/eventwire/eventwire/internal/wiring"
)

type routeRef struct{ api, route string }

// routePlan is what planRoutes plans, by group of the plan's order.
type routePlan struct {
	integrations, attaches, conflicts, detaches, deletes, left []plan.Action
}

// keepSet holds, per API id, the integrations that stay.
type keepSet map[string]map[string]bool

func (k keepSet) add(apiID, integrationID string) {
	if k[apiID] == nil {
		k[apiID] = map[string]bool{}
	}
	k[apiID][integrationID] = true
}

// planRoutes plans the API Gateway routes: each route the file names
// pointed at fn's managed integration (created if missing), with the
// grants to API Gateway; the routes eventwire wired for fn and the file no
// longer names detached, and fn's integrations that no route uses any
// more deleted. The routes that the claims name count as wired by
// eventwire. A route pointed at an integration that eventwire did not
// create for fn is a conflict (no grant, no integration, not re-pointed)
// unless the rules allow a takeover.
func planRoutes(pl *planning) routePlan {
	desc := wiring.IntegrationDescription(pl.fn.QualifiedARN())
	var p routePlan
	want, order, held := p.wantRoutes(pl)
	keep := p.attach(pl.obs, want, order, desc)
	for ref, uri := range held {
		if id, ok := goodIntegration(pl.obs.APIs[ref.api], desc, uri, ""); ok {
			keep.add(ref.api, id)
		}
	}
	p.release(pl, want, keep)
	return p
}

// wantRoutes returns the desired routes that exist, in file order, each
// with the integration URI it needs, and adds their grants to pl's. A
// route in conflict is planned as such and is not wanted: it is returned
// in held, with the URI it would need, and its grants are held.
func (p *routePlan) wantRoutes(pl *planning) (want map[routeRef]string, order []routeRef, held map[routeRef]string) {
	fn, g := pl.fn, pl.grants
	arn := functionARN(fn)
	desc := wiring.IntegrationDescription(fn.QualifiedARN())
	want, held = map[routeRef]string{}, map[routeRef]string{}
	seen := map[routeRef]bool{}
	for _, src := range pl.desired {
		ref := routeRef{src.ApiId, src.RouteId}
		if src.Service != definition.ServiceAPIGateway || seen[ref] {
			continue
		}
		api := pl.obs.APIs[src.ApiId]
		route, ok := findRoute(api.Routes, src.RouteId)
		if !ok {
			continue
		}
		seen[ref] = true
		uri, grant := IntegrationURI(fn, src.AliasStageVariableName), g.add
		if c, ok := routeConflict(api, src.ApiId, route, desc); ok && !pl.rules.AllowTakeover {
			grant, held[ref] = g.hold, uri
			p.conflicts = append(p.conflicts, c)
		} else {
			want[ref] = uri
			order = append(order, ref)
		}
		if src.AliasStageVariableName == "" {
			grant(wiring.Statement{Principal: definition.ServiceAPIGateway, SourceArn: executeAPI(arn, src.ApiId, "*", route.Key), Qualifier: fn.Qualifier})
			continue
		}
		for _, s := range stageAliasGrants(arn, src, route.Key, api.Stages) {
			grant(s)
		}
	}
	return want, order, held
}

// routeConflict returns the conflict of a route that points at an
// integration that eventwire did not create for the function reference
// whose integrations carry desc; ok is false for a route without a
// target, pointed at one of those, or at an integration that does not
// exist (nobody holds it).
func routeConflict(api wiring.API, apiID string, route wiring.Route, desc string) (a plan.Action, ok bool) {
	in, exists := findIntegration(api, route.Target)
	if !exists || in.Description == desc {
		return plan.Action{}, false
	}
	holder := route.Target + " to " + plan.Show(plan.Optional(in.URI))
	return plan.Action{
		Kind: plan.Conflict, Resource: plan.ResourceRoute, ID: routeID(apiID, route), Owner: holder,
		Reason: "points at " + holder + ", which eventwire did not create for this function: not taken over",
	}, true
}

// stageAliasGrants are the grants of src's route (its key routeKey), whose
// integration is qualified by the stage variable src names: from each of
// the API's stages, API Gateway invokes the alias (or version) that the
// stage's variable names, so each stage that sets the variable gets a
// grant scoped to that stage, on that alias. A stage that does not set it
// gets none.
func stageAliasGrants(arn funcref.Ref, src definition.PushSource, routeKey string, stages []wiring.Stage) []wiring.Statement {
	var grants []wiring.Statement
	for _, st := range stages {
		if alias := st.Variables[src.AliasStageVariableName]; alias != "" {
			grants = append(grants, wiring.Statement{
				Principal: definition.ServiceAPIGateway, SourceArn: executeAPI(arn, src.ApiId, st.Name, routeKey), Qualifier: alias,
			})
		}
	}
	return grants
}

// attach plans, for each wanted route in order, the managed integration it
// needs (created once per API and URI when there is none) and pointing the
// route at it. It returns the integrations that stay.
func (p *routePlan) attach(obs wiring.Push, want map[routeRef]string, order []routeRef, desc string) keepSet {
	keep := keepSet{}
	planned := map[string]bool{}
	for _, ref := range order {
		api := obs.APIs[ref.api]
		route, _ := findRoute(api.Routes, ref.route)
		uri := want[ref]
		id, exists := goodIntegration(api, desc, uri, route.Target)
		target := "integrations/" + id
		if exists {
			keep.add(ref.api, id)
			if route.Target == target {
				continue
			}
		} else {
			target = "integration to " + uri
			if k := ref.api + "\x00" + uri; !planned[k] {
				planned[k] = true
				p.integrations = append(p.integrations, plan.Action{
					Kind: plan.Create, Resource: plan.ResourceIntegration, ID: ref.api + " " + uri,
					Reason: fmt.Sprintf("%s, payload format %s", wiring.IntegrationType, wiring.PayloadFormatVersion),
					Op:     integrationOp{ApiID: ref.api, URI: uri, Description: desc},
				})
			}
		}
		op := attachOp{ApiID: ref.api, RouteID: route.ID, URI: uri, Description: desc}
		p.attaches = append(p.attaches, attachRoute(api, route, op, target))
	}
	return keep
}

// attachRoute plans op, pointing route (of api) at target, the
// integration to op.URI.
func attachRoute(api wiring.API, route wiring.Route, op attachOp, target string) plan.Action {
	a := plan.Action{
		Resource: plan.ResourceRoute, ID: routeID(op.ApiID, route),
		Changes: []plan.Change{plan.Diff("Target", plan.Optional(route.Target), target)},
		Op:      op,
	}
	in, exists := findIntegration(api, route.Target)
	switch {
	case route.Target == "":
		a.Kind = plan.Create
		a.Reason = "attach"
	case !exists:
		a.Kind = plan.Create
		a.Reason = "attach: its target " + route.Target + " does not exist"
	case in.Description == op.Description:
		a.Kind = plan.Update
	default:
		a.Kind = plan.Replace
		a.Owner = route.Target + " to " + plan.Show(plan.Optional(in.URI))
		a.Reason = "takes over from " + a.Owner + ", not eventwire's integration for this function"
	}
	return a
}

// release plans, in each API observed, what eventwire wired for fn that
// the file no longer declares (not in want): the routes pointed at fn's
// integrations are detached (or left alone when eventwire never granted
// them: someone else pointed them there), and fn's integrations that
// nothing keeps are deleted. A route counts as eventwire's when one of
// its statements for fn grants it, or when the claims name it.
func (p *routePlan) release(pl *planning, want map[routeRef]string, keep keepSet) {
	arn := functionARN(pl.fn)
	desc := wiring.IntegrationDescription(pl.fn.QualifiedARN())
	for _, apiID := range slices.Sorted(maps.Keys(pl.obs.APIs)) {
		api := pl.obs.APIs[apiID]
		if api.Missing {
			continue
		}
		for _, r := range api.Routes {
			if _, wanted := want[routeRef{apiID, r.ID}]; wanted || !isManaged(api, r.Target, desc) {
				continue
			}
			if !granted(arn, apiID, r.Key, pl.grants.ours) && !pl.claims.routes[routeRef{apiID, r.ID}] {
				// Not declared, and eventwire never granted this route: it
				// was pointed at eventwire's integration by someone else.
				// Neither the route nor the integration it uses is touched.
				id, _ := strings.CutPrefix(r.Target, "integrations/")
				keep.add(apiID, id)
				p.left = append(p.left, plan.Action{
					Kind: plan.LeaveAlone, Resource: plan.ResourceRoute, ID: routeID(apiID, r),
					Reason: "not declared, and not wired by eventwire: keeps " + r.Target,
				})
				continue
			}
			p.detaches = append(p.detaches, plan.Action{
				Kind: plan.Update, Resource: plan.ResourceRoute, ID: routeID(apiID, r),
				Reason:  "no longer declared: detach",
				Changes: []plan.Change{plan.Diff("Target", r.Target, nil)},
				Op:      detachOp{ApiID: apiID, RouteID: r.ID, Target: r.Target},
			})
		}
		for _, in := range api.Integrations {
			if in.Description != desc || keep[apiID][in.ID] {
				continue
			}
			p.deletes = append(p.deletes, plan.Action{
				Kind: plan.Delete, Resource: plan.ResourceIntegration, ID: apiID + " " + in.ID,
				Reason: "no declared route uses it: " + in.URI,
				Op:     deleteIntegrationOp{ApiID: apiID, IntegrationID: in.ID},
			})
		}
	}
}

// granted reports whether one of eventwire's statements for fn (ours)
// grants API Gateway the route key of the API, in every stage or in one:
// the mark of a route that eventwire wired.
func granted(arn funcref.Ref, apiID, routeKey string, ours []wiring.Statement) bool {
	for _, s := range ours {
		id, stage := executeAPIParts(s.SourceArn)
		if s.Principal != definition.ServiceAPIGateway || id != apiID {
			continue
		}
		if stage != "" && s.SourceArn == executeAPI(arn, apiID, stage, routeKey) {
			return true
		}
	}
	return false
}

// goodIntegration returns the id of fn's managed integration to uri in api
// with the right type and payload format, preferring the route's current
// target.
func goodIntegration(api wiring.API, desc, uri, current string) (string, bool) {
	id, found := "", false
	for _, in := range api.Integrations {
		if in.Serves(desc, uri) {
			if "integrations/"+in.ID == current {
				return in.ID, true
			}
			if !found {
				id, found = in.ID, true
			}
		}
	}
	return id, found
}

// isManaged reports whether target ("integrations/ID") is one of fn's
// managed integrations in api.
func isManaged(api wiring.API, target, desc string) bool {
	in, ok := findIntegration(api, target)
	return ok && in.Description == desc
}

// findIntegration returns the integration that target ("integrations/ID")
// names in api; ok is false when there is none.
func findIntegration(api wiring.API, target string) (wiring.Integration, bool) {
	id, ok := strings.CutPrefix(target, "integrations/")
	if !ok {
		return wiring.Integration{}, false
	}
	for _, in := range api.Integrations {
		if in.ID == id {
			return in, true
		}
	}
	return wiring.Integration{}, false
}

func findRoute(routes []wiring.Route, id string) (wiring.Route, bool) {
	for _, r := range routes {
		if r.ID == id {
			return r, true
		}
	}
	return wiring.Route{}, false
}

func routeID(apiID string, r wiring.Route) string {
	return fmt.Sprintf("%s/%s (%s)", apiID, r.ID, r.Key)
}
