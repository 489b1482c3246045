package push

import (
	"fmt"
	"strings"

	"github.com/eventwire/eventwire/internal/funcref"
	"github.com/eventwire/eventwire/internal/plan"
)

// IntegrationURI is the integration URI of a route to fn: the function's
// ARN (qualified if the reference is), or, with a stage variable, the
// unqualified ARN qualified by ${stageVariables.VAR}.
func IntegrationURI(fn plan.Function, stageVariable string) string {
	if stageVariable == "" {
		return fn.QualifiedARN()
	}
	return fn.At("${stageVariables." + stageVariable + "}")
}

// functionARN is fn's ARN in parts, for the execute-api ARNs of the same
// partition, region and account; the partition is "aws" when fn's ARN
// does not say.
func functionARN(fn plan.Function) funcref.Ref {
	r, _ := funcref.Parse(fn.ARN)
	if r.Partition == "" {
		r.Partition = "aws"
	}
	return r
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
func executeAPI(fn funcref.Ref, apiID, stage, routeKey string) string {
	base := fmt.Sprintf("arn:%s:execute-api:%s:%s:%s/%s/", fn.Partition, fn.Region, fn.Account, apiID, stage)
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

// executeAPIParts returns the API id and the stage of an execute-api ARN
// (arn:PARTITION:execute-api:REGION:ACCOUNT:API-ID/STAGE/...): the stage
// "" if the ARN has none, both "" if s is not an execute-api ARN.
func executeAPIParts(s string) (apiID, stage string) {
	p := strings.SplitN(s, ":", 6)
	if len(p) < 6 || p[0] != "arn" || p[2] != "execute-api" {
		return "", ""
	}
	apiID, rest, _ := strings.Cut(p[5], "/")
	stage, _, _ = strings.Cut(rest, "/")
	return apiID, stage
}
