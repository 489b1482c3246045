package faultproxy

import (
	"fmt"
	"strconv"
	"strings"
)

// Quota is a token bucket: Rate tokens a second refill it up to Burst.
type Quota struct {
	Rate  float64
	Burst int
}

// The buckets of DefaultBucket.
const (
	// BucketLambda is Lambda's control plane, shared by most calls.
	BucketLambda = "lambda"
	// BucketLambdaGetFunction is GetFunction's own bucket.
	BucketLambdaGetFunction = "lambda-getfunction"
	// BucketLambdaGetPolicy is GetPolicy's own bucket.
	BucketLambdaGetPolicy = "lambda-getpolicy"
	// BucketAPIGateway is API Gateway's control plane (v1 and v2).
	BucketAPIGateway = "apigateway"
	// BucketELBDescribe is ELBv2's bucket for Describe* calls.
	BucketELBDescribe = "elbv2-describe"
	// BucketELBMutate is ELBv2's bucket for every other call.
	BucketELBMutate = "elbv2-mutate"
)

// DefaultQuotas returns AWS's published control-plane quotas per account
// and region: Lambda 15 requests/s shared, GetPolicy 15/s and GetFunction
// 100/s of their own (AWS publishes no burst: one second's worth here); API
// Gateway 10/s with bursts to 40; ELBv2 Describe* 10/s with a bucket of 40.
// AWS gives ELBv2's other calls smaller buckets per category; 5/s with a
// bucket of 20 stands for them here.
func DefaultQuotas() map[string]Quota {
	return map[string]Quota{
		BucketLambda:            {Rate: 15, Burst: 15},
		BucketLambdaGetFunction: {Rate: 100, Burst: 100},
		BucketLambdaGetPolicy:   {Rate: 15, Burst: 15},
		BucketAPIGateway:        {Rate: 10, Burst: 40},
		BucketELBDescribe:       {Rate: 10, Burst: 40},
		BucketELBMutate:         {Rate: 5, Burst: 20},
	}
}

// DefaultBucket returns the quota bucket a call draws on at AWS, or "" for
// a call outside every bucket (Lambda's Invoke, other services).
func DefaultBucket(c Call) string {
	switch c.Service {
	case "lambda":
		switch c.Operation {
		case "GetFunction":
			return BucketLambdaGetFunction
		case "GetPolicy":
			return BucketLambdaGetPolicy
		case "Invoke", "InvokeAsync", "InvokeWithResponseStream":
			return ""
		}
		return BucketLambda
	case "apigateway":
		return BucketAPIGateway
	case "elasticloadbalancing":
		if strings.HasPrefix(c.Operation, "Describe") {
			return BucketELBDescribe
		}
		return BucketELBMutate
	}
	return ""
}

// ParseQuotas applies s, a comma-separated list of bucket=rate:burst (or
// bucket=off, which removes the bucket), to a copy of base. It is the
// format of a flag or an environment variable:
// "lambda=15:15,apigateway=10:40,elbv2-mutate=off".
func ParseQuotas(s string, base map[string]Quota) (map[string]Quota, error) {
	out := make(map[string]Quota, len(base))
	for k, v := range base {
		out[k] = v
	}
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		name, spec, ok := strings.Cut(item, "=")
		if !ok || name == "" {
			return nil, fmt.Errorf("quota %q: want bucket=rate:burst", item)
		}
		if spec == "off" {
			delete(out, name)
			continue
		}
		rs, bs, ok := strings.Cut(spec, ":")
		if !ok {
			return nil, fmt.Errorf("quota %q: want bucket=rate:burst", item)
		}
		rate, err := strconv.ParseFloat(rs, 64)
		if err != nil || rate < 0 {
			return nil, fmt.Errorf("quota %q: rate %q is not a number of requests a second", item, rs)
		}
		burst, err := strconv.Atoi(bs)
		if err != nil || burst < 1 {
			return nil, fmt.Errorf("quota %q: burst %q is not a positive whole number", item, bs)
		}
		out[name] = Quota{Rate: rate, Burst: burst}
	}
	return out, nil
}
