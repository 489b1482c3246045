package push

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/eventwire/eventwire/internal/apigwsvc"
	"github.com/eventwire/eventwire/internal/definition"
	"github.com/eventwire/eventwire/internal/elbsvc"
	"github.com/eventwire/eventwire/internal/lambdasvc"
	"github.com/eventwire/eventwire/internal/plan"
	"github.com/eventwire/eventwire/internal/retry"
)

// Options tunes a Reconciler. The zero value is usable.
type Options struct {
	Logger *slog.Logger
	// RetryMax is how many times a change of a function's policy answered
	// ResourceConflictException (another change in progress) or
	// ResourceInUseException, or a target registration refused as invalid
	// (a new permission not yet seen by Elastic Load Balancing), is
	// retried. Default 6.
	RetryMax int
	// RetryBackoff is the first backoff; it doubles each retry, with full
	// jitter, up to 32 times itself. Default 500ms.
	RetryBackoff time.Duration
}

// Reconciler observes, plans and applies the push sources of functions.
// One Reconciler may work on several files at once: changes to one
// function's policies are made one at a time.
type Reconciler struct {
	perms *lambdasvc.Permissions
	elb   *elbsvc.Client
	apigw *apigwsvc.Client
	log   *slog.Logger
	opts  Options
	sleep func(ctx context.Context, d time.Duration) error

	mu       sync.Mutex
	policyMu map[string]*sync.Mutex // unqualified function ARN -> lock
}

// New returns a Reconciler on the three adapters.
func New(l *lambdasvc.Permissions, e *elbsvc.Client, a *apigwsvc.Client, opts Options) *Reconciler {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.RetryMax <= 0 {
		opts.RetryMax = 6
	}
	if opts.RetryBackoff <= 0 {
		opts.RetryBackoff = 500 * time.Millisecond
	}
	return &Reconciler{perms: l, elb: e, apigw: a, log: opts.Logger, opts: opts, sleep: retry.Sleep,
		policyMu: map[string]*sync.Mutex{}}
}

// changePolicy makes one change to a function's resource-based policies:
// one at a time per function (Lambda may drop a permission when two are
// added to one function at once, which Terraform works around the same
// way), retrying with bounded backoff while Lambda answers that another
// change is in progress.
func (r *Reconciler) changePolicy(ctx context.Context, functionARN string, change func() error) error {
	r.mu.Lock()
	m := r.policyMu[functionARN]
	if m == nil {
		m = &sync.Mutex{}
		r.policyMu[functionARN] = m
	}
	r.mu.Unlock()
	m.Lock()
	defer m.Unlock()
	return r.retry(ctx, "policy change", change, func(err error) bool {
		return errors.Is(err, lambdasvc.ErrConflict) || errors.Is(err, lambdasvc.ErrInUse)
	})
}

// retry calls call until it succeeds, fails with an error that again does
// not accept, or RetryMax retries are spent.
func (r *Reconciler) retry(ctx context.Context, what string, call func() error, again func(error) bool) error {
	p := retry.Policy{Max: r.opts.RetryMax, Backoff: r.opts.RetryBackoff, Sleep: r.sleep, Log: r.log}
	return p.Do(ctx, what, call, again)
}

// register registers target in the target group. A permission just
// granted takes a while to reach Elastic Load Balancing, which refuses
// the target meanwhile (InvalidTargetException): that is retried, bounded.
func (r *Reconciler) register(ctx context.Context, tgArn, target string) error {
	return r.retry(ctx, "register target", func() error { return r.elb.Register(ctx, tgArn, target) },
		func(err error) bool { return errors.Is(err, elbsvc.ErrInvalidTarget) })
}

// Plan observes AWS for fn and returns the actions that make it match
// desired (nil: remove everything eventwire manages for fn).
func (r *Reconciler) Plan(ctx context.Context, fn plan.Function, desired []definition.PushSource) ([]plan.Action, error) {
	obs, err := r.Observe(ctx, fn, desired)
	if err != nil {
		return nil, err
	}
	if err := CheckStageAliases(fn, desired, obs); err != nil {
		return nil, err
	}
	return Plan(fn, desired, obs), nil
}

