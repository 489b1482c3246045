package iamcalls

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/eventwire/eventwire/internal/aws/apigwsvc"
	"github.com/eventwire/eventwire/internal/aws/elbsvc"
	"github.com/eventwire/eventwire/internal/aws/lambdasvc"
	"github.com/eventwire/eventwire/internal/aws/stssvc"
	"github.com/eventwire/eventwire/internal/deployer"
	"github.com/eventwire/eventwire/internal/deployer/branch"
	"github.com/eventwire/eventwire/internal/deployer/bucket"
	"github.com/eventwire/eventwire/internal/deployer/pipeline"
	"github.com/eventwire/eventwire/internal/deployer/sweep"
	"github.com/eventwire/eventwire/internal/records"
	"github.com/eventwire/eventwire/internal/testkit/golden"
)

// APIs are the adapter interfaces through which eventwire reaches AWS
// (the SDK's slices each adapter declares). Each of their methods is an
// SDK operation the deployer or the CLI may call.
var APIs = map[string]reflect.Type{
	"lambdasvc.FunctionAPI":      reflect.TypeFor[lambdasvc.FunctionAPI](),
	"lambdasvc.MappingAPI":       reflect.TypeFor[lambdasvc.MappingAPI](),
	"lambdasvc.PolicyAPI":        reflect.TypeFor[lambdasvc.PolicyAPI](),
	"elbsvc.API":                 reflect.TypeFor[elbsvc.API](),
	"apigwsvc.API":               reflect.TypeFor[apigwsvc.API](),
	"records.API":                reflect.TypeFor[records.API](),
	"records.CreateTableAPI":     reflect.TypeFor[records.CreateTableAPI](),
	"stssvc.API":                 reflect.TypeFor[stssvc.API](),
	"bucket.S3API":               reflect.TypeFor[bucket.S3API](),
	"branch.CodeCommitAPI":       reflect.TypeFor[branch.CodeCommitAPI](),
	"pipeline.CodePipelineAPI":   reflect.TypeFor[pipeline.CodePipelineAPI](),
	"deployer.CallerIdentityAPI": reflect.TypeFor[deployer.CallerIdentityAPI](),
	"sweep.SQSAPI":               reflect.TypeFor[sweep.SQSAPI](),
}

// TestEveryCallIsClassified: Calls names exactly the methods of the
// adapter interfaces.
func TestEveryCallIsClassified(t *testing.T) {
	methods := map[string]bool{}
	for name, typ := range APIs {
		if typ.Kind() != reflect.Interface {
			t.Fatalf("%s is not an interface", name)
		}
		for i := range typ.NumMethod() {
			methods[name+"."+typ.Method(i).Name] = true
		}
	}
	for m := range methods {
		if _, ok := Calls[m]; !ok {
			t.Errorf("%s: eventwire may call it, but Calls does not say what IAM needs for it (add it to Calls, and to the stack's grantDeployer if the deployer makes it)", m)
		}
	}
	for m, c := range Calls {
		if !methods[m] {
			t.Errorf("Calls lists %s, which no adapter interface declares any more", m)
		}
		if c.By == 0 && c.Why == "" {
			t.Errorf("%s: no caller, and no word why", m)
		}
	}
}

// TestGrantsShareConditionKeys: the requests of one grant have the same
// condition keys, so that one statement can allow them all; a request
// without a condition under a grant with one would be refused.
func TestGrantsShareConditionKeys(t *testing.T) {
	keys := map[string]string{}
	for m, c := range Calls {
		for _, r := range c.Requests {
			var ks []string
			for k := range r.Context {
				ks = append(ks, k)
			}
			sort.Strings(ks)
			got := strings.Join(ks, ",")
			if want, ok := keys[r.Grant]; ok && want != got {
				t.Errorf("%s: %s under grant %s has condition keys [%s], others of the grant [%s]", m, r.Action, r.Grant, got, want)
			}
			keys[r.Grant] = got
		}
	}
}

// patterns are the values of a policy for every function starting with
// orders- in one account, any region.
var patterns = Values{
	Partition: "aws", Region: "*", Account: "123456789012",
	Function: "orders-*", Qualifier: "*", Mapping: "*", TargetGroup: "*",
	API: "*", Route: "*", Integration: "*", Table: "Eventwire-Deployments*",
}

