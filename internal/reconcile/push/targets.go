package push

import (
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/eventwire/eventwire/internal/definition"
	"github.com/eventwire/eventwire/internal/plan"
	"github.com/eventwire/eventwire/internal/wiring"
)

// planTargets plans the Elastic Load Balancing target groups: fn (at its
// qualifier) registered in each target group the file names, as the only
// target, with a grant to Elastic Load Balancing; and deregistered from
// the target groups that eventwire's statements or the claims name and
// the file no longer does. A target group that holds another target is a
// conflict (no grant, no registration) unless the rules allow a takeover.
func planTargets(pl *planning) (registers, deregisters []plan.Action) {
	fn, obs, g := pl.fn, pl.obs, pl.grants
	wantTG := map[string]bool{}
	for _, src := range pl.desired {
		if src.Service != definition.ServiceELB || wantTG[src.TargetGroupArn] {
			continue
		}
		tgArn := src.TargetGroupArn
		wantTG[tgArn] = true
		a, ok := register(tgArn, fn.QualifiedARN(), obs.TargetGroups[tgArn].Targets, pl.rules)
		grant := wiring.Statement{Principal: definition.ServiceELB, SourceArn: tgArn, Qualifier: fn.Qualifier}
		if ok && a.Kind == plan.Conflict {
			g.hold(grant)
		} else {
			g.add(grant)
		}
		if ok {
			registers = append(registers, a)
		}
	}
	// Where eventwire registered fn: the target groups of its statements,
	// then those the last file declared.
	type registration struct{ tg, target string }
	var ours []registration
	for _, s := range g.ours {
		if s.Principal == definition.ServiceELB {
			ours = append(ours, registration{s.SourceArn, fn.At(s.Qualifier)})
		}
	}
	for _, tg := range slices.Sorted(maps.Keys(pl.claims.targetGroups)) {
		ours = append(ours, registration{tg, fn.QualifiedARN()})
	}
	seen := map[registration]bool{}
	for _, r := range ours {
		tg := obs.TargetGroups[r.tg]
		if wantTG[r.tg] || tg.Missing || !slices.Contains(tg.Targets, r.target) || seen[r] {
			continue
		}
		seen[r] = true
		deregisters = append(deregisters, plan.Action{
			Kind: plan.Delete, Resource: plan.ResourceTarget, ID: r.tg,
			Reason: "no longer declared: deregister " + r.target,
			Op:     deregisterOp{TargetGroupArn: r.tg, Target: r.target},
		})
	}
	return registers, deregisters
}

// register plans target as the one target of the target group tgArn,
// which holds targets now; ok is false when it already is. Any other
// target is one that eventwire did not register for this function
// reference (another function, or another qualifier of this one, whose
// file owns it): a conflict, or with rules.AllowTakeover a replace.
func register(tgArn, target string, targets []string, rules Rules) (a plan.Action, ok bool) {
	registered := false
	var others []string
	for _, t := range targets {
		if t == target {
			registered = true
		} else {
			others = append(others, t)
		}
	}
	sort.Strings(others)
	held := strings.Join(others, ", ")
	switch {
	case len(others) > 0 && !rules.AllowTakeover:
		return plan.Action{
			Kind: plan.Conflict, Resource: plan.ResourceTarget, ID: tgArn, Owner: held,
			Reason: "serves " + held + ", which eventwire did not register for this function: not taken over",
		}, true
	case len(others) > 0:
		op := registerOp{TargetGroupArn: tgArn, Deregister: others}
		if !registered {
			op.Register = target
		}
		return plan.Action{
			Kind: plan.Replace, Resource: plan.ResourceTarget, ID: tgArn, Owner: held,
			Reason:  "a Lambda target group holds one target: takes over from " + held,
			Changes: []plan.Change{plan.Diff("Target", held, target)},
			Op:      op,
		}, true
	case !registered:
		return plan.Action{
			Kind: plan.Create, Resource: plan.ResourceTarget, ID: tgArn,
			Reason: "register " + target,
			Op:     registerOp{TargetGroupArn: tgArn, Register: target},
		}, true
	}
	return plan.Action{}, false
}
