// Package push plans and applies a function's push event sources: Elastic
// Load Balancing target groups and API Gateway HTTP API routes, and the
// resource-policy statements that let those services invoke the function.
//
// Plan is pure: it computes the actions from the file (desired) and from
// Observed, plain data that the Reconciler reads from AWS. What eventwire
// manages is found from AWS alone: its statements (ids starting with
// plan.StatementPrefix, and equal to the id eventwire gives that grant for
// this function reference) name the target groups and APIs it wired, and
// the integrations it creates carry a description that names the function
// reference.
package push

import (
	"fmt"
	"sort"
	"strings"

	"github.com/eventwire/eventwire/internal/definition"
	"github.com/eventwire/eventwire/internal/plan"
)

// Observed is what AWS has that concerns the push sources of one function.
type Observed struct {
	// Statements are the statements of the function's resource-based
	// policies: the unqualified function's, and those of its qualifier and
	// aliases. Statements eventwire did not make are never changed.
	Statements []Statement `json:"Statements,omitempty"`
	// Aliases are the names of the function's aliases.
	Aliases []string `json:"Aliases,omitempty"`
	// TargetGroups holds, by ARN, the target groups that the file names and
	// those that eventwire's statements name.
	TargetGroups map[string]TargetGroup `json:"TargetGroups,omitempty"`
	// APIs holds, by API id, the HTTP APIs that the file names and those
	// that eventwire's statements name.
	APIs map[string]API `json:"APIs,omitempty"`
}

// Statement is one resource-policy statement.
type Statement struct {
	Sid string `json:"Sid"`
	// Qualifier is the alias or version whose policy holds the statement,
	// "" for the unqualified function.
	Qualifier string `json:"Qualifier,omitempty"`
	Principal string `json:"Principal"`
	SourceArn string `json:"SourceArn,omitempty"`
}

// TargetGroup is a target group and the ids of its registered targets.
type TargetGroup struct {
	// Missing is true when the target group does not exist.
	Missing bool     `json:"Missing,omitempty"`
	Targets []string `json:"Targets,omitempty"`
}

// API is an HTTP API: its routes, integrations and stages.
type API struct {
	// Missing is true when the API does not exist.
	Missing      bool          `json:"Missing,omitempty"`
	Routes       []Route       `json:"Routes,omitempty"`
	Integrations []Integration `json:"Integrations,omitempty"`
	Stages       []Stage       `json:"Stages,omitempty"`
}

// Route is an HTTP API route.
type Route struct {
	ID     string `json:"ID"`
	Key    string `json:"Key"`
	Target string `json:"Target,omitempty"`
}

// Integration is an HTTP API integration.
type Integration struct {
	ID                   string `json:"ID"`
	Type                 string `json:"Type"`
	URI                  string `json:"URI,omitempty"`
	PayloadFormatVersion string `json:"PayloadFormatVersion,omitempty"`
	Description          string `json:"Description,omitempty"`
}

// Stage is an HTTP API stage and its stage variables.
type Stage struct {
	Name      string            `json:"Name"`
	Variables map[string]string `json:"Variables,omitempty"`
}

// ManagedPrefix starts the description of every integration eventwire
// creates (the same mark as apigwsvc.ManagedPrefix, which refuses to delete
// integrations without it).
const ManagedPrefix = "managed by eventwire"

// IntegrationDescription is the description eventwire gives the
// integrations it creates for fn: it marks them as eventwire's and names
// the function reference they belong to, qualifier included, so that the
// files of two qualifiers of one function (orders:live, orders:canary)
// never take each other's integrations for their own.
func IntegrationDescription(fn plan.Function) string {
	return ManagedPrefix + " for " + fn.QualifiedARN()
}

// The integration eventwire creates: Lambda proxy, payload format 2.0.
const (
	integrationType      = "AWS_PROXY"
	payloadFormatVersion = "2.0"
)

