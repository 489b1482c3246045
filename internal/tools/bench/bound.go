package bench

import (
	"maps"
	"slices"

	"github.com/eventwire/eventwire/internal/aws/quota"
)

// fewestFirstApply is the fewest calls per quota bucket that the first
// apply of n functions (each: one SQS mapping, one target group, one route
// of one shared HTTP API) needs. Per function: ListEventSourceMappings,
// CreateEventSourceMapping, two AddPermission and GetFunctionConfiguration
// (Lambda's shared bucket), GetPolicy, DescribeTargetHealth,
// RegisterTargets, CreateIntegration and UpdateRoute; per API: GetRoutes
// and GetIntegrations. The function is resolved with
// GetFunctionConfiguration, not GetFunction (whose bucket is its own, at
// 100/s), because GetFunction also hands out a code download URL, which
// the deployer's least-privilege policy does not grant.
func fewestFirstApply(n int) map[string]int {
	return map[string]int{
		quota.Lambda:          5 * n,
		quota.LambdaGetPolicy: n,
		quota.APIGateway:      2*n + 2,
		quota.ELBDescribe:     n,
		quota.ELBMutate:       n,
	}
}

// noOpCalls are the fewest calls per bucket of an apply that changes
// nothing, for n functions wired as the bulk apply wires them, whose routes
// belong to apis HTTP APIs: per function GetFunctionConfiguration,
// ListEventSourceMappings, ListTags of its mapping (Lambda lists no tags,
// and the tag says whose the mapping is), GetPolicy and
// DescribeTargetHealth; per API GetRoutes and GetIntegrations.
func noOpCalls(n, apis int) map[string]int {
	return map[string]int{
		quota.Lambda:          3 * n,
		quota.LambdaGetPolicy: n,
		quota.ELBDescribe:     n,
		quota.APIGateway:      2 * apis,
	}
}

// fewestNoOp is the fewest calls of the bulk's no-op apply: its n
// functions' routes are of one API.
func fewestNoOp(n int) int {
	total := 0
	for _, c := range noOpCalls(n, 1) {
		total += c
	}
	return total
}

// bound is the quota bound of calls: for each bucket, (calls − burst) /
// rate seconds, the largest, and its bucket.
func bound(calls map[string]int, quotas map[string]quota.Quota) (seconds float64, bucket string) {
	for _, b := range slices.Sorted(maps.Keys(calls)) {
		q, ok := quotas[b]
		if !ok || q.Rate == 0 {
			continue
		}
		if t := max(0, float64(calls[b]-q.Burst)) / q.Rate; t > seconds {
			seconds, bucket = t, b
		}
	}
	return seconds, bucket
}
