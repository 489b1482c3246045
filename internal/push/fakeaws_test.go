package push_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/google/go-cmp/cmp"

	"github.com/eventwire/eventwire/internal/apigwsvc"
	"github.com/eventwire/eventwire/internal/definition"
	"github.com/eventwire/eventwire/internal/elbsvc"
	"github.com/eventwire/eventwire/internal/lambdasvc"
	"github.com/eventwire/eventwire/internal/mototest"
	"github.com/eventwire/eventwire/internal/plan"
	"github.com/eventwire/eventwire/internal/push"
)

// fakeLambdaPolicies answers the Lambda policy and alias calls as AWS
// does where moto does not: every alias has its own resource-based policy
// (moto keeps one per function and ignores Qualifier), and a duplicate
// statement id is refused with ResourceConflictException.
type fakeLambdaPolicies struct {
	fn       string
	aliases  []string
	mu       sync.Mutex
	policies map[string]map[string]string // qualifier -> sid -> statement JSON
}

func (f *fakeLambdaPolicies) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	q := r.URL.Query().Get("Qualifier")
	fail := func(code int, typ, msg string) {
		w.Header().Set("X-Amzn-ErrorType", typ)
		w.WriteHeader(code)
		json.NewEncoder(w).Encode(map[string]string{"Type": "User", "message": msg})
	}
	if q != "" && !contains(f.aliases, q) {
		fail(404, "ResourceNotFoundException", "Function not found: "+f.fn+":"+q)
		return
	}
	base := "/2015-03-31/functions/" + f.fn
	switch {
	case r.Method == http.MethodGet && r.URL.Path == base+"/aliases":
		var as []map[string]string
		for _, a := range f.aliases {
			as = append(as, map[string]string{"Name": a, "AliasArn": f.fn + ":" + a, "FunctionVersion": "1"})
		}
		json.NewEncoder(w).Encode(map[string]any{"Aliases": as})
	case r.Method == http.MethodGet && r.URL.Path == base+"/policy":
		if len(f.policies[q]) == 0 {
			fail(404, "ResourceNotFoundException", "The resource you requested does not exist.")
			return
		}
		var sts []string
		for _, s := range f.policies[q] {
			sts = append(sts, s)
		}
		sort.Strings(sts)
		doc := `{"Version":"2012-10-17","Id":"default","Statement":[` + strings.Join(sts, ",") + `]}`
		json.NewEncoder(w).Encode(map[string]string{"Policy": doc, "RevisionId": "r"})
	case r.Method == http.MethodPost && r.URL.Path == base+"/policy":
		body, _ := io.ReadAll(r.Body)
		var in struct{ StatementId, Action, Principal, SourceArn string }
		json.Unmarshal(body, &in)
		if _, dup := f.policies[q][in.StatementId]; dup {
			fail(409, "ResourceConflictException", "The statement id ("+in.StatementId+") provided already exists. Please provide a new statement id, or remove the existing statement.")
			return
		}
		res := f.fn
		if q != "" {
			res += ":" + q
		}
		st, _ := json.Marshal(map[string]any{
			"Sid": in.StatementId, "Effect": "Allow", "Principal": map[string]string{"Service": in.Principal},
			"Action": in.Action, "Resource": res, "Condition": map[string]any{"ArnLike": map[string]string{"AWS:SourceArn": in.SourceArn}},
		})
		if f.policies[q] == nil {
			f.policies[q] = map[string]string{}
		}
		f.policies[q][in.StatementId] = string(st)
		w.WriteHeader(201)
		json.NewEncoder(w).Encode(map[string]string{"Statement": string(st)})
	case r.Method == http.MethodDelete && strings.HasPrefix(r.URL.Path, base+"/policy/"):
		sid := strings.TrimPrefix(r.URL.Path, base+"/policy/")
		if _, ok := f.policies[q][sid]; !ok {
			fail(404, "ResourceNotFoundException", "No policy is associated with the given resource.")
			return
		}
		delete(f.policies[q], sid)
		w.WriteHeader(204)
	default:
		fail(400, "InvalidParameterValueException", "unexpected request "+r.Method+" "+r.URL.Path)
	}
}

// sids returns the statement ids of each qualifier's policy.
func (f *fakeLambdaPolicies) sids() map[string][]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string][]string{}
	for q, p := range f.policies {
		for sid := range p {
			out[q] = append(out[q], sid)
		}
		sort.Strings(out[q])
	}
	return out
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// TestIntegration_FakeAWS_PolicyPerAlias wires a route whose integration
// names the alias through a stage variable: the permissions must go to
// each alias's own policy, scoped to the stage that names it, and come
// out of the same policies on destroy. Lambda policies are served by a
// fake of AWS (moto keeps one policy per function); API Gateway is moto.
func TestIntegration_FakeAWS_PolicyPerAlias(t *testing.T) {
	e := newEnv(t)
	fn := e.function(t, "orders")
	api, err := e.fx.HTTPAPI(e.ctx, "shop", []string{"POST /orders"}, map[string]map[string]string{
		"prod": {"lambdaAlias": "live"}, "beta": {"lambdaAlias": "canary"}, "dev": {},
	})
	if err != nil {
		t.Fatal(err)
	}
	fake := &fakeLambdaPolicies{fn: fn.ARN, aliases: []string{"canary", "live"}, policies: map[string]map[string]string{
		"live": {"by-hand": `{"Sid":"by-hand","Effect":"Allow","Principal":{"Service":"apigateway.amazonaws.com"},"Action":"lambda:InvokeFunction","Resource":"` + fn.ARN + `:live"}`},
	}}
	hs := httptest.NewServer(fake)
	defer hs.Close()

	cfg := srv.Config(t)
	e.calls = mototest.Record(&cfg)
	e.r = push.New(
		lambdasvc.NewPermissions(lambda.NewFromConfig(cfg, func(o *lambda.Options) { o.BaseEndpoint = aws.String(hs.URL) })),
		elbsvc.New(elasticloadbalancingv2.NewFromConfig(cfg)),
		apigwsvc.New(apigatewayv2.NewFromConfig(cfg)), push.Options{})

	exec := "arn:aws:execute-api:us-east-1:123456789012:" + api.ID
	desired := []definition.PushSource{{Service: definition.ServiceAPIGateway, ApiId: api.ID, RouteId: api.Routes["POST /orders"], AliasStageVariableName: "lambdaAlias"}}
	e.apply(t, fn, desired)
	want := map[string][]string{
		"canary": {plan.StatementID(definition.ServiceAPIGateway, exec+"/beta/POST/orders", "canary")},
		"live":   sorted("by-hand", plan.StatementID(definition.ServiceAPIGateway, exec+"/prod/POST/orders", "live")),
	}
	if diff := cmp.Diff(want, fake.sids()); diff != "" {
		t.Errorf("statement ids per qualifier (-want +got):\n%s", diff)
	}
	e.applyAgain(t, fn, desired)

	e.apply(t, fn, nil)
	if diff := cmp.Diff(map[string][]string{"live": {"by-hand"}}, nonEmpty(fake.sids())); diff != "" {
		t.Errorf("after destroy, statement ids per qualifier (-want +got):\n%s", diff)
	}
	e.applyAgain(t, fn, nil)
}

func sorted(s ...string) []string { sort.Strings(s); return s }

func nonEmpty(m map[string][]string) map[string][]string {
	for k, v := range m {
		if len(v) == 0 {
			delete(m, k)
		}
	}
	return m
}
