package main

import (
	"fmt"
	"maps"
	"os/exec"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/eventwire/eventwire/internal/iamcalls"
)

// The deployer's calls are iamcalls.Calls (the table `eventwire
// iam-policy` uses too, whose own test keeps it equal to the adapters'
// interfaces). The tests below check the deployer's policy against it both
// ways: nothing missing (the call would be refused in AWS) and nothing
// extra.

// Sample resources of one account and region, for evaluating the policy.
const (
	sPartition = "aws"
	sRegion    = "eu-west-1"
	sAccount   = "123456789012"
	sFunction  = "arn:aws:lambda:eu-west-1:123456789012:function:orders-app"
	sOther     = "arn:aws:lambda:eu-west-1:123456789012:function:billing-app"
	sDeployer  = "arn:aws:lambda:eu-west-1:123456789012:function:Eventwire-Deployer92EF8763-AbCdEf"
	sMapping   = "arn:aws:lambda:eu-west-1:123456789012:event-source-mapping:14e0db71-5d35-4eb5-b481-8945cf9d10c2"
	sTarget    = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/orders/73e2d6bc24d8a067"
	sAPI       = "a1b2c3d4e5"
	sAPIs      = "arn:aws:apigateway:eu-west-1::/apis/" + sAPI
	sBucket    = "arn:aws:s3:::eventwire-definitions-1x2y3z"
	sTable     = "arn:aws:dynamodb:eu-west-1:123456789012:table/Eventwire-Deployments-1X2Y3Z"
	sSweep     = "arn:aws:sqs:eu-west-1:123456789012:Eventwire-SweepQueue1C82B4CB-AbCdEf"
)

// sample fills the table's templates with the resources above.
var sample = iamcalls.Values{
	Partition: sPartition, Region: sRegion, Account: sAccount,
	Function: "orders-app", Qualifier: "live", Mapping: "14e0db71-5d35-4eb5-b481-8945cf9d10c2",
	TargetGroup: "orders/73e2d6bc24d8a067", API: sAPI, Route: "r1d2", Integration: "i9x8",
	Bucket: "eventwire-definitions-1x2y3z", Key: "orders/_lambdaeventsourcedef.json",
	Table: "Eventwire-Deployments-1X2Y3Z", Repository: "definitions",
	Queue: "Eventwire-SweepQueue1C82B4CB-AbCdEf",
}

// sampleValues replaces the rendered intrinsics of the template.
var sampleValues = strings.NewReplacer(
	"${AWS::Partition}", sPartition,
	"${AWS::Region}", sRegion,
	"${AWS::AccountId}", sAccount,
	"${Deployer.Arn}", sDeployer,
	"${Definitions.Arn}", sBucket,
	"${Deployments.Arn}", sTable,
	"${SweepQueue.Arn}", sSweep,
)

// request is one authorization request: an action on a resource, with the
// condition keys AWS puts in the request context.
type request struct {
	action   string
	resource string
	context  map[string]string
}

func on(action, resource string, kv ...string) request {
	r := iamcalls.On("", action, resource, kv...)
	return request{action: r.Action, resource: r.Resource, context: r.Context}
}

// sampled is a request of the table with the sample resources.
func sampled(r iamcalls.Request) request {
	out := request{action: r.Action, resource: sample.Fill(r.Resource), context: map[string]string{}}
	for k, v := range r.Context {
		out.context[k] = sample.Fill(v)
	}
	return out
}

