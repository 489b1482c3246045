package deployer

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/eventwire/eventwire/internal/aws/quota"
	"github.com/eventwire/eventwire/internal/contract"
	"github.com/eventwire/eventwire/internal/definition"
	"github.com/eventwire/eventwire/internal/reconcile"
	"github.com/eventwire/eventwire/internal/reconcile/push"
)

// envSelf is the deployer's own function name, set by Lambda.
const envSelf = "AWS_LAMBDA_FUNCTION_NAME"

// Settings are the deployer's settings from its environment.
type Settings struct {
	Table          string
	LeaseDuration  time.Duration
	FunctionPrefix string
	// Self is the deployer's own function name (AWS_LAMBDA_FUNCTION_NAME),
	// which no definition file may wire.
	Self string
	// Allowed is what definition files may point at, from EnvAllowedAccounts
	// and the rest. Empty Accounts and Regions mean the deployer's own,
	// found by NewFromConfig's handler on first use.
	Allowed definition.Policy
	// KeyPrefixFunctions is EnvKeyPrefixFunctions.
	KeyPrefixFunctions map[string]string
	// Bucket, Repository and Branches are the accepted event sources
	// (EnvBucket, EnvRepository, EnvBranches).
	Bucket     string
	Repository string
	Branches   []string
	// The sweep (drift.go): its queue, heal mode, share of the quotas and
	// concurrency.
	SweepQueueARN, SweepQueueURL string
	DriftHeal                    bool
	SweepShare                   float64
	SweepConcurrency             int
	// AllowTakeover is EnvAllowTakeover: the push reconciler's
	// push.Options.AllowTakeover.
	AllowTakeover bool
	// TeardownGrace is EnvTeardownGraceSeconds (Config.TeardownGrace):
	// DefaultTeardownGraceSeconds when unset.
	TeardownGrace time.Duration
}

// SettingsFromEnv reads the settings with getenv (os.Getenv).
func SettingsFromEnv(getenv func(string) string) (Settings, error) {
	s := Settings{
		Table: getenv(contract.EnvTable), FunctionPrefix: getenv(contract.EnvFunctionPrefix), Self: getenv(envSelf),
		Bucket: getenv(contract.EnvBucket), Repository: getenv(contract.EnvRepository),
	}
	if s.Table == "" {
		return s, fmt.Errorf("environment variable %s (the DynamoDB table of deployment records) is not set", contract.EnvTable)
	}
	if v := getenv(contract.EnvLeaseSeconds); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return s, fmt.Errorf("environment variable %s: %q is not a positive number of seconds", contract.EnvLeaseSeconds, v)
		}
		s.LeaseDuration = time.Duration(n) * time.Second
	}
	lists := map[string]*[]string{
		contract.EnvAllowedAccounts: &s.Allowed.Accounts, contract.EnvAllowedRegions: &s.Allowed.Regions,
		contract.EnvAllowedBuckets: &s.Allowed.Buckets, contract.EnvKafkaHosts: &s.Allowed.KafkaHosts,
		contract.EnvAPIIDs: &s.Allowed.APIs, contract.EnvTargetGroups: &s.Allowed.TargetGroups,
	}
	for _, name := range slices.Sorted(maps.Keys(lists)) {
		list, err := envList(getenv(name))
		if err != nil {
			return s, fmt.Errorf("environment variable %s: %w", name, err)
		}
		*lists[name] = list
	}
	if s.Allowed.APIs == nil {
		s.Allowed.APIs = []string{} // checked: none allowed
	}
	if bad := s.Allowed.Check(); len(bad) > 0 {
		return s, fmt.Errorf("environment variables %s: %s", strings.Join(slices.Sorted(maps.Keys(lists)), ", "), strings.Join(bad, "; "))
	}
	if v := getenv(contract.EnvKeyPrefixFunctions); v != "" {
		if err := json.Unmarshal([]byte(v), &s.KeyPrefixFunctions); err != nil {
			return s, fmt.Errorf("environment variable %s: not a JSON object of key prefixes to function prefixes: %w", contract.EnvKeyPrefixFunctions, err)
		}
	}
	if v := getenv(contract.EnvBranches); v != "" {
		if err := json.Unmarshal([]byte(v), &s.Branches); err != nil {
			return s, fmt.Errorf("environment variable %s: %q is not a JSON list of branch names: %w", contract.EnvBranches, v, err)
		}
	}
	switch v := getenv(contract.EnvAllowTakeover); v {
	case "", "false":
	case "true":
		s.AllowTakeover = true
	default:
		return s, fmt.Errorf("environment variable %s: %q is neither true nor false", contract.EnvAllowTakeover, v)
	}
	return s, s.sweepFromEnv(getenv)
}

