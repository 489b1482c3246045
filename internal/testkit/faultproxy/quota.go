package faultproxy

import "github.com/eventwire/eventwire/internal/aws/quota"

// Quota is a token bucket: Rate tokens a second refill it up to Burst.
type Quota = quota.Quota

// The buckets of DefaultBucket (internal/aws/quota names them).
const (
	BucketLambda            = quota.Lambda
	BucketLambdaGetFunction = quota.LambdaGetFunction
	BucketLambdaGetPolicy   = quota.LambdaGetPolicy
	BucketAPIGateway        = quota.APIGateway
	BucketELBDescribe       = quota.ELBDescribe
	BucketELBMutate         = quota.ELBMutate
)

// DefaultQuotas returns AWS's published control-plane quotas per account
// and region (quota.Defaults).
func DefaultQuotas() map[string]Quota { return quota.Defaults() }

// DefaultBucket returns the quota bucket a call draws on at AWS, or "" for
// a call outside every bucket (quota.Bucket).
func DefaultBucket(c Call) string { return quota.Bucket(c.Service, c.Operation) }

// ParseQuotas applies s, a comma-separated list of bucket=rate:burst (or
// bucket=off), to a copy of base (quota.Parse).
func ParseQuotas(s string, base map[string]Quota) (map[string]Quota, error) {
	return quota.Parse(s, base)
}