// TestPolicy_CLI is the CLI's policy for plan and for apply (golden
// files): plan only reads; apply also writes.
func TestPolicy_CLI(t *testing.T) {
	for _, mode := range []string{"plan", "apply"} {
		t.Run(mode, func(t *testing.T) {
			doc := Policy(CLI, mode == "apply", patterns)
			b, err := json.MarshalIndent(doc, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			golden.Check(t, filepath.Join("testdata", "cli-"+mode+".json"), string(b)+"\n")
		})
	}
}

// TestPolicy_AllowsEveryCall evaluates each policy against every request
// of every call its caller makes, with sample values: allowed exactly
// when the mode allows the call (a plan-only policy refuses every write),
// and never for a function outside the prefix.
func TestPolicy_AllowsEveryCall(t *testing.T) {
	sample := Values{
		Partition: "aws", Region: "eu-west-1", Account: "123456789012",
		Function: "orders-app", Qualifier: "live", Mapping: "14e0db71-5d35-4eb5-b481-8945cf9d10c2",
		TargetGroup: "orders/73e2d6bc24d8a067", API: "a1b2c3d4e5", Route: "r1d2", Integration: "i9x8",
		Table: "Eventwire-Deployments-1X2Y3Z",
	}
	other := sample
	other.Function = "billing-app"
	for _, writes := range []bool{false, true} {
		doc := Policy(CLI, writes, patterns)
		for m, c := range Calls {
			if c.By&CLI == 0 {
				continue
			}
			for _, r := range append(c.Requests, unqualified(c.Requests)...) {
				want := writes || !c.Write
				if got := Allows(doc, r.Action, sample.Fill(r.Resource), fill(sample, r.Context)); got != want {
					t.Errorf("writes %v: %s: %s on %s (context %v) allowed %v, want %v", writes, m, r.Action,
						sample.Fill(r.Resource), fill(sample, r.Context), got, want)
				}
				if strings.Contains(r.Resource, "{function}") || len(r.Context) > 0 && strings.Contains(fmt.Sprint(r.Context), "{function}") {
					if Allows(doc, r.Action, other.Fill(r.Resource), fill(other, r.Context)) {
						t.Errorf("writes %v: %s: %s allowed on function billing-app, outside orders-*", writes, m, r.Action)
					}
				}
			}
		}
	}
}

// unqualified are the requests of a call on a qualified function, made
// for the unqualified function instead.
func unqualified(rs []Request) []Request {
	var out []Request
	for _, r := range rs {
		if !strings.Contains(r.Resource+fmt.Sprint(r.Context), QualifiedARN) {
			continue
		}
		u := On(r.Grant, r.Action, strings.ReplaceAll(r.Resource, QualifiedARN, FunctionARN))
		for k, v := range r.Context {
			u.Context[k] = strings.ReplaceAll(v, QualifiedARN, FunctionARN)
		}
		out = append(out, u)
	}
	return out
}

func fill(v Values, ctx map[string]string) map[string]string {
	out := map[string]string{}
	for k, e := range ctx {
		out[k] = v.Fill(e)
	}
	return out
}

// Allows evaluates a request against a document's Allow statements.
func Allows(doc Document, action, resource string, ctx map[string]string) bool {
	for _, s := range doc.Statement {
		if !contains(s.Action, action) || !matchesAny(s.Resource, resource) {
			continue
		}
		ok := true
		for _, kv := range s.Condition {
			for k, vals := range kv {
				ok = ok && matchesAny(vals, ctx[k]) && ctx[k] != ""
			}
		}
		if ok {
			return true
		}
	}
	return false
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

func matchesAny(patterns []string, s string) bool {
	for _, p := range patterns {
		if Match(p, s) {
			return true
		}
	}
	return false
}

func TestMinimal(t *testing.T) {
	got := minimal([]string{"arn:aws:lambda:*:1:function:orders-*", "arn:aws:lambda:*:1:function:orders-*:*", "arn:aws:lambda:*:1:event-source-mapping:*"})
	if diff := cmp.Diff([]string{"arn:aws:lambda:*:1:function:orders-*", "arn:aws:lambda:*:1:event-source-mapping:*"}, got); diff != "" {
		t.Errorf("minimal (-want +got):\n%s", diff)
	}
}