// Observe reads what AWS has for fn's push sources: the statements of the
// function's policies (unqualified, its qualifier, each alias, each
// version that a desired route's stage variable names), the target
// groups and HTTP APIs that desired or eventwire's statements name. A
// target group, API or route that desired names must exist (and a target
// group must be of type lambda); those named only by old statements may be
// gone.
func (r *Reconciler) Observe(ctx context.Context, fn plan.Function, desired []definition.PushSource) (Observed, error) {
	obs := Observed{TargetGroups: map[string]TargetGroup{}, APIs: map[string]API{}}

	aliases, err := r.perms.Aliases(ctx, fn.ARN)
	if err != nil {
		return obs, err
	}
	obs.Aliases = aliases
	qualifiers := map[string]bool{"": true, fn.Qualifier: true}
	for _, a := range aliases {
		qualifiers[a] = true
	}
	seen := map[stmtKey]bool{}
	readPolicies := func(qualifiers map[string]bool) error {
		for _, q := range sortedKeys(qualifiers) {
			sts, err := r.perms.List(ctx, fn.ARN, q)
			if err != nil {
				return err
			}
			for _, s := range sts {
				st := Statement{Sid: s.Sid, Qualifier: s.Qualifier, Principal: s.Principal, SourceArn: s.SourceArn}
				if seen[key(st)] {
					continue
				}
				seen[key(st)] = true
				obs.Statements = append(obs.Statements, st)
			}
		}
		return nil
	}
	if err := readPolicies(qualifiers); err != nil {
		return obs, err
	}

	tgs := map[string]bool{} // ARN -> named by the file
	apis := map[string]bool{}
	routes := map[[2]string]bool{}
	for _, src := range desired {
		switch src.Service {
		case definition.ServiceELB:
			tgs[src.TargetGroupArn] = true
		case definition.ServiceAPIGateway:
			apis[src.ApiId] = true
			routes[[2]string{src.ApiId, src.RouteId}] = true
		default:
			return obs, fmt.Errorf("push source: unknown service %q", src.Service)
		}
	}
	for _, s := range obs.Statements {
		if !owns(fn, s) {
			continue
		}
		switch s.Principal {
		case definition.ServiceELB:
			if _, ok := tgs[s.SourceArn]; !ok && s.SourceArn != "" {
				tgs[s.SourceArn] = false
			}
		case definition.ServiceAPIGateway:
			if id := apiIDOf(s.SourceArn); id != "" {
				if _, ok := apis[id]; !ok {
					apis[id] = false
				}
			}
		}
	}

	for _, arn := range sortedKeys(tgs) {
		if tgs[arn] {
			tg, err := r.elb.TargetGroup(ctx, arn)
			if err != nil {
				return obs, err
			}
			if tg.TargetType != elbsvc.TargetTypeLambda {
				return obs, fmt.Errorf("target group %s: target type is %s, not %s", arn, tg.TargetType, elbsvc.TargetTypeLambda)
			}
		}
		targets, err := r.elb.Targets(ctx, arn)
		switch {
		case errors.Is(err, elbsvc.ErrNotFound) && !tgs[arn]:
			obs.TargetGroups[arn] = TargetGroup{Missing: true}
		case err != nil:
			return obs, err
		default:
			obs.TargetGroups[arn] = TargetGroup{Targets: targets}
		}
	}

	for _, id := range sortedKeys(apis) {
		api, err := r.observeAPI(ctx, id)
		if errors.Is(err, apigwsvc.ErrNotFound) && !apis[id] {
			obs.APIs[id] = API{Missing: true}
			continue
		}
		if err != nil {
			return obs, err
		}
		obs.APIs[id] = api
	}
	for _, ref := range sortedRefs(routes) {
		if _, ok := findRoute(obs.APIs[ref[0]].Routes, ref[1]); !ok {
			// Ask for the route itself, for AWS's own error.
			if _, err := r.apigw.Route(ctx, ref[0], ref[1]); err != nil {
				return obs, err
			}
			return obs, fmt.Errorf("route %s of api %s: %w", ref[1], ref[0], apigwsvc.ErrNotFound)
		}
	}
	// A stage variable may name a version rather than an alias: its
	// policy holds the grant too, so it is read as well.
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
	if err := readPolicies(versions); err != nil {
		return obs, err
	}
	return obs, nil
}

func (r *Reconciler) observeAPI(ctx context.Context, id string) (API, error) {
	routes, err := r.apigw.Routes(ctx, id)
	if err != nil {
		return API{}, err
	}
	ints, err := r.apigw.Integrations(ctx, id)
	if err != nil {
		return API{}, err
	}
	stages, err := r.apigw.Stages(ctx, id)
	if err != nil {
		return API{}, err
	}
	var api API
	for _, x := range routes {
		api.Routes = append(api.Routes, Route{ID: x.ID, Key: x.Key, Target: x.Target})
	}
	for _, x := range ints {
		api.Integrations = append(api.Integrations, Integration{
			ID: x.ID, Type: x.Type, URI: x.URI, PayloadFormatVersion: x.PayloadFormatVersion, Description: x.Description,
		})
	}
	for _, x := range stages {
		api.Stages = append(api.Stages, Stage{Name: x.Name, Variables: x.Variables})
	}
	return api, nil
}

// Execute carries out one action of a plan that Plan made for fn. A
// left-alone entry does nothing.
func (r *Reconciler) Execute(ctx context.Context, fn plan.Function, a plan.Action) error {
	if !a.Kind.IsChange() {
		return nil
	}
	switch op := a.Op.(type) {
	case grantOp:
		s := op.Statement
		return r.changePolicy(ctx, fn.ARN, func() error {
			return r.perms.Add(ctx, fn.ARN, lambdasvc.Statement{
				Sid: s.Sid, Qualifier: s.Qualifier, Principal: s.Principal, SourceArn: s.SourceArn,
			})
		})
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
		_, err := r.ensureIntegration(ctx, op.ApiID, op.URI, op.Description)
		return err
	case attachOp:
		id, err := r.ensureIntegration(ctx, op.ApiID, op.URI, op.Description)
		if err != nil {
			return err
		}
		return r.apigw.SetRouteTarget(ctx, op.ApiID, op.RouteID, "integrations/"+id)
	case detachOp:
		return r.apigw.SetRouteTarget(ctx, op.ApiID, op.RouteID, "")
	case deleteIntegrationOp:
		return r.apigw.DeleteIntegration(ctx, op.ApiID, op.IntegrationID)
	}
	return fmt.Errorf("push: action %s %s %s: unknown operation %T", a.Kind, a.Resource, a.ID, a.Op)
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
		if in.Description == desc && in.URI == uri && in.Type == apigwsvc.IntegrationType && in.PayloadFormatVersion == apigwsvc.PayloadFormatVersion {
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

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func sortedRefs(m map[[2]string]bool) [][2]string {
	refs := make([][2]string, 0, len(m))
	for k := range m {
		refs = append(refs, k)
	}
	sort.Slice(refs, func(i, j int) bool {
		if refs[i][0] != refs[j][0] {
			return refs[i][0] < refs[j][0]
		}
		return refs[i][1] < refs[j][1]
	})
	return refs
}