// Ops: what Execute needs to carry out each kind of action.
type (
	// grantOp adds a statement.
	grantOp struct{ Statement Statement }
	// revokeOp removes a statement.
	revokeOp struct{ Statement Statement }
	// registerOp deregisters other targets, then registers Register (if
	// not empty) in the target group.
	registerOp struct {
		TargetGroupArn string
		Deregister     []string
		Register       string
	}
	// deregisterOp deregisters Target from the target group.
	deregisterOp struct {
		TargetGroupArn string
		Target         string
	}
	// integrationOp makes sure that a managed integration to URI exists.
	integrationOp struct {
		ApiID, URI, Description string
	}
	// attachOp points a route at the managed integration to URI, creating
	// the integration if it is missing.
	attachOp struct {
		ApiID, RouteID, URI, Description string
	}
	// detachOp clears a route's target.
	detachOp struct {
		ApiID, RouteID, Target string
	}
	// deleteIntegrationOp deletes a managed integration.
	deleteIntegrationOp struct {
		ApiID, IntegrationID string
	}
)

type stmtKey struct{ sid, qualifier string }

func key(s Statement) stmtKey { return stmtKey{s.Sid, s.Qualifier} }

// statementID is the id eventwire gives statement s when it grants it for
// fn. A grant on fn's own qualifier (ELB, or a route without a stage
// variable) has plan.StatementID's id. A grant scoped to one stage (a
// route with a stage variable) sits on whatever alias the stage names,
// which may be another reference's qualifier: for a qualified fn its id
// also hashes fn's qualifier, so that the owner of such a statement can be
// told from its id alone.
func statementID(fn plan.Function, s Statement) string {
	q := s.Qualifier
	if stageScoped(s) && fn.Qualifier != "" {
		q += "\x00for:" + fn.Qualifier
	}
	return plan.StatementID(s.Principal, s.SourceArn, q)
}

// owns reports whether s is a statement that eventwire granted for fn
// (and not for another reference to the same function, such as another
// alias, whose file owns it): eventwire's prefix, the id that fn's grant
// of exactly this would have, and on fn's own qualifier unless scoped to
// a stage.
func owns(fn plan.Function, s Statement) bool {
	return strings.HasPrefix(s.Sid, plan.StatementPrefix) && s.Sid == statementID(fn, s) &&
		(s.Qualifier == fn.Qualifier || stageScoped(s))
}

// stageScoped reports whether s is an API Gateway grant scoped to one
// stage, as eventwire grants for a route with a stage variable (other
// routes' grants are for every stage, "*").
func stageScoped(s Statement) bool {
	if s.Principal != definition.ServiceAPIGateway {
		return false
	}
	p := strings.SplitN(s.SourceArn, ":", 6)
	if len(p) < 6 {
		return false
	}
	parts := strings.SplitN(p[5], "/", 3)
	return len(parts) >= 2 && parts[1] != "*"
}

