package main

import (
	"fmt"
	"os/exec"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/eventwire/eventwire/internal/apigwsvc"
	"github.com/eventwire/eventwire/internal/elbsvc"
	"github.com/eventwire/eventwire/internal/lambdasvc"
	"github.com/eventwire/eventwire/internal/records"
	"github.com/eventwire/eventwire/internal/stssvc"
	"github.com/eventwire/eventwire/internal/trigger"
)

// The deployer reaches AWS only through these adapter interfaces (the
// SDK's slices declared by each adapter). Each of their methods is an SDK
// operation the deployer may call; the tests below check the deployer's
// policy against them both ways: nothing missing (the call would be
// refused in AWS) and nothing extra.
var deployerAPIs = map[string]reflect.Type{
	"lambdasvc.FunctionAPI":   reflect.TypeFor[lambdasvc.FunctionAPI](),
	"lambdasvc.MappingAPI":    reflect.TypeFor[lambdasvc.MappingAPI](),
	"lambdasvc.PolicyAPI":     reflect.TypeFor[lambdasvc.PolicyAPI](),
	"elbsvc.API":              reflect.TypeFor[elbsvc.API](),
	"apigwsvc.API":            reflect.TypeFor[apigwsvc.API](),
	"records.API":             reflect.TypeFor[records.API](),
	"stssvc.API":              reflect.TypeFor[stssvc.API](),
	"trigger.S3API":           reflect.TypeFor[trigger.S3API](),
	"trigger.CodeCommitAPI":   reflect.TypeFor[trigger.CodeCommitAPI](),
	"trigger.CodePipelineAPI": reflect.TypeFor[trigger.CodePipelineAPI](),
}

// Sample resources of one account and region, for evaluating the policy.
const (
	sPartition = "aws"
	sRegion    = "eu-west-1"
	sAccount   = "123456789012"
	sFunction  = "arn:aws:lambda:eu-west-1:123456789012:function:orders-app"
	sAlias     = sFunction + ":live"
	sOther     = "arn:aws:lambda:eu-west-1:123456789012:function:billing-app"
	sDeployer  = "arn:aws:lambda:eu-west-1:123456789012:function:Eventwire-Deployer92EF8763-AbCdEf"
	sMapping   = "arn:aws:lambda:eu-west-1:123456789012:event-source-mapping:14e0db71-5d35-4eb5-b481-8945cf9d10c2"
	sTarget    = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/orders/73e2d6bc24d8a067"
	sAPIs      = "arn:aws:apigateway:eu-west-1::/apis/a1b2c3"
	sBucket    = "arn:aws:s3:::eventwire-definitions-1x2y3z"
	sTable     = "arn:aws:dynamodb:eu-west-1:123456789012:table/Eventwire-Deployments-1X2Y3Z"
	sRepo      = "arn:aws:codecommit:eu-west-1:123456789012:definitions"
)

// sampleValues replaces the rendered intrinsics of the template.
var sampleValues = strings.NewReplacer(
	"${AWS::Partition}", sPartition,
	"${AWS::Region}", sRegion,
	"${AWS::AccountId}", sAccount,
	"${Deployer.Arn}", sDeployer,
	"${Definitions.Arn}", sBucket,
	"${Deployments.Arn}", sTable,
)

// request is one authorization request: an action on a resource, with the
// condition keys AWS puts in the request context.
type request struct {
	action   string
	resource string
	context  map[string]string
}

// call is what one SDK operation needs. notByDeployer, when set, says why
// the deployer never makes the call although the interface declares it.
type call struct {
	requests      []request
	codeCommit    bool // only with the codeCommitRepository context parameter
	notByDeployer string
}

func on(action, resource string, kv ...string) request {
	r := request{action: action, resource: resource, context: map[string]string{}}
	for i := 0; i+1 < len(kv); i += 2 {
		r.context[kv[i]] = kv[i+1]
	}
	return r
}

