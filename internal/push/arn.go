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

// apiIDOf returns the API id of an execute-api ARN, or "" if s is not one.
func apiIDOf(s string) string {
	p := strings.SplitN(s, ":", 6)
	if len(p) < 6 || p[0] != "arn" || p[2] != "execute-api" {
		return ""
	}
	id, _, _ := strings.Cut(p[5], "/")
	return id
}

// splitExecuteAPI returns the API id and the stage of an execute-api ARN
// (the first two parts of its resource, API-ID/STAGE/...); ok is false
// when the ARN has no stage.
func splitExecuteAPI(arn string) (apiID, stage string, ok bool) {
	p := strings.SplitN(arn, ":", 6)
	if len(p) < 6 {
		return "", "", false
	}
	parts := strings.SplitN(p[5], "/", 3)
	if len(parts) < 2 {
		return "", "", false
	}
	return parts[0], parts[1], true
}