// Plan returns the actions that make AWS match desired for fn, in the
// order they must run: grants, then target registrations, integrations
// and route attachments; then route detachments, target deregistrations,
// integration deletions, and last the revocations; then, as information,
// the routes left alone (pointed at fn's integration by someone else). A
// nil desired plans the removal of everything eventwire manages for fn.
//
// Plan expects every target group, API and route that desired names to be
// in obs (the Reconciler refuses a file naming missing ones); a desired
// route missing from obs is skipped.
func Plan(fn plan.Function, desired []definition.PushSource, obs Observed) []plan.Action {
	arn := parseLambdaARN(fn.ARN)
	want := map[stmtKey]Statement{}
	addWant := func(s Statement) {
		s.Sid = statementID(fn, s)
		want[key(s)] = s
	}
	have := map[stmtKey]Statement{}
	var ours []Statement
	for _, s := range obs.Statements {
		if _, dup := have[key(s)]; dup {
			continue
		}
		have[key(s)] = s
		if owns(fn, s) {
			ours = append(ours, s)
		}
	}
	sort.Slice(ours, func(i, j int) bool { return lessStmt(ours[i], ours[j]) })

	var registers, integrations, attaches, detaches, deregisters, deletes, left []plan.Action

	// Elastic Load Balancing.
	wantTG := map[string]bool{}
	for _, src := range desired {
		if src.Service != definition.ServiceELB || wantTG[src.TargetGroupArn] {
			continue
		}
		tgArn := src.TargetGroupArn
		wantTG[tgArn] = true
		addWant(Statement{Principal: definition.ServiceELB, SourceArn: tgArn, Qualifier: fn.Qualifier})
		target := fn.QualifiedARN()
		registered := false
		var others []string
		for _, t := range obs.TargetGroups[tgArn].Targets {
			if t == target {
				registered = true
			} else {
				others = append(others, t)
			}
		}
		sort.Strings(others)
		switch {
		case len(others) > 0:
			op := registerOp{TargetGroupArn: tgArn, Deregister: others}
			if !registered {
				op.Register = target
			}
			registers = append(registers, plan.Action{
				Kind: plan.Replace, Resource: plan.ResourceTarget, ID: tgArn,
				Reason:  "a Lambda target group holds one target: replaces " + strings.Join(others, ", "),
				Changes: []plan.Change{{Field: "Target", From: strings.Join(others, ", "), To: target}},
				Op:      op,
			})
		case !registered:
			registers = append(registers, plan.Action{
				Kind: plan.Create, Resource: plan.ResourceTarget, ID: tgArn,
				Reason: "register " + target,
				Op:     registerOp{TargetGroupArn: tgArn, Register: target},
			})
		}
	}
	seenDereg := map[string]bool{}
	for _, s := range ours {
		if s.Principal != definition.ServiceELB || wantTG[s.SourceArn] {
			continue
		}
		target := qualify(fn.ARN, s.Qualifier)
		tg := obs.TargetGroups[s.SourceArn]
		if tg.Missing || !contains(tg.Targets, target) || seenDereg[s.SourceArn+"\x00"+target] {
			continue
		}
		seenDereg[s.SourceArn+"\x00"+target] = true
		deregisters = append(deregisters, plan.Action{
			Kind: plan.Delete, Resource: plan.ResourceTarget, ID: s.SourceArn,
			Reason: "no longer declared: deregister " + target,
			Op:     deregisterOp{TargetGroupArn: s.SourceArn, Target: target},
		})
	}

	// API Gateway.
	desc := IntegrationDescription(fn)
	type routeRef struct{ api, route string }
	wantRoute := map[routeRef]string{} // desired route -> integration URI
	var routeOrder []routeRef
	for _, src := range desired {
		if src.Service != definition.ServiceAPIGateway {
			continue
		}
		ref := routeRef{src.ApiId, src.RouteId}
		if _, dup := wantRoute[ref]; dup {
			continue
		}
		api := obs.APIs[src.ApiId]
		route, ok := findRoute(api.Routes, src.RouteId)
		if !ok {
			continue
		}
		uri := IntegrationURI(fn, src.AliasStageVariableName)
		wantRoute[ref] = uri
		routeOrder = append(routeOrder, ref)
		if src.AliasStageVariableName == "" {
			addWant(Statement{Principal: definition.ServiceAPIGateway, SourceArn: arn.executeAPI(src.ApiId, "*", route.Key), Qualifier: fn.Qualifier})
			continue
		}
		for _, st := range api.Stages {
			if alias := st.Variables[src.AliasStageVariableName]; alias != "" {
				addWant(Statement{Principal: definition.ServiceAPIGateway, SourceArn: arn.executeAPI(src.ApiId, st.Name, route.Key), Qualifier: alias})
			}
		}
	}
	// The integrations that stay: per API, the good managed integration
	// for each URI that a desired route needs.
	keep := map[string]map[string]bool{} // api -> integration id
	plannedIntegration := map[string]bool{}
	for _, ref := range routeOrder {
		api := obs.APIs[ref.api]
		route, _ := findRoute(api.Routes, ref.route)
		uri := wantRoute[ref]
		id, exists := goodIntegration(api, desc, uri, route.Target)
		if keep[ref.api] == nil {
			keep[ref.api] = map[string]bool{}
		}
		target := "integrations/" + id
		if exists {
			keep[ref.api][id] = true
			if route.Target == target {
				continue
			}
		} else {
			target = "integration to " + uri
			if k := ref.api + "\x00" + uri; !plannedIntegration[k] {
				plannedIntegration[k] = true
				integrations = append(integrations, plan.Action{
					Kind: plan.Create, Resource: plan.ResourceIntegration, ID: ref.api + " " + uri,
					Reason: fmt.Sprintf("%s, payload format %s", integrationType, payloadFormatVersion),
					Op:     integrationOp{ApiID: ref.api, URI: uri, Description: desc},
				})
			}
		}
		a := plan.Action{
			Resource: plan.ResourceRoute, ID: routeID(ref.api, route),
			Changes: []plan.Change{{Field: "Target", From: orNone(route.Target), To: target}},
			Op:      attachOp{ApiID: ref.api, RouteID: route.ID, URI: uri, Description: desc},
		}
		switch {
		case route.Target == "":
			a.Kind = plan.Create
			a.Reason = "attach"
		case isManaged(api, route.Target, desc):
			a.Kind = plan.Update
		default:
			a.Kind = plan.Replace
			a.Reason = "replaces " + route.Target + ", not eventwire's integration for this function"
		}
		attaches = append(attaches, a)
	}
	apiIDs := make([]string, 0, len(obs.APIs))
	for id := range obs.APIs {
		apiIDs = append(apiIDs, id)
	}
	sort.Strings(apiIDs)
	for _, apiID := range apiIDs {
		api := obs.APIs[apiID]
		if api.Missing {
			continue
		}
		for _, r := range api.Routes {
			if _, wanted := wantRoute[routeRef{apiID, r.ID}]; wanted || !isManaged(api, r.Target, desc) {
				continue
			}
			if !granted(arn, apiID, r.Key, ours) {
				// Not declared, and eventwire never granted this route: it
				// was pointed at eventwire's integration by someone else.
				// Neither the route nor the integration it uses is touched.
				id, _ := strings.CutPrefix(r.Target, "integrations/")
				if keep[apiID] == nil {
					keep[apiID] = map[string]bool{}
				}
				keep[apiID][id] = true
				left = append(left, plan.Action{
					Kind: plan.LeaveAlone, Resource: plan.ResourceRoute, ID: routeID(apiID, r),
					Reason: "not declared, and not wired by eventwire: keeps " + r.Target,
				})
				continue
			}
			detaches = append(detaches, plan.Action{
				Kind: plan.Update, Resource: plan.ResourceRoute, ID: routeID(apiID, r),
				Reason:  "no longer declared: detach",
				Changes: []plan.Change{{Field: "Target", From: r.Target, To: "(none)"}},
				Op:      detachOp{ApiID: apiID, RouteID: r.ID, Target: r.Target},
			})
		}
		for _, in := range api.Integrations {
			if in.Description != desc || keep[apiID][in.ID] {
				continue
			}
			deletes = append(deletes, plan.Action{
				Kind: plan.Delete, Resource: plan.ResourceIntegration, ID: apiID + " " + in.ID,
				Reason: "no declared route uses it: " + in.URI,
				Op:     deleteIntegrationOp{ApiID: apiID, IntegrationID: in.ID},
			})
		}
	}

	// Permissions.
	var grants, revokes []plan.Action
	wanted := make([]Statement, 0, len(want))
	for _, s := range want {
		wanted = append(wanted, s)
	}
	sort.Slice(wanted, func(i, j int) bool { return lessStmt(wanted[i], wanted[j]) })
	for _, s := range wanted {
		if _, ok := have[key(s)]; ok {
			continue
		}
		grants = append(grants, plan.Action{
			Kind: plan.Create, Resource: plan.ResourcePermission, ID: stmtID(s),
			Reason: describeStmt(s), Op: grantOp{Statement: s},
		})
	}
	// A grant from the same source that eventwire made for another
	// qualifier of the function, when the file now wires that source (a
	// target group or route holds one target, and this file takes it
	// over), is revoked too: that qualifier can no longer be invoked from
	// there. Grants scoped to a stage are not taken over: their owner is
	// not known.
	wantSource := map[[2]string]bool{}
	for _, s := range want {
		wantSource[[2]string{s.Principal, s.SourceArn}] = true
	}
	revocable := ours
	for _, s := range obs.Statements {
		if s.Qualifier != fn.Qualifier && !stageScoped(s) && wantSource[[2]string{s.Principal, s.SourceArn}] &&
			strings.HasPrefix(s.Sid, plan.StatementPrefix) && s.Sid == plan.StatementID(s.Principal, s.SourceArn, s.Qualifier) {
			revocable = append(revocable, s)
		}
	}
	sort.Slice(revocable, func(i, j int) bool { return lessStmt(revocable[i], revocable[j]) })
	for _, s := range revocable {
		if _, ok := want[key(s)]; ok {
			continue
		}
		revokes = append(revokes, plan.Action{
			Kind: plan.Delete, Resource: plan.ResourcePermission, ID: stmtID(s),
			Reason: describeStmt(s), Op: revokeOp{Statement: s},
		})
	}

	var actions []plan.Action
	for _, group := range [][]plan.Action{grants, registers, integrations, attaches, detaches, deregisters, deletes, revokes, left} {
		actions = append(actions, group...)
	}
	return actions
}