// deployerCalls maps every method of deployerAPIs to the IAM requests it
// makes, after the Service Authorization Reference (resource types and
// condition keys of each action). A method added to an adapter fails
// TestIAM_EveryDeployerCallIsClassified until it is added here and to
// grantDeployer.
var deployerCalls = map[string]call{
	"lambdasvc.FunctionAPI.GetFunction": {requests: []request{on("lambda:GetFunction", sAlias)}},

	"lambdasvc.PolicyAPI.GetPolicy":   {requests: []request{on("lambda:GetPolicy", sAlias)}},
	"lambdasvc.PolicyAPI.ListAliases": {requests: []request{on("lambda:ListAliases", sFunction)}},
	"lambdasvc.PolicyAPI.AddPermission": {requests: []request{
		on("lambda:AddPermission", sAlias, "lambda:Principal", "elasticloadbalancing.amazonaws.com"),
		on("lambda:AddPermission", sFunction, "lambda:Principal", "apigateway.amazonaws.com"),
	}},
	"lambdasvc.PolicyAPI.RemovePermission": {requests: []request{
		on("lambda:RemovePermission", sAlias, "lambda:Principal", "apigateway.amazonaws.com"),
	}},

	// CreateEventSourceMapping has no resource type; with Tags it also
	// needs TagResource on the new mapping.
	"lambdasvc.MappingAPI.CreateEventSourceMapping": {requests: []request{
		on("lambda:CreateEventSourceMapping", "*", "lambda:FunctionArn", sAlias),
		on("lambda:TagResource", sMapping),
	}},
	"lambdasvc.MappingAPI.GetEventSourceMapping": {requests: []request{
		on("lambda:GetEventSourceMapping", sMapping, "lambda:FunctionArn", sFunction)}},
	"lambdasvc.MappingAPI.UpdateEventSourceMapping": {requests: []request{
		on("lambda:UpdateEventSourceMapping", sMapping, "lambda:FunctionArn", sAlias)}},
	"lambdasvc.MappingAPI.DeleteEventSourceMapping": {requests: []request{
		on("lambda:DeleteEventSourceMapping", sMapping, "lambda:FunctionArn", sFunction)}},
	"lambdasvc.MappingAPI.ListEventSourceMappings": {requests: []request{on("lambda:ListEventSourceMappings", "*")}},
	"lambdasvc.MappingAPI.ListTags":                {requests: []request{on("lambda:ListTags", sMapping)}},
	"lambdasvc.MappingAPI.TagResource":             {requests: []request{on("lambda:TagResource", sMapping)}},
	"lambdasvc.MappingAPI.UntagResource":           {requests: []request{on("lambda:UntagResource", sMapping)}},

	"elbsvc.API.DescribeTargetGroups": {requests: []request{on("elasticloadbalancing:DescribeTargetGroups", "*")}},
	"elbsvc.API.DescribeTargetHealth": {requests: []request{on("elasticloadbalancing:DescribeTargetHealth", "*")}},
	"elbsvc.API.RegisterTargets":      {requests: []request{on("elasticloadbalancing:RegisterTargets", sTarget)}},
	"elbsvc.API.DeregisterTargets":    {requests: []request{on("elasticloadbalancing:DeregisterTargets", sTarget)}},

	// API Gateway v2: HTTP verbs on the resource paths (resource types
	// Route, Routes, Integration, Integrations, Stages).
	"apigwsvc.API.GetRoute":          {requests: []request{on("apigateway:GET", sAPIs+"/routes/r1d2")}},
	"apigwsvc.API.GetRoutes":         {requests: []request{on("apigateway:GET", sAPIs+"/routes")}},
	"apigwsvc.API.UpdateRoute":       {requests: []request{on("apigateway:PATCH", sAPIs+"/routes/r1d2")}},
	"apigwsvc.API.GetIntegrations":   {requests: []request{on("apigateway:GET", sAPIs+"/integrations")}},
	"apigwsvc.API.GetIntegration":    {requests: []request{on("apigateway:GET", sAPIs+"/integrations/i9x8")}},
	"apigwsvc.API.CreateIntegration": {requests: []request{on("apigateway:POST", sAPIs+"/integrations")}},
	"apigwsvc.API.DeleteIntegration": {requests: []request{on("apigateway:DELETE", sAPIs+"/integrations/i9x8")}},
	"apigwsvc.API.GetStages":         {requests: []request{on("apigateway:GET", sAPIs+"/stages")}},

	// GetCallerIdentity needs no permission (IAM cannot deny it); the
	// deployer asks it to write the ARN of a function that is gone.
	"stssvc.API.GetCallerIdentity": {},

	"records.API.GetItem":    {requests: []request{on("dynamodb:GetItem", sTable)}},
	"records.API.PutItem":    {requests: []request{on("dynamodb:PutItem", sTable)}},
	"records.API.UpdateItem": {requests: []request{on("dynamodb:UpdateItem", sTable)}},
	"records.API.DeleteItem": {requests: []request{on("dynamodb:DeleteItem", sTable)}},
	"records.API.Query":      {requests: []request{on("dynamodb:Query", sTable)}},
	// A transaction is authorized as the calls it holds.
	"records.API.TransactWriteItems": {requests: []request{on("dynamodb:UpdateItem", sTable), on("dynamodb:DeleteItem", sTable)}},

	// GetObject at a version needs GetObjectVersion; ListBucket makes a
	// missing key answer 404 instead of 403.
	"trigger.S3API.GetObject": {requests: []request{
		on("s3:GetObject", sBucket+"/orders/_lambdaeventsourcedef.json"),
		on("s3:GetObjectVersion", sBucket+"/orders/_lambdaeventsourcedef.json"),
		on("s3:ListBucket", sBucket),
	}},

	// HeadObject at a version (a delete marker's) needs GetObjectVersion.
	"trigger.S3API.HeadObject": {requests: []request{
		on("s3:GetObject", sBucket+"/orders/_lambdaeventsourcedef.json"),
		on("s3:GetObjectVersion", sBucket+"/orders/_lambdaeventsourcedef.json"),
	}},

	"trigger.CodeCommitAPI.GetDifferences": {codeCommit: true, requests: []request{on("codecommit:GetDifferences", sRepo)}},
	"trigger.CodeCommitAPI.GetFile":        {codeCommit: true, requests: []request{on("codecommit:GetFile", sRepo)}},
	"trigger.CodeCommitAPI.GetCommit":      {codeCommit: true, requests: []request{on("codecommit:GetCommit", sRepo)}},

	"trigger.CodePipelineAPI.PutJobSuccessResult": {requests: []request{on("codepipeline:PutJobSuccessResult", "*")}},
	"trigger.CodePipelineAPI.PutJobFailureResult": {requests: []request{on("codepipeline:PutJobFailureResult", "*")}},
}

