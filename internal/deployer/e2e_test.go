package deployer_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/google/go-cmp/cmp"

	"github.com/eventwire/eventwire/internal/contract"
	"github.com/eventwire/eventwire/internal/definition"
	"github.com/eventwire/eventwire/internal/deployer"
	"github.com/eventwire/eventwire/internal/deployer/bucket"
	"github.com/eventwire/eventwire/internal/deployer/compose"
	"github.com/eventwire/eventwire/internal/reconcile"
	"github.com/eventwire/eventwire/internal/records"
	"github.com/eventwire/eventwire/internal/testkit/awsfixture"
	"github.com/eventwire/eventwire/internal/testkit/deployertest"
	"github.com/eventwire/eventwire/internal/testkit/mototest"
)

func TestSettingsFromEnv(t *testing.T) {
	// Without EVENTWIRE_API_IDS every API is refused: an empty list, not
	// nil (unchecked).
	noAPIs := definition.Policy{APIs: []string{}}
	const tg = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/orders-*/*"
	tests := []struct {
		name    string
		env     map[string]string
		want    deployer.Settings
		wantErr string
	}{
		{"table only", map[string]string{"EVENTWIRE_TABLE": "t"}, deployer.Settings{Table: "t", Allowed: noAPIs}, ""},
		{"all", map[string]string{"EVENTWIRE_TABLE": "t", "EVENTWIRE_LEASE_SECONDS": "300", "EVENTWIRE_FUNCTION_PREFIX": "team-"},
			deployer.Settings{Table: "t", LeaseDuration: 300e9, FunctionPrefix: "team-", Allowed: noAPIs}, ""},
		{"key prefixes", map[string]string{"EVENTWIRE_TABLE": "t", "EVENTWIRE_KEY_PREFIX_FUNCTIONS": `{"team-a/":"team-a-"}`},
			deployer.Settings{Table: "t", KeyPrefixFunctions: map[string]string{"team-a/": "team-a-"}, Allowed: noAPIs}, ""},
		{"bad key prefixes", map[string]string{"EVENTWIRE_TABLE": "t", "EVENTWIRE_KEY_PREFIX_FUNCTIONS": `["team-a/"]`}, deployer.Settings{}, "EVENTWIRE_KEY_PREFIX_FUNCTIONS: not a JSON object"},
		{"sources", map[string]string{"EVENTWIRE_TABLE": "t", "EVENTWIRE_BUCKET": "defs", "EVENTWIRE_REPOSITORY": "definitions", "EVENTWIRE_BRANCHES": `["main","release/1"]`},
			deployer.Settings{Table: "t", Bucket: "defs", Repository: "definitions", Branches: []string{"main", "release/1"}, Allowed: noAPIs}, ""},
		{"bad branches", map[string]string{"EVENTWIRE_TABLE": "t", "EVENTWIRE_BRANCHES": "main,dev"}, deployer.Settings{}, `EVENTWIRE_BRANCHES: "main,dev" is not a JSON list of branch names`},
		{"takeover allowed", map[string]string{"EVENTWIRE_TABLE": "t", "EVENTWIRE_ALLOW_TAKEOVER": "true"},
			deployer.Settings{Table: "t", AllowTakeover: true, Allowed: noAPIs}, ""},
		{"takeover not allowed", map[string]string{"EVENTWIRE_TABLE": "t", "EVENTWIRE_ALLOW_TAKEOVER": "false"}, deployer.Settings{Table: "t", Allowed: noAPIs}, ""},
		{"takeover misspelt", map[string]string{"EVENTWIRE_TABLE": "t", "EVENTWIRE_ALLOW_TAKEOVER": "yes"}, deployer.Settings{}, `EVENTWIRE_ALLOW_TAKEOVER: "yes"`},
		{"no table", map[string]string{}, deployer.Settings{}, "EVENTWIRE_TABLE"},
		{"bad lease", map[string]string{"EVENTWIRE_TABLE": "t", "EVENTWIRE_LEASE_SECONDS": "5m"}, deployer.Settings{}, `EVENTWIRE_LEASE_SECONDS: "5m"`},
		{"zero lease", map[string]string{"EVENTWIRE_TABLE": "t", "EVENTWIRE_LEASE_SECONDS": "0"}, deployer.Settings{}, `EVENTWIRE_LEASE_SECONDS: "0"`},
		{"allowlists", map[string]string{"EVENTWIRE_TABLE": "t", "EVENTWIRE_ALLOWED_ACCOUNTS": "123456789012, 210987654321",
			"EVENTWIRE_ALLOWED_REGIONS": "us-east-1,eu-west-1", "EVENTWIRE_ALLOWED_BUCKETS": "audit", "EVENTWIRE_KAFKA_HOSTS": "*.kafka.internal:9092"},
			deployer.Settings{Table: "t", Allowed: definition.Policy{Accounts: []string{"123456789012", "210987654321"},
				Regions: []string{"us-east-1", "eu-west-1"}, Buckets: []string{"audit"}, KafkaHosts: []string{"*.kafka.internal:9092"}, APIs: []string{}}}, ""},
		{"APIs and target groups, comma lists", map[string]string{"EVENTWIRE_TABLE": "t", "EVENTWIRE_API_IDS": "a1b2c3d4e5,f6g7h8i9j0",
			"EVENTWIRE_TARGET_GROUPS": tg},
			deployer.Settings{Table: "t", Allowed: definition.Policy{APIs: []string{"a1b2c3d4e5", "f6g7h8i9j0"}, TargetGroups: []string{tg}}}, ""},
		{"APIs and target groups, JSON lists", map[string]string{"EVENTWIRE_TABLE": "t", "EVENTWIRE_API_IDS": `["*"]`,
			"EVENTWIRE_TARGET_GROUPS": `["` + tg + `"]`},
			deployer.Settings{Table: "t", Allowed: definition.Policy{APIs: []string{"*"}, TargetGroups: []string{tg}}}, ""},
		{"bad API id", map[string]string{"EVENTWIRE_TABLE": "t", "EVENTWIRE_API_IDS": "a1b2*"}, deployer.Settings{},
			`API ids: "a1b2*" is not an HTTP API id`},
		{"bad JSON list", map[string]string{"EVENTWIRE_TABLE": "t", "EVENTWIRE_TARGET_GROUPS": `["a",`}, deployer.Settings{},
			"environment variable EVENTWIRE_TARGET_GROUPS: not a JSON list of strings"},
		{"bad allowlist", map[string]string{"EVENTWIRE_TABLE": "t", "EVENTWIRE_KAFKA_HOSTS": "kafka.internal"}, deployer.Settings{},
			`kafka hosts: "kafka.internal" is not HOST:PORT`},
		{"sweep", map[string]string{"EVENTWIRE_TABLE": "t", "EVENTWIRE_SWEEP_QUEUE_ARN": "arn:aws:sqs:us-east-1:123456789012:sweep",
			"EVENTWIRE_SWEEP_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/sweep", "EVENTWIRE_DRIFT_HEAL": "true",
			"EVENTWIRE_SWEEP_SHARE": "0.25", "EVENTWIRE_SWEEP_CONCURRENCY": "5", "EVENTWIRE_TEARDOWN_GRACE_SECONDS": "30"},
			deployer.Settings{Table: "t", SweepQueueARN: "arn:aws:sqs:us-east-1:123456789012:sweep",
				SweepQueueURL: "https://sqs.us-east-1.amazonaws.com/123456789012/sweep", DriftHeal: true, SweepShare: 0.25, SweepConcurrency: 5,
				TeardownGrace: 30 * time.Second, Allowed: noAPIs}, ""},
		{"heal is true or off", map[string]string{"EVENTWIRE_TABLE": "t", "EVENTWIRE_DRIFT_HEAL": "yes"}, deployer.Settings{Table: "t", Allowed: noAPIs}, ""},
		{"share above 1", map[string]string{"EVENTWIRE_TABLE": "t", "EVENTWIRE_SWEEP_SHARE": "1.5"}, deployer.Settings{}, `EVENTWIRE_SWEEP_SHARE: "1.5"`},
		{"share 0", map[string]string{"EVENTWIRE_TABLE": "t", "EVENTWIRE_SWEEP_SHARE": "0"}, deployer.Settings{}, `EVENTWIRE_SWEEP_SHARE: "0"`},
		{"bad concurrency", map[string]string{"EVENTWIRE_TABLE": "t", "EVENTWIRE_SWEEP_CONCURRENCY": "0"}, deployer.Settings{}, `EVENTWIRE_SWEEP_CONCURRENCY: "0"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := deployer.SettingsFromEnv(func(k string) string { return tt.env[k] })
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.want.SweepShare == 0 {
				tt.want.SweepShare, tt.want.SweepConcurrency = contract.DefaultSweepShare, contract.DefaultSweepConcurrency
			}
			if tt.want.TeardownGrace == 0 { // 0 itself: TestSettingsFromEnv_TeardownGrace
				tt.want.TeardownGrace = contract.DefaultTeardownGraceSeconds * time.Second
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("settings (-want +got):\n%s", diff)
			}
		})
	}
}

// An upload to S3, through the real handler and reconciler: the mapping
// exists in Lambda; replays write nothing; a delete removes it.
func TestEndToEnd_S3UploadWiresTheQueue(t *testing.T) {
	cfg := mototest.Shared(t).Config(t)
	calls := mototest.Record(&cfg)
	h, e, fx := deployertest.EndToEnd(t, cfg)
	const key = "orders/_lambdaeventsourcedef.json"
	v := e.Put(key, deployertest.SQSFile("orders", "orders", 5))
	put, _ := json.Marshal(bucket.S3PutEvent(deployertest.Bucket, key, v, "0055AED6DCD90281E5"))

	invoke := lambda.NewHandler(h.Handle)
	if _, err := invoke.Invoke(context.Background(), put); err != nil {
		t.Fatal(err)
	}
	want := []string{"arn:aws:sqs:us-east-1:123456789012:orders batch=5"}
	if diff := cmp.Diff(want, deployertest.Mappings(t, fx)); diff != "" {
		t.Errorf("mappings (-want +got):\n%s", diff)
	}
	hist := e.History("orders")
	if len(hist) != 1 || hist[0].Outcome != records.Succeeded {
		t.Fatalf("records: %+v", hist)
	}
	// The recorded plan is the reconciler's own text (golden-tested in
	// its package).
	if !strings.Contains(hist[0].Plan, "function orders (orders/_lambdaeventsourcedef.json)") ||
		!strings.Contains(hist[0].Plan, "create      event-source-mapping arn:aws:sqs:us-east-1:123456789012:orders") {
		t.Errorf("recorded plan:\n%s", hist[0].Plan)
	}

	// Ten replays: no write to Lambda at all.
	calls.Reset()
	for i := 0; i < 10; i++ {
		if _, err := invoke.Invoke(context.Background(), put); err != nil {
			t.Fatal(err)
		}
	}
	for _, op := range calls.Writes() {
		if strings.HasPrefix(op, "Lambda.") {
			t.Errorf("replay wrote %s", op)
		}
	}
	if diff := cmp.Diff(want, deployertest.Mappings(t, fx)); diff != "" {
		t.Errorf("mappings after replays (-want +got):\n%s", diff)
	}

	// The file deleted: what eventwire made is removed.
	dm := e.Remove(key)
	del, _ := json.Marshal(bucket.S3RemovalEvent(deployertest.Bucket, key, dm, "0055AED6DCD9028200"))
	if _, err := invoke.Invoke(context.Background(), del); err != nil {
		t.Fatal(err)
	}
	if got := deployertest.Mappings(t, fx); len(got) != 0 {
		t.Errorf("mappings after the delete: %v", got)
	}
}

// failingTransport fails the first Lambda write it sees, as a network
// failure in the middle of an apply would.
type failingTransport struct {
	inner  http.RoundTripper
	failed atomic.Bool
}

func (f *failingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodPost && strings.Contains(r.URL.Path, "/event-source-mappings") && f.failed.CompareAndSwap(false, true) {
		return nil, errors.New("connection reset by peer")
	}
	return f.inner.RoundTrip(r)
}

// An apply interrupted by an AWS failure is returned for Lambda to retry;
// the retry converges on the file.
func TestEndToEnd_InterruptedRunConverges(t *testing.T) {
	cfg := mototest.Shared(t).Config(t)
	ft := &failingTransport{inner: http.DefaultTransport}
	cfg.HTTPClient = &http.Client{Transport: ft}
	cfg.RetryMaxAttempts = 1
	h, e, fx := deployertest.EndToEnd(t, cfg)
	const key = "orders/_lambdaeventsourcedef.json"
	v := e.Put(key, deployertest.SQSFile("orders", "orders", 5))
	put, _ := json.Marshal(bucket.S3PutEvent(deployertest.Bucket, key, v, "0055AED6DCD90281E5"))
	if err := h.Handle(context.Background(), put); err == nil || !strings.Contains(err.Error(), "connection reset") {
		t.Fatalf("first run: err = %v, want the failure", err)
	}
	if got := deployertest.Mappings(t, fx); len(got) != 0 {
		t.Fatalf("mappings after the failed run: %v", got)
	}
	if err := h.Handle(context.Background(), put); err != nil {
		t.Fatalf("retry: %v", err)
	}
	if diff := cmp.Diff([]string{"arn:aws:sqs:us-east-1:123456789012:orders batch=5"}, deployertest.Mappings(t, fx)); diff != "" {
		t.Errorf("mappings (-want +got):\n%s", diff)
	}
	var outcomes []string
	for _, r := range e.History("orders") {
		outcomes = append(outcomes, string(r.Outcome))
	}
	if diff := cmp.Diff([]string{"succeeded", "failed"}, outcomes); diff != "" {
		t.Errorf("records (-want +got):\n%s", diff)
	}
}

// A file uploaded to S3 for orders names a target group that serves the
// function legacy, through the real handler and reconciler: the run is
// recorded as a conflict naming legacy, not retried (the handler returns
// nil), and nothing is applied for orders: legacy stays registered, orders
// gets no grant and no mapping. The same deployer with
// EVENTWIRE_ALLOW_TAKEOVER=true takes the target group over.
func TestEndToEnd_S3TargetGroupOfAnotherFunction_ConflictUnlessAllowed(t *testing.T) {
	cfg := mototest.Shared(t).Config(t)
	h, e, fx := deployertest.EndToEnd(t, cfg)
	ctx := context.Background()
	legacy := must(t)(fx.Function(ctx, "legacy"))
	tg := must(t)(fx.TargetGroup(ctx, "shared"))
	if _, err := fx.ELB.RegisterTargets(ctx, &elasticloadbalancingv2.RegisterTargetsInput{
		TargetGroupArn: aws.String(tg), Targets: []elbtypes.TargetDescription{{Id: aws.String(legacy)}}}); err != nil {
		t.Fatal(err)
	}
	const key = "orders/_lambdaeventsourcedef.json"
	file := fmt.Sprintf(`{"FunctionName": "orders",
  "PushEventSources": [{"Service": "elasticloadbalancing.amazonaws.com", "TargetGroupArn": %q}],
  "PullEventSources": {"EventSourceMapping": {"EventSourceArn": "arn:aws:sqs:us-east-1:123456789012:orders"}}}`, tg)
	put, _ := json.Marshal(bucket.S3PutEvent(deployertest.Bucket, key, e.Put(key, file), "0055AED6DCD90281E5"))
	if err := h.Handle(ctx, put); err != nil {
		t.Fatalf("a conflict must not be retried: err = %v", err)
	}
	hist := e.History("orders")
	if len(hist) != 1 || hist[0].Outcome != records.Conflict || hist[0].Changes != 0 ||
		!strings.Contains(strings.Join(hist[0].Errors, "\n"), "held by "+legacy) {
		t.Fatalf("records: %+v", hist)
	}
	if got := targetsOf(t, fx, tg); !slices.Equal(got, []string{legacy}) {
		t.Errorf("targets after the conflict = %v, want [%s]", got, legacy)
	}
	if _, err := fx.Lambda.GetPolicy(ctx, &awslambda.GetPolicyInput{FunctionName: aws.String("orders")}); err == nil {
		t.Errorf("orders has a policy after the conflict")
	}
	if got := deployertest.Mappings(t, fx); len(got) != 0 {
		t.Errorf("mappings after the conflict: %v", got)
	}

	d := reconcile.New(cfg, deployer.Settings{AllowTakeover: true}.ReconcileOptions(nil))
	allowed := compose.NewFromConfig(cfg, d, deployer.Settings{Table: deployertest.Table, Bucket: deployertest.Bucket, AllowTakeover: true}, e.Config.Logger, deployertest.S3Options)
	put, _ = json.Marshal(bucket.S3PutEvent(deployertest.Bucket, key, e.Put(key, file), "0055AED6DCD90281E6"))
	if err := allowed.Handle(ctx, put); err != nil {
		t.Fatal(err)
	}
	if got, want := targetsOf(t, fx, tg), []string{strings.Replace(legacy, "legacy", "orders", 1)}; !slices.Equal(got, want) {
		t.Errorf("targets after the takeover = %v, want %v", got, want)
	}
	if hist := e.History("orders"); len(hist) != 2 || hist[0].Outcome != records.Succeeded {
		t.Errorf("records after the takeover: %+v", hist)
	}
}

func targetsOf(t *testing.T, fx *awsfixture.Fixture, tg string) []string {
	t.Helper()
	out, err := fx.ELB.DescribeTargetHealth(context.Background(), &elasticloadbalancingv2.DescribeTargetHealthInput{TargetGroupArn: aws.String(tg)})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, d := range out.TargetHealthDescriptions {
		ids = append(ids, aws.ToString(d.Target.Id))
	}
	return ids
}

func must(t *testing.T) func(string, error) string {
	return func(s string, err error) string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
}
