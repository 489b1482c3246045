package quota

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/smithy-go/middleware"

	"github.com/eventwire/eventwire/internal/aws/pace"
	"github.com/eventwire/eventwire/internal/contract"
)

// Pacer keeps a process's calls under quotas: one token bucket per quota
// bucket, shared by every SDK client configured with it (Configure), so
// that all concurrent work in the process draws on the same buckets.
// Each attempt of a call waits for a token of the call's bucket before it
// is sent; the SDK's retryer stays in front of it, so what AWS still
// throttles is retried (and paced again). A nil *Pacer paces nothing.
type Pacer struct {
	buckets map[string]*pace.Bucket
	bucket  func(service, operation string) string
	waited  atomic.Int64 // calls that had to wait for a token
}

// Headroom is how much of a quota's burst the Pacer leaves unused, in
// seconds of its rate (at least one token, and a bucket keeps at least
// one). Calls reach AWS with varying delays: two that leave a second
// apart may arrive closer, and at the quota's exact burst AWS would
// throttle the second. With Headroom tokens in hand at AWS, delays up to
// Headroom apart are absorbed.
const Headroom = 0.2

// NewPacer returns a Pacer with a full bucket per quota, on the system
// clock: each quota's rate, and its burst less Headroom. Calls outside
// every bucket (Bucket returns "" or a bucket without a quota) are not
// paced.
func NewPacer(quotas map[string]Quota) *Pacer {
	return NewPacerWithClock(quotas, pace.System)
}

// NewPacerWithClock is NewPacer on clock c.
func NewPacerWithClock(quotas map[string]Quota, c pace.Clock) *Pacer {
	p := &Pacer{buckets: map[string]*pace.Bucket{}, bucket: Bucket}
	for name, q := range quotas {
		p.buckets[name] = pace.NewWithClock(q.Rate, ClientBurst(q), c)
	}
	return p
}

// ClientBurst is the burst a Pacer uses for q: q's burst less Headroom's
// worth of tokens (at least one), and at least one.
func ClientBurst(q Quota) int {
	room := max(1, int(math.Ceil(q.Rate*Headroom)))
	return max(1, q.Burst-room)
}

// Wait takes a token of the bucket that service's operation draws on,
// waiting for the refill if needed.
func (p *Pacer) Wait(ctx context.Context, service, operation string) error {
	if p == nil {
		return nil
	}
	b := p.buckets[p.bucket(service, operation)]
	if b == nil {
		return nil
	}
	if b.Take() {
		return nil
	}
	p.waited.Add(1)
	if err := b.Wait(ctx); err != nil {
		return fmt.Errorf("pace %s.%s: %w", service, operation, err)
	}
	return nil
}

// Waited returns how many calls had to wait for a token.
func (p *Pacer) Waited() int64 {
	if p == nil {
		return 0
	}
	return p.waited.Load()
}

// String lists the buckets: "apigateway=10:40 lambda=15:15 ...".
func (p *Pacer) String() string {
	if p == nil || len(p.buckets) == 0 {
		return "off"
	}
	var parts []string
	for name, b := range p.buckets {
		parts = append(parts, fmt.Sprintf("%s=%g:%d", name, b.Rate(), b.Burst()))
	}
	sort.Strings(parts)
	return strings.Join(parts, " ")
}

// Configure adds the pacing to cfg: every client made from cfg afterwards
// waits on p before each attempt of each call. Copies of cfg made before
// are left alone (the options are appended to a new array), so two copies
// can be paced by two pacers.
func (p *Pacer) Configure(cfg *aws.Config) {
	if p == nil {
		return
	}
	cfg.APIOptions = append(slices.Clip(cfg.APIOptions), p.addMiddleware)
}

// signingNames maps the SDK's service ids to the signing names Bucket
// takes.
var signingNames = map[string]string{
	"Lambda":                    "lambda",
	"ApiGatewayV2":              "apigateway",
	"API Gateway":               "apigateway",
	"Elastic Load Balancing v2": "elasticloadbalancing",
}

// middlewareID names the pacing step in the SDK's middleware stack.
const middlewareID = "eventwire/quota.Pacer"

func (p *Pacer) addMiddleware(s *middleware.Stack) error {
	m := middleware.FinalizeMiddlewareFunc(middlewareID, func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
		svc := signingNames[awsmiddleware.GetServiceID(ctx)]
		if err := p.Wait(ctx, svc, awsmiddleware.GetOperationName(ctx)); err != nil {
			return middleware.FinalizeOutput{}, middleware.Metadata{}, err
		}
		return next.HandleFinalize(ctx, in)
	})
	// After the retryer, so that every attempt is paced.
	if err := s.Finalize.Insert(m, "Retry", middleware.After); err != nil {
		return s.Finalize.Add(m, middleware.After)
	}
	return nil
}

// EnvName is the environment variable that sets a bucket's quota:
// EVENTWIRE_RATE_LAMBDA, EVENTWIRE_RATE_ELBV2_DESCRIBE, ...
func EnvName(bucket string) string {
	return contract.EnvRatePrefix + strings.ToUpper(strings.ReplaceAll(bucket, "-", "_"))
}

// Set changes one bucket of quotas from a setting: "rate", "rate:burst"
// (requests a second and the bucket's size), or "off" (no pacing for that
// bucket). An empty setting changes nothing.
func Set(quotas map[string]Quota, bucket, setting string) error {
	switch setting = strings.TrimSpace(setting); setting {
	case "":
		return nil
	case "off":
		delete(quotas, bucket)
		return nil
	}
	q, err := ParseRate(setting, quotas[bucket])
	if err != nil {
		return fmt.Errorf("rate of %s: %w", bucket, err)
	}
	if q.Rate == 0 {
		return fmt.Errorf("rate of %s: 0 would stop every call; write off to stop pacing it", bucket)
	}
	quotas[bucket] = q
	return nil
}

// FromEnv returns the quotas to pace by: Defaults, changed by each
// bucket's environment variable (EnvName) that getenv finds.
func FromEnv(getenv func(string) string) (map[string]Quota, error) {
	q := Defaults()
	for _, name := range Names {
		if err := Set(q, name, getenv(EnvName(name))); err != nil {
			return nil, fmt.Errorf("%s: %w", EnvName(name), err)
		}
	}
	return q, nil
}