// TestIAM_EveryDeployerCallIsClassified: deployerCalls names exactly the
// methods of the adapter interfaces.
func TestIAM_EveryDeployerCallIsClassified(t *testing.T) {
	methods := map[string]bool{}
	for name, typ := range deployerAPIs {
		if typ.Kind() != reflect.Interface {
			t.Fatalf("%s is not an interface", name)
		}
		for i := range typ.NumMethod() {
			methods[name+"."+typ.Method(i).Name] = true
		}
	}
	for m := range methods {
		if _, ok := deployerCalls[m]; !ok {
			t.Errorf("%s: the deployer may call it, but deployerCalls does not say what IAM needs for it (add it here and to grantDeployer)", m)
		}
	}
	for m := range deployerCalls {
		if !methods[m] {
			t.Errorf("deployerCalls lists %s, which no adapter interface declares any more", m)
		}
	}
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

// globMatch matches an IAM pattern: * is any run of characters, ? one.
func globMatch(pattern, s string) bool {
	re := "^" + strings.NewReplacer(`\*`, ".*", `\?`, ".").Replace(regexp.QuoteMeta(pattern)) + "$"
	return regexp.MustCompile(re).MatchString(s)
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
					matched = matched || globMatch(v, got)
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
			res = res || globMatch(p, r.resource)
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
// its role's policies, and every action those policies grant (in
// eventwire's own statements) is needed by some call.
func TestIAM_DeployerCallsAllowed(t *testing.T) {
	for _, variant := range []string{"default", "full", "repo"} {
		t.Run(variant, func(t *testing.T) {
			sts := deployerStatements(t, synth(t, variant))
			withRepo := variant != "default"
			used := map[string]bool{}
			names := make([]string, 0, len(deployerCalls))
			for m := range deployerCalls {
				names = append(names, m)
			}
			sort.Strings(names)
			for _, m := range names {
				c := deployerCalls[m]
				for _, r := range c.requests {
					ok, sids := allows(t, sts, r)
					switch {
					case c.codeCommit && !withRepo:
						if ok {
							t.Errorf("%s: %s on %s is allowed without a CodeCommit repository configured (by %v)", m, r.action, r.resource, sids)
						}
						continue
					case !ok:
						t.Errorf("%s: %s on %s (context %v) is not allowed: the deployer would fail with AccessDenied", m, r.action, r.resource, r.context)
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
		{"full", on("lambda:GetFunction", sOther)},
		{"full", on("lambda:ListAliases", sOther)},
		{"full", on("lambda:AddPermission", sOther+":live", "lambda:Principal", "apigateway.amazonaws.com")},
		{"full", on("lambda:CreateEventSourceMapping", "*", "lambda:FunctionArn", sOther)},
		{"full", on("lambda:UpdateEventSourceMapping", sMapping, "lambda:FunctionArn", sOther)},
		{"full", on("lambda:DeleteEventSourceMapping", sMapping, "lambda:FunctionArn", sOther)},
		// Only the two push services may be granted invoke.
		{"default", on("lambda:AddPermission", sFunction, "lambda:Principal", "s3.amazonaws.com")},
		{"default", on("lambda:AddPermission", sFunction, "lambda:Principal", "111122223333")},
		// The deployer's own wiring, even though "function:*" covers it.
		{"default", on("lambda:AddPermission", sDeployer, "lambda:Principal", "apigateway.amazonaws.com")},
		{"default", on("lambda:RemovePermission", sDeployer+":live", "lambda:Principal", "elasticloadbalancing.amazonaws.com")},
		{"default", on("lambda:CreateEventSourceMapping", "*", "lambda:FunctionArn", sDeployer)},
		{"default", on("lambda:DeleteEventSourceMapping", sMapping, "lambda:FunctionArn", sDeployer+":live")},
		// Other buckets, tables and accounts.
		{"default", on("s3:GetObject", "arn:aws:s3:::someone-elses-bucket/x_lambdaeventsourcedef.json")},
		{"default", on("dynamodb:PutItem", "arn:aws:dynamodb:eu-west-1:123456789012:table/other")},
		{"default", on("elasticloadbalancing:RegisterTargets", "arn:aws:elasticloadbalancing:eu-west-1:999999999999:targetgroup/x/1")},
		{"full", on("codecommit:GetFile", "arn:aws:codecommit:eu-west-1:123456789012:other-repo")},
		// Reading is not writing.
		{"default", on("apigateway:PATCH", sAPIs+"/integrations/i9x8")},
		{"default", on("apigateway:POST", sAPIs+"/routes")},
		{"default", on("apigateway:DELETE", sAPIs+"/routes/r1d2")},
	} {
		t.Run(fmt.Sprintf("%s %s %s", c.variant, c.req.action, c.req.resource), func(t *testing.T) {
			if ok, sids := allows(t, deployerStatements(t, synth(t, c.variant)), c.req); ok {
				t.Errorf("allowed by %v, context %v", sids, c.req.context)
			}
		})
	}
}

// TestIAM_DeployerServices: the deployer's binary links the SDK clients of
// exactly the services whose calls deployerCalls covers, plus those of the
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
		"signin", "sso", "ssooidc", "sts", // credential chain
	}, got)
}