// deployerStatements returns the statements of every policy attached to
// the deployer's role, with sample values for the intrinsics.
func deployerStatements(t *testing.T, tm template) []statement {
	t.Helper()
	var out []statement
	for id, sts := range policies(tm) {
		r := tm.Resources[id]
		if r.Type != "AWS::IAM::Policy" || !contains(strs(r.Properties["Roles"]), "${DeployerRole}") {
			continue
		}
		for _, s := range sts {
			for i, res := range s.Resources {
				s.Resources[i] = sampleValues.Replace(res)
			}
			s.Conditions = sampleCondition(s.Conditions)
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		t.Fatal("no policy is attached to the deployer's role")
	}
	return out
}

func sampleCondition(v any) any {
	switch v := v.(type) {
	case string:
		return sampleValues.Replace(v)
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = sampleCondition(e)
		}
		return out
	case map[string]any:
		out := map[string]any{}
		for k, e := range v {
			out[k] = sampleCondition(e)
		}
		return out
	default:
		return v
	}
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

// conditionHolds evaluates a statement's Condition block against the
// request context. A key absent from the context does not match, as in
// IAM. Only the operators the stack uses are known.
func conditionHolds(t *testing.T, cond any, ctx map[string]string) bool {
	t.Helper()
	if cond == nil {
		return true
	}
	for op, kv := range cond.(map[string]any) {
		for key, want := range kv.(map[string]any) {
			got, ok := ctx[key]
			if !ok {
				return false
			}
			var values []string
			switch w := want.(type) {
			case string:
				values = []string{w}
			case []any:
				for _, e := range w {
					values = append(values, fmt.Sprint(e))
				}
			}
			var matched bool
			for _, v := range values {
				switch op {
				case "StringEquals", "ArnEquals":
					matched = matched || v == got
				case "StringLike", "ArnLike":
					matched = matched || iamcalls.Match(v, got)
				default:
					t.Fatalf("condition operator %s: not known to this test", op)
				}
			}
			if !matched {
				return false
			}
		}
	}
	return true
}

// allows evaluates a request against statements: an Allow that matches
// and no Deny that matches. It returns the Sids of the matching Allows.
func allows(t *testing.T, sts []statement, r request) (bool, []string) {
	t.Helper()
	var allowed []string
	for _, s := range sts {
		if !contains(s.Actions, r.action) {
			continue
		}
		var res bool
		for _, p := range s.Resources {
			res = res || iamcalls.Match(p, r.resource)
		}
		if !res || !conditionHolds(t, s.Conditions, r.context) {
			continue
		}
		if s.Effect == "Deny" {
			return false, nil
		}
		allowed = append(allowed, s.Sid)
	}
	return len(allowed) > 0, allowed
}

// TestIAM_DeployerCallsAllowed: every call the deployer makes is allowed by
// its role's policies (those that need a setting only with it), by the
// statement named after the table's grant, and every action those policies
// grant (in eventwire's own statements) is needed by some call.
func TestIAM_DeployerCallsAllowed(t *testing.T) {
	for _, variant := range []string{"default", "full"} {
		t.Run(variant, func(t *testing.T) {
			sts := deployerStatements(t, synth(t, variant))
			settings := map[string]bool{iamcalls.NeedsRepository: variant == "full", iamcalls.NeedsAPIs: variant == "full"}
			used := map[string]bool{}
			for _, m := range slices.Sorted(maps.Keys(iamcalls.Calls)) {
				c := iamcalls.Calls[m]
				if c.By&iamcalls.Deployer == 0 {
					continue
				}
				for _, tr := range c.Requests {
					r := sampled(tr)
					ok, sids := allows(t, sts, r)
					switch {
					case c.Needs != "" && !settings[c.Needs]:
						if ok {
							t.Errorf("%s: %s on %s is allowed without %s (by %v)", m, r.action, r.resource, c.Needs, sids)
						}
						continue
					case !ok:
						t.Errorf("%s: %s on %s (context %v) is not allowed: the deployer would fail with AccessDenied", m, r.action, r.resource, r.context)
					case !contains(sids, tr.Grant):
						t.Errorf("%s: %s is allowed by %v, not by statement %s as the table says", m, r.action, sids, tr.Grant)
					}
					for _, sid := range sids {
						used[sid+" "+r.action] = true
					}
				}
			}
			for _, s := range sts {
				if s.Effect != "Allow" || s.Sid == "" {
					continue // CDK's own grants: the log group, the failure queue
				}
				for _, a := range s.Actions {
					if !used[s.Sid+" "+a] {
						t.Errorf("statement %s grants %s, which no call of the deployer needs", s.Sid, a)
					}
				}
			}
		})
	}
}

// TestIAM_DeployerScope: the same calls on what the deployer may not wire
// are refused: a function outside functionNamePrefix, and the deployer
// itself (its permissions and mappings).
func TestIAM_DeployerScope(t *testing.T) {
	for _, c := range []struct {
		variant string
		req     request
	}{
		// GetFunction hands out a URL to download the code: never granted.
		{"all", on("lambda:GetFunction", sFunction)},
		{"full", on("lambda:GetFunctionConfiguration", sOther)},
		{"full", on("lambda:ListAliases", sOther)},
		{"full", on("lambda:AddPermission", sOther+":live", "lambda:Principal", "apigateway.amazonaws.com")},
		{"full", on("lambda:CreateEventSourceMapping", "*", "lambda:FunctionArn", sOther)},
		{"full", on("lambda:UpdateEventSourceMapping", sMapping, "lambda:FunctionArn", sOther)},
		{"full", on("lambda:DeleteEventSourceMapping", sMapping, "lambda:FunctionArn", sOther)},
		// Only the two push services may be granted invoke.
		{"default", on("lambda:AddPermission", sFunction, "lambda:Principal", "s3.amazonaws.com")},
		{"default", on("lambda:AddPermission", sOther, "lambda:Principal", "apigateway.amazonaws.com")},
		{"default", on("lambda:AddPermission", sFunction, "lambda:Principal", "111122223333")},
		// The deployer's own wiring, even though "function:*" covers it.
		{"all", on("lambda:AddPermission", sDeployer, "lambda:Principal", "apigateway.amazonaws.com")},
		{"all", on("lambda:RemovePermission", sDeployer+":live", "lambda:Principal", "elasticloadbalancing.amazonaws.com")},
		{"all", on("lambda:CreateEventSourceMapping", "*", "lambda:FunctionArn", sDeployer)},
		{"all", on("lambda:DeleteEventSourceMapping", sMapping, "lambda:FunctionArn", sDeployer+":live")},
		// Other queues.
		{"default", on("sqs:SendMessage", "arn:aws:sqs:eu-west-1:123456789012:other")},
		// Other buckets, tables and accounts.
		{"default", on("s3:GetObject", "arn:aws:s3:::someone-elses-bucket/x_lambdaeventsourcedef.json")},
		{"default", on("dynamodb:PutItem", "arn:aws:dynamodb:eu-west-1:123456789012:table/other")},
		{"default", on("elasticloadbalancing:RegisterTargets", "arn:aws:elasticloadbalancing:eu-west-1:999999999999:targetgroup/x/1", "aws:ResourceTag/eventwire:allowed", "true")},
		// Target groups: by default only tagged ones; with
		// targetGroupArns only those.
		{"default", on("elasticloadbalancing:RegisterTargets", sTarget)},
		{"default", on("elasticloadbalancing:DeregisterTargets", sTarget, "aws:ResourceTag/eventwire:allowed", "false")},
		{"full", on("elasticloadbalancing:RegisterTargets", "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/billing/73e2d6bc24d8a067", "aws:ResourceTag/eventwire:allowed", "true")},
		// APIs: none by default; with apiIds only those.
		{"default", on("apigateway:PATCH", sAPIs+"/routes/r1d2")},
		{"default", on("apigateway:GET", sAPIs+"/routes")},
		{"full", on("apigateway:PATCH", "arn:aws:apigateway:eu-west-1::/apis/zzzzzzzzzz/routes/r1d2")},
		{"full", on("apigateway:POST", "arn:aws:apigateway:eu-west-1::/apis/zzzzzzzzzz/integrations")},
		{"full", on("codecommit:GetFile", "arn:aws:codecommit:eu-west-1:123456789012:other-repo")},
		// Reading is not writing.
		{"full", on("apigateway:PATCH", sAPIs+"/integrations/i9x8")},
		{"full", on("apigateway:POST", sAPIs+"/routes")},
		{"full", on("apigateway:DELETE", sAPIs+"/routes/r1d2")},
	} {
		t.Run(fmt.Sprintf("%s %s %s", c.variant, c.req.action, c.req.resource), func(t *testing.T) {
			if ok, sids := allows(t, deployerStatements(t, synth(t, c.variant)), c.req); ok {
				t.Errorf("allowed by %v, context %v", sids, c.req.context)
			}
		})
	}
}

// TestIAM_DeployerServices: the deployer's binary links the SDK clients of
// exactly the services whose calls iamcalls.Calls covers, plus those of the
// SDK's credential chain (profiles, SSO, assume-role), which the Lambda
// runtime's environment credentials leave unused. A new service client
// fails here until its calls are declared by an adapter interface.
func TestIAM_DeployerServices(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "../functions/deployer").Output()
	if err != nil {
		t.Fatalf("go list -deps ../functions/deployer: %v", err)
	}
	const prefix = "github.com/aws/aws-sdk-go-v2/service/"
	var got []string
	for _, pkg := range strings.Fields(string(out)) {
		if name, ok := strings.CutPrefix(pkg, prefix); ok && !strings.Contains(name, "/") {
			got = append(got, name)
		}
	}
	sort.Strings(got)
	diff(t, "SDK services of the deployer", []string{
		"apigatewayv2", "codecommit", "codepipeline", "dynamodb", "elasticloadbalancingv2", "lambda", "s3",
		"signin", "sqs", "sso", "ssooidc", "sts", // credential chain, and sqs: the drift sweep's SendMessageBatch (sweep.SQSAPI)
	}, got)
}