// sweepFromEnv reads the sweep's settings, and the grace of teardowns
// (deferred through the sweep queue).
func (s *Settings) sweepFromEnv(getenv func(string) string) error {
	s.SweepQueueARN, s.SweepQueueURL = getenv(contract.EnvSweepQueueARN), getenv(contract.EnvSweepQueueURL)
	s.DriftHeal = getenv(contract.EnvDriftHeal) == "true"
	s.SweepShare, s.SweepConcurrency = contract.DefaultSweepShare, contract.DefaultSweepConcurrency
	if v := getenv(contract.EnvSweepShare); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || !(f > 0 && f <= 1) {
			return fmt.Errorf("environment variable %s: %q is not a share of the quotas between 0 (excluded) and 1", contract.EnvSweepShare, v)
		}
		s.SweepShare = f
	}
	if v := getenv(contract.EnvSweepConcurrency); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return fmt.Errorf("environment variable %s: %q is not a positive number of invocations", contract.EnvSweepConcurrency, v)
		}
		s.SweepConcurrency = n
	}
	s.TeardownGrace = contract.DefaultTeardownGraceSeconds * time.Second
	if v := getenv(contract.EnvTeardownGraceSeconds); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > contract.MaxTeardownGraceSeconds {
			return fmt.Errorf("environment variable %s: %q is not a number of seconds from 0 to %d", contract.EnvTeardownGraceSeconds, v, contract.MaxTeardownGraceSeconds)
		}
		s.TeardownGrace = time.Duration(n) * time.Second
	}
	return nil
}

// envList reads a list setting: a JSON list of strings, or values
// separated by commas or whitespace. Nil if it has none.
func envList(v string) ([]string, error) {
	if !strings.HasPrefix(strings.TrimSpace(v), "[") {
		return definition.SplitList(v), nil
	}
	var list []string
	if err := json.Unmarshal([]byte(v), &list); err != nil {
		return nil, fmt.Errorf("not a JSON list of strings: %w", err)
	}
	if len(list) == 0 {
		return nil, nil
	}
	return list, nil
}

// ReconcileOptions are the reconciler's options (internal/reconcile) that
// the settings decide, with log as its logger.
func (s Settings) ReconcileOptions(log *slog.Logger) reconcile.Options {
	return reconcile.Options{Logger: log, Push: push.Options{AllowTakeover: s.AllowTakeover}}
}

// SweepQuotas are the quotas a sweep's check paces its calls under: each
// bucket of q at SweepShare of its rate and burst, split evenly among the
// SweepConcurrency invocations that may check at once (a burst of at
// least one token), so that the sweep together never takes more than its
// share and deployments keep the rest.
func (s Settings) SweepQuotas(q map[string]quota.Quota) map[string]quota.Quota {
	share, n := s.SweepShare, s.SweepConcurrency
	if share <= 0 || share > 1 {
		share = contract.DefaultSweepShare
	}
	if n < 1 {
		n = contract.DefaultSweepConcurrency
	}
	f := share / float64(n)
	out := make(map[string]quota.Quota, len(q))
	for name, b := range q {
		out[name] = quota.Quota{Rate: b.Rate * f, Burst: max(1, int(math.Floor(float64(b.Burst)*f)))}
	}
	return out
}

// Policy is the Policy of a deployer in region whose settings are s: the
// allowlists of the settings, with its own account and region where they
// name none (the account found on first use, with sts if the Lambda
// context does not give it).
func (s Settings) Policy(region string, sts CallerIdentityAPI) func(ctx context.Context) (*definition.Policy, error) {
	return (&ownPolicy{allowed: s.Allowed, region: region, sts: sts}).get
}

// CallerIdentityAPI is what the deployer needs of STS: its own account,
// when the Lambda context does not give it.
type CallerIdentityAPI interface {
	GetCallerIdentity(ctx context.Context, in *sts.GetCallerIdentityInput, opts ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error)
}

// ownPolicy is the deployer's Policy: the allowlists of its settings, with
// its own account and region where they name none. The account is found
// once, on first use: from the invoked function's ARN in the Lambda
// context, else from STS.
type ownPolicy struct {
	allowed definition.Policy
	region  string
	sts     CallerIdentityAPI

	mu       sync.Mutex
	resolved *definition.Policy
}

func (o *ownPolicy) get(ctx context.Context) (*definition.Policy, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.resolved != nil {
		return o.resolved, nil
	}
	p := o.allowed
	if len(p.Regions) == 0 && o.region != "" {
		p.Regions = []string{o.region}
	}
	if len(p.Accounts) == 0 {
		account, err := o.account(ctx)
		if err != nil {
			return nil, fmt.Errorf("find the deployer's own account (the default of %s): %w", contract.EnvAllowedAccounts, err)
		}
		p.Accounts = []string{account}
	}
	o.resolved = &p
	return o.resolved, nil
}

func (o *ownPolicy) account(ctx context.Context) (string, error) {
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		if parts := strings.Split(lc.InvokedFunctionArn, ":"); len(parts) > 4 && parts[4] != "" {
			return parts[4], nil
		}
	}
	out, err := o.sts.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return "", err
	}
	return aws.ToString(out.Account), nil
}
