package push

import (
	"cmp"
	"maps"
	"slices"
	"strings"

	"github.com/eventwire/eventwire/internal/definition"
	"github.com/eventwire/eventwire/internal/plan"
	"github.com/eventwire/eventwire/internal/wiring"
)

type stmtKey struct{ sid, qualifier string }

func key(s wiring.Statement) stmtKey { return stmtKey{s.Sid, s.Qualifier} }

// grantSet is the state of fn's policies that the planning steps share:
// the statements AWS has, those of them eventwire granted for fn, and the
// statements the file wants, which planTargets and planRoutes add and
// planGrants turns into grants and revocations.
type grantSet struct {
	fn   plan.Function
	have map[stmtKey]wiring.Statement
	ours []wiring.Statement // sorted
	want map[stmtKey]wiring.Statement
	// held are the statements of sources in conflict: not granted, and
	// not revoked either.
	held map[stmtKey]wiring.Statement
}

func newGrantSet(fn plan.Function, statements []wiring.Statement) *grantSet {
	g := &grantSet{fn: fn, have: map[stmtKey]wiring.Statement{}, want: map[stmtKey]wiring.Statement{},
		held: map[stmtKey]wiring.Statement{}}
	for _, s := range statements {
		if _, dup := g.have[key(s)]; dup {
			continue
		}
		g.have[key(s)] = s
		if owns(fn, s) {
			g.ours = append(g.ours, s)
		}
	}
	sortStatements(g.ours)
	return g
}

// add wants s, with the id eventwire gives it for fn.
func (g *grantSet) add(s wiring.Statement) {
	s.Sid = statementID(g.fn, s)
	g.want[key(s)] = s
}

// hold keeps s, with the id eventwire gives it for fn, as it is: the
// source is in conflict, so it gets no grant, and one that eventwire made
// before is not revoked (nothing changes for that source).
func (g *grantSet) hold(s wiring.Statement) {
	s.Sid = statementID(g.fn, s)
	g.held[key(s)] = s
}

// planGrants plans the statements: a grant for each wanted statement AWS
// lacks, and a revocation for each of eventwire's that is no longer
// wanted.
func planGrants(fn plan.Function, obs wiring.Push, g *grantSet) (grants, revokes []plan.Action) {
	wanted := slices.Collect(maps.Values(g.want))
	sortStatements(wanted)
	grants = permissionActions(plan.Create, wanted, g.have, func(s wiring.Statement) any { return grantOp{Statement: s} })
	revocable := append(slices.Clone(g.ours), takenOver(fn, obs.Statements, g.want)...)
	sortStatements(revocable)
	kept := maps.Clone(g.want)
	maps.Copy(kept, g.held)
	revokes = permissionActions(plan.Delete, revocable, kept, func(s wiring.Statement) any { return revokeOp{Statement: s} })
	return grants, revokes
}

// permissionActions plans kind, with the operation op gives, for each
// statement of sts that is not in skip.
func permissionActions(kind plan.Kind, sts []wiring.Statement, skip map[stmtKey]wiring.Statement, op func(wiring.Statement) any) []plan.Action {
	var actions []plan.Action
	for _, s := range sts {
		if _, ok := skip[key(s)]; ok {
			continue
		}
		actions = append(actions, plan.Action{
			Kind: kind, Resource: plan.ResourcePermission, ID: stmtID(s),
			Reason: describeStmt(s), Op: op(s),
		})
	}
	return actions
}

// takenOver returns the grants from a wanted source that eventwire made
// for another qualifier of the function. When the file now wires that
// source (a target group or route holds one target, and this file takes
// it over), they are revoked too: that qualifier can no longer be invoked
// from there. Grants scoped to a stage are not taken over: their owner is
// not known.
func takenOver(fn plan.Function, statements []wiring.Statement, want map[stmtKey]wiring.Statement) []wiring.Statement {
	wantSource := map[[2]string]bool{}
	for _, s := range want {
		wantSource[[2]string{s.Principal, s.SourceArn}] = true
	}
	var out []wiring.Statement
	for _, s := range statements {
		if s.Qualifier != fn.Qualifier && !stageScoped(s) && wantSource[[2]string{s.Principal, s.SourceArn}] &&
			wiring.IsStatementID(s.Sid, s.Principal, s.SourceArn, s.Qualifier) {
			out = append(out, s)
		}
	}
	return out
}

// grantQualifier is what the id of statement s hashes as its qualifier
// when eventwire grants s for fn. A grant on fn's own qualifier (ELB, or a
// route without a stage variable) hashes its own qualifier. A grant scoped
// to one stage (a route with a stage variable) sits on whatever alias the
// stage names, which may be another reference's qualifier: for a
// qualified fn it also hashes fn's qualifier, so that the owner of such a
// statement can be told from its id alone.
func grantQualifier(fn plan.Function, s wiring.Statement) string {
	q := s.Qualifier
	if stageScoped(s) && fn.Qualifier != "" {
		q += "\x00for:" + fn.Qualifier
	}
	return q
}

// statementID is the id eventwire gives statement s when it grants it for
// fn.
func statementID(fn plan.Function, s wiring.Statement) string {
	return wiring.StatementID(s.Principal, s.SourceArn, grantQualifier(fn, s))
}

// owns reports whether s is a statement that eventwire granted for fn
// (and not for another reference to the same function, such as another
// alias, whose file owns it): the id that fn's grant of exactly this
// would have, and on fn's own qualifier unless scoped to a stage.
func owns(fn plan.Function, s wiring.Statement) bool {
	return wiring.IsStatementID(s.Sid, s.Principal, s.SourceArn, grantQualifier(fn, s)) &&
		(s.Qualifier == fn.Qualifier || stageScoped(s))
}

// stageScoped reports whether s is an API Gateway grant scoped to one
// stage, as eventwire grants for a route with a stage variable (other
// routes' grants are for every stage, "*").
func stageScoped(s wiring.Statement) bool {
	if s.Principal != definition.ServiceAPIGateway {
		return false
	}
	_, stage := executeAPIParts(s.SourceArn)
	return stage != "" && stage != "*"
}

func stmtID(s wiring.Statement) string {
	if s.Qualifier == "" {
		return s.Sid
	}
	return s.Sid + " on " + s.Qualifier
}

func describeStmt(s wiring.Statement) string {
	if s.SourceArn == "" {
		return s.Principal
	}
	return s.Principal + " from " + s.SourceArn
}

func sortStatements(sts []wiring.Statement) {
	slices.SortFunc(sts, func(a, b wiring.Statement) int {
		return cmp.Or(strings.Compare(a.Qualifier, b.Qualifier), strings.Compare(a.Principal, b.Principal),
			strings.Compare(a.SourceArn, b.SourceArn), strings.Compare(a.Sid, b.Sid))
	})
}
