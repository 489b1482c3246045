package quota_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/smithy-go/middleware"
	"github.com/google/go-cmp/cmp"

	"github.com/eventwire/eventwire/internal/aws/quota"
	"github.com/eventwire/eventwire/internal/testkit/faultproxy"
	"github.com/eventwire/eventwire/internal/testkit/mototest"
)

func TestMain(m *testing.M) { mototest.Main(m) }

func TestSet(t *testing.T) {
	tests := []struct {
		bucket, setting string
		want            map[string]quota.Quota
		wantErr         bool
	}{
		{bucket: quota.Lambda, setting: "", want: map[string]quota.Quota{quota.Lambda: {Rate: 15, Burst: 15}, quota.APIGateway: {Rate: 10, Burst: 40}}},
		{bucket: quota.Lambda, setting: "30", want: map[string]quota.Quota{quota.Lambda: {Rate: 30, Burst: 15}, quota.APIGateway: {Rate: 10, Burst: 40}}},
		{bucket: quota.Lambda, setting: "30:60", want: map[string]quota.Quota{quota.Lambda: {Rate: 30, Burst: 60}, quota.APIGateway: {Rate: 10, Burst: 40}}},
		{bucket: quota.APIGateway, setting: "off", want: map[string]quota.Quota{quota.Lambda: {Rate: 15, Burst: 15}}},
		{bucket: "s3", setting: "2.5", want: map[string]quota.Quota{quota.Lambda: {Rate: 15, Burst: 15}, quota.APIGateway: {Rate: 10, Burst: 40}, "s3": {Rate: 2.5, Burst: 2}}},
		{bucket: "s3", setting: "0.5", want: map[string]quota.Quota{quota.Lambda: {Rate: 15, Burst: 15}, quota.APIGateway: {Rate: 10, Burst: 40}, "s3": {Rate: 0.5, Burst: 1}}},
		{bucket: quota.Lambda, setting: "0", wantErr: true},
		{bucket: quota.Lambda, setting: "fast", wantErr: true},
		{bucket: quota.Lambda, setting: "10:0", wantErr: true},
		{bucket: quota.Lambda, setting: "-1", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.bucket+"="+tt.setting, func(t *testing.T) {
			q := map[string]quota.Quota{quota.Lambda: {Rate: 15, Burst: 15}, quota.APIGateway: {Rate: 10, Burst: 40}}
			err := quota.Set(q, tt.bucket, tt.setting)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Set error = %v, want error %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, q); !tt.wantErr && diff != "" {
				t.Errorf("quotas (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		in      string
		want    map[string]quota.Quota
		wantErr bool
	}{
		{in: "", want: map[string]quota.Quota{"lambda": {Rate: 15, Burst: 15}, "apigateway": {Rate: 10, Burst: 40}}},
		{in: "lambda=30:60, apigateway=off", want: map[string]quota.Quota{"lambda": {Rate: 30, Burst: 60}}},
		{in: "s3=0.5:1", want: map[string]quota.Quota{"lambda": {Rate: 15, Burst: 15}, "apigateway": {Rate: 10, Burst: 40}, "s3": {Rate: 0.5, Burst: 1}}},
		{in: "lambda=15", wantErr: true},
		{in: "lambda=x:1", wantErr: true},
		{in: "lambda=1:0", wantErr: true},
		{in: "=1:1", wantErr: true},
	}
	for _, tt := range tests {
		base := map[string]quota.Quota{"lambda": {Rate: 15, Burst: 15}, "apigateway": {Rate: 10, Burst: 40}}
		got, err := quota.Parse(tt.in, base)
		if (err != nil) != tt.wantErr {
			t.Errorf("Parse(%q) error = %v, want error %v", tt.in, err, tt.wantErr)
			continue
		}
		if diff := cmp.Diff(tt.want, got); !tt.wantErr && diff != "" {
			t.Errorf("Parse(%q) (-want +got):\n%s", tt.in, diff)
		}
		if len(base) != 2 {
			t.Errorf("Parse(%q) changed its base", tt.in)
		}
	}
}

func TestFromEnv(t *testing.T) {
	env := map[string]string{"EVENTWIRE_RATE_LAMBDA": "7:7", "EVENTWIRE_RATE_ELBV2_MUTATE": "off"}
	got, err := quota.FromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	want := quota.Defaults()
	want[quota.Lambda] = quota.Quota{Rate: 7, Burst: 7}
	delete(want, quota.ELBMutate)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("FromEnv (-want +got):\n%s", diff)
	}
	env["EVENTWIRE_RATE_APIGATEWAY"] = "many"
	if _, err := quota.FromEnv(func(k string) string { return env[k] }); err == nil {
		t.Errorf("FromEnv with EVENTWIRE_RATE_APIGATEWAY=many: no error")
	}
}

func TestBucket(t *testing.T) {
	tests := []struct{ service, op, want string }{
		{"lambda", "ListEventSourceMappings", quota.Lambda},
		{"lambda", "GetFunction", quota.LambdaGetFunction},
		{"lambda", "GetPolicy", quota.LambdaGetPolicy},
		{"lambda", "Invoke", ""},
		{"apigateway", "GetRoutes", quota.APIGateway},
		{"elasticloadbalancing", "DescribeTargetHealth", quota.ELBDescribe},
		{"elasticloadbalancing", "RegisterTargets", quota.ELBMutate},
		{"s3", "GetObject", ""},
	}
	for _, tt := range tests {
		if got := quota.Bucket(tt.service, tt.op); got != tt.want {
			t.Errorf("Bucket(%s, %s) = %q, want %q", tt.service, tt.op, got, tt.want)
		}
	}
}

// burst makes calls through a proxy that throttles Lambda at 20/s with a
// bucket of 4, from an SDK client without retries (a throttled call fails),
// paced by p.
func burst(t *testing.T, p *quota.Pacer) (failed int, counts faultproxy.Counts) {
	t.Helper()
	proxy, err := faultproxy.Start(mototest.Shared(t).URL, faultproxy.Config{
		Quotas: map[string]quota.Quota{quota.Lambda: {Rate: 20, Burst: 4}},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	cfg, err := config.LoadDefaultConfig(context.Background(),
		config.WithRegion(mototest.Region), config.WithBaseEndpoint(proxy.URL),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("testing", "testing", "")),
		config.WithSharedConfigFiles([]string{}), config.WithSharedCredentialsFiles([]string{}),
		config.WithRetryer(func() aws.Retryer { return aws.NopRetryer{} }))
	if err != nil {
		t.Fatal(err)
	}
	p.Configure(&cfg)
	c := lambda.NewFromConfig(cfg)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := range 24 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := c.ListEventSourceMappings(context.Background(), &lambda.ListEventSourceMappingsInput{
				FunctionName: aws.String(fmt.Sprintf("f%d", i)),
			})
			if err != nil {
				mu.Lock()
				failed++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return failed, proxy.Snapshot().Service("lambda")
}

// TestPacerKeepsCallsUnderTheQuota: 24 concurrent calls against a quota of
// 20/s with a bucket of 4 are throttled without pacing, and none is when
// one Pacer at that quota paces the client.
func TestPacerKeepsCallsUnderTheQuota(t *testing.T) {
	failed, counts := burst(t, nil)
	if failed == 0 || counts.Throttled == 0 {
		t.Fatalf("without pacing: %d failed, %d throttled; want some of each (the test cannot tell pacing apart)", failed, counts.Throttled)
	}
	p := quota.NewPacer(map[string]quota.Quota{quota.Lambda: {Rate: 20, Burst: 4}})
	failed, counts = burst(t, p)
	if failed != 0 || counts.Throttled != 0 || counts.Calls != 24 {
		t.Errorf("with pacing: %d failed, %+v; want 24 calls, none throttled", failed, counts)
	}
	if p.Waited() == 0 {
		t.Errorf("Waited() = 0, want the calls beyond the bucket to have waited")
	}
}

func TestClientBurst(t *testing.T) {
	tests := []struct {
		q    quota.Quota
		want int
	}{
		{quota.Quota{Rate: 15, Burst: 15}, 12},
		{quota.Quota{Rate: 10, Burst: 40}, 38},
		{quota.Quota{Rate: 100, Burst: 100}, 80},
		{quota.Quota{Rate: 1, Burst: 5}, 4},
		{quota.Quota{Rate: 50, Burst: 1}, 1},
	}
	for _, tt := range tests {
		if got := quota.ClientBurst(tt.q); got != tt.want {
			t.Errorf("ClientBurst(%+v) = %d, want %d", tt.q, got, tt.want)
		}
	}
}

func TestNilPacer(t *testing.T) {
	var p *quota.Pacer
	if err := p.Wait(context.Background(), "lambda", "GetFunction"); err != nil {
		t.Errorf("nil Pacer Wait: %v", err)
	}
	cfg := aws.Config{}
	p.Configure(&cfg)
	if len(cfg.APIOptions) != 0 {
		t.Errorf("nil Pacer added %d API options", len(cfg.APIOptions))
	}
	if got := p.String(); got != "off" {
		t.Errorf("String() = %q, want off", got)
	}
}

// Configure appends to a new array: two copies of one configuration with
// room in its options' array, paced by two pacers, each keep their own
// pacer, and the original is untouched.
func TestConfigure_LeavesOtherCopiesAlone(t *testing.T) {
	var cfg aws.Config
	cfg.APIOptions = make([]func(*middleware.Stack) error, 1, 4)
	a, b := cfg, cfg
	quota.NewPacer(quota.Defaults()).Configure(&a)
	quota.NewPacer(quota.Defaults()).Configure(&b)
	if len(a.APIOptions) != 2 || len(b.APIOptions) != 2 {
		t.Fatalf("options: %d and %d, want 2 each", len(a.APIOptions), len(b.APIOptions))
	}
	if &a.APIOptions[1] == &b.APIOptions[1] {
		t.Error("the two copies share their pacing option: the second pacer replaced the first")
	}
	if cfg.APIOptions[:2][1] != nil {
		t.Error("Configure wrote into the original configuration's array")
	}
}