// IntegrationURI is the integration URI of a route to fn: the function's
// ARN (qualified if the reference is), or, with a stage variable, the
// unqualified ARN qualified by ${stageVariables.VAR}.
func IntegrationURI(fn plan.Function, stageVariable string) string {
	if stageVariable == "" {
		return fn.QualifiedARN()
	}
	return fn.ARN + ":${stageVariables." + stageVariable + "}"
}

// granted reports whether one of eventwire's statements for fn (ours)
// grants API Gateway the route key of the API, in every stage or in one:
// the mark of a route that eventwire wired.
func granted(arn lambdaARN, apiID, routeKey string, ours []Statement) bool {
	for _, s := range ours {
		if s.Principal != definition.ServiceAPIGateway || apiIDOf(s.SourceArn) != apiID {
			continue
		}
		p := strings.SplitN(s.SourceArn, ":", 6)
		parts := strings.SplitN(p[5], "/", 3)
		if len(parts) >= 2 && s.SourceArn == arn.executeAPI(apiID, parts[1], routeKey) {
			return true
		}
	}
	return false
}

// goodIntegration returns the id of fn's managed integration to uri in api
// with the right type and payload format, preferring the route's current
// target.
func goodIntegration(api API, desc, uri, current string) (string, bool) {
	id, found := "", false
	for _, in := range api.Integrations {
		if in.Description == desc && in.URI == uri && in.Type == integrationType && in.PayloadFormatVersion == payloadFormatVersion {
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
func isManaged(api API, target, desc string) bool {
	id, ok := strings.CutPrefix(target, "integrations/")
	if !ok {
		return false
	}
	for _, in := range api.Integrations {
		if in.ID == id {
			return in.Description == desc
		}
	}
	return false
}

func findRoute(routes []Route, id string) (Route, bool) {
	for _, r := range routes {
		if r.ID == id {
			return r, true
		}
	}
	return Route{}, false
}

func routeID(apiID string, r Route) string { return fmt.Sprintf("%s/%s (%s)", apiID, r.ID, r.Key) }

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func stmtID(s Statement) string {
	if s.Qualifier == "" {
		return s.Sid
	}
	return s.Sid + " on " + s.Qualifier
}

func describeStmt(s Statement) string {
	if s.SourceArn == "" {
		return s.Principal
	}
	return s.Principal + " from " + s.SourceArn
}

func lessStmt(a, b Statement) bool {
	if a.Qualifier != b.Qualifier {
		return a.Qualifier < b.Qualifier
	}
	if a.Principal != b.Principal {
		return a.Principal < b.Principal
	}
	if a.SourceArn != b.SourceArn {
		return a.SourceArn < b.SourceArn
	}
	return a.Sid < b.Sid
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

func qualify(arn, qualifier string) string {
	if qualifier == "" {
		return arn
	}
	return arn + ":" + qualifier
}

// lambdaARN is the partition, region and account of a function ARN.
type lambdaARN struct{ partition, region, account string }

func parseLambdaARN(s string) lambdaARN {
	p := strings.SplitN(s, ":", 6)
	if len(p) < 6 {
		return lambdaARN{partition: "aws"}
	}
	return lambdaARN{partition: p[1], region: p[3], account: p[4]}
}

// executeAPI returns the execute-api ARN that scopes an invoke permission
// to one route of an HTTP API, in one stage ("*": every stage).
//
// The form is arn:PARTITION:execute-api:REGION:ACCOUNT:API-ID/STAGE/METHOD/PATH
// (API Gateway developer guide, "Control access for invoking an API":
// resource expressions api-id/stage-name/HTTP-VERB/resource-path-specifier,
// where "*" matches any stage, verb or path). Mapping a route key onto it:
//   - the method ANY matches every verb: "*";
//   - a path parameter ("{id}", greedy "{proxy+}") matches any value: "*"
//     (a literal "{id}" in the ARN never matches a request; AWS SAM issue
//     #110 replaces path variables with "*" for the same reason);
//   - the $default route has no method or path: API-ID/STAGE/$default, as
//     the API Gateway console writes it (AWS SAM issue #1860: an extra
//     "/*" before $default never matches).
func (a lambdaARN) executeAPI(apiID, stage, routeKey string) string {
	base := fmt.Sprintf("arn:%s:execute-api:%s:%s:%s/%s/", a.partition, a.region, a.account, apiID, stage)
	if routeKey == "$default" {
		return base + "$default"
	}
	method, path, _ := strings.Cut(routeKey, " ")
	if method == "ANY" {
		method = "*"
	}
	segs := strings.Split(path, "/")
	for i, s := range segs {
		if strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}") {
			segs[i] = "*"
		}
	}
	return base + method + strings.Join(segs, "/")
}

// apiIDOf returns the API id of an execute-api ARN, or "" if s is not one.
func apiIDOf(s string) string {
	p := strings.SplitN(s, ":", 6)
	if len(p) < 6 || p[0] != "arn" || p[2] != "execute-api" {
		return ""
	}
	id, _, _ := strings.Cut(p[5], "/")
	return id
}

// CheckStageAliases reports the stages that name, in a route's
// AliasStageVariableName, an alias the function does not have: API
// Gateway could not invoke it, and Lambda refuses a permission on it. A
// value of digits names a version and is not checked.
func CheckStageAliases(fn plan.Function, desired []definition.PushSource, obs Observed) error {
	var errs []string
	seen := map[string]bool{}
	for _, src := range desired {
		if src.Service != definition.ServiceAPIGateway || src.AliasStageVariableName == "" {
			continue
		}
		for _, st := range obs.APIs[src.ApiId].Stages {
			v := st.Variables[src.AliasStageVariableName]
			if v == "" || isDigits(v) || contains(obs.Aliases, v) {
				continue
			}
			msg := fmt.Sprintf("stage %s of api %s names alias %q in stage variable %s, but function %s has no such alias",
				st.Name, src.ApiId, v, src.AliasStageVariableName, fn.Name)
			if !seen[msg] {
				seen[msg] = true
				errs = append(errs, msg)
			}
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("%s", strings.Join(errs, "; "))
}

func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}
