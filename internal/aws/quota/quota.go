// Package quota names AWS's per-account control-plane quota buckets that
// bound a deployer's speed, with AWS's published figures, and paces an SDK
// client under them: a Pacer is a set of token buckets (internal/aws/pace),
// one per quota bucket, that every call waits on before it is sent.
//
// The same names and figures drive the fault-injecting proxy
// (internal/testkit/faultproxy), which throttles as AWS does, and the client-side
// Pacer, which keeps eventwire under the quota so that a bulk run spends
// its time at the quota rather than in back-off.
//
// It imports the SDK's middleware, internal/aws/pace and the contract,
// never its callers nor a test kit (internal/layers checks).
package quota

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

// The quota buckets.
const (
	// Lambda is Lambda's control plane, shared by most calls.
	Lambda = "lambda"
	// LambdaGetFunction is GetFunction's own bucket.
	LambdaGetFunction = "lambda-getfunction"
	// LambdaGetPolicy is GetPolicy's own bucket.
	LambdaGetPolicy = "lambda-getpolicy"
	// APIGateway is API Gateway's control plane (v1 and v2).
	APIGateway = "apigateway"
	// ELBDescribe is ELBv2's bucket for Describe* calls.
	ELBDescribe = "elbv2-describe"
	// ELBMutate is ELBv2's bucket for every other call.
	ELBMutate = "elbv2-mutate"
)

// Names are the buckets of Defaults, in a stable order.
var Names = []string{Lambda, LambdaGetFunction, LambdaGetPolicy, APIGateway, ELBDescribe, ELBMutate}

// Defaults returns AWS's published control-plane quotas per account and
// region: Lambda 15 requests/s shared, GetPolicy 15/s and GetFunction
// 100/s of their own (AWS publishes no burst: one second's worth here); API
// Gateway 10/s with bursts to 40; ELBv2 Describe* 10/s with a bucket of 40.
// AWS gives ELBv2's other calls smaller buckets per category; 5/s with a
// bucket of 20 stands for them here.
func Defaults() map[string]Quota {
	return map[string]Quota{
		Lambda:            {Rate: 15, Burst: 15},
		LambdaGetFunction: {Rate: 100, Burst: 100},
		LambdaGetPolicy:   {Rate: 15, Burst: 15},
		APIGateway:        {Rate: 10, Burst: 40},
		ELBDescribe:       {Rate: 10, Burst: 40},
		ELBMutate:         {Rate: 5, Burst: 20},
	}
}

// Bucket returns the quota bucket a call draws on at AWS, or "" for a call
// outside every bucket (Lambda's Invoke, other services). service is the
// SigV4 signing name (lambda, apigateway, elasticloadbalancing), operation
// the API operation.
func Bucket(service, operation string) string {
	switch service {
	case "lambda":
		switch operation {
		case "GetFunction":
			return LambdaGetFunction
		case "GetPolicy":
			return LambdaGetPolicy
		case "Invoke", "InvokeAsync", "InvokeWithResponseStream":
			return ""
		}
		return Lambda
	case "apigateway":
		return APIGateway
	case "elasticloadbalancing":
		if strings.HasPrefix(operation, "Describe") {
			return ELBDescribe
		}
		return ELBMutate
	}
	return ""
}

// Parse applies s, a comma-separated list of bucket=rate:burst (or
// bucket=off, which removes the bucket), to a copy of base. It is the
// format of a flag or an environment variable:
// "lambda=15:15,apigateway=10:40,elbv2-mutate=off".
func Parse(s string, base map[string]Quota) (map[string]Quota, error) {
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
		if !strings.Contains(spec, ":") {
			return nil, fmt.Errorf("quota %q: want bucket=rate:burst", item)
		}
		q, err := ParseRate(spec, Quota{})
		if err != nil {
			return nil, fmt.Errorf("quota %q: %w", item, err)
		}
		out[name] = q
	}
	return out, nil
}

// ParseRate reads "rate" or "rate:burst" (requests a second, and the
// bucket's size). Without a burst, base's burst stays, or one second's
// worth of rate (at least 1) if base has none.
func ParseRate(spec string, base Quota) (Quota, error) {
	rs, bs, hasBurst := strings.Cut(spec, ":")
	rate, err := strconv.ParseFloat(rs, 64)
	if err != nil || rate < 0 {
		return Quota{}, fmt.Errorf("rate %q is not a number of requests a second", rs)
	}
	q := Quota{Rate: rate, Burst: base.Burst}
	if !hasBurst {
		if q.Burst < 1 {
			q.Burst = max(1, int(rate))
		}
		return q, nil
	}
	if q.Burst, err = strconv.Atoi(bs); err != nil || q.Burst < 1 {
		return Quota{}, fmt.Errorf("burst %q is not a positive whole number", bs)
	}
	return q, nil
}
