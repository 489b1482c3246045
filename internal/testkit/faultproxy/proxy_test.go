package faultproxy

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
	apitypes "github.com/aws/aws-sdk-go-v2/service/apigatewayv2/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/google/go-cmp/cmp"

	"github.com/eventwire/eventwire/internal/testkit/awsfixture"
	"github.com/eventwire/eventwire/internal/testkit/mototest"
)

// The one place this package touches mototest: one moto for the binary,
// started by the first test that needs it.
func TestMain(m *testing.M) { mototest.Main(m) }

func motoURL(t *testing.T) string { return mototest.Shared(t).URL }

// sdkConfig is an SDK configuration for endpoint with the SDK's retries off,
// so that each call is one request and its error is the proxy's answer.
func sdkConfig(t *testing.T, endpoint string, opts ...func(*config.LoadOptions) error) aws.Config {
	t.Helper()
	base := []func(*config.LoadOptions) error{
		config.WithRegion(mototest.Region),
		config.WithBaseEndpoint(endpoint),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("testing", "testing", "")),
		config.WithSharedConfigFiles([]string{}),
		config.WithSharedCredentialsFiles([]string{}),
		config.WithRetryer(func() aws.Retryer { return aws.NopRetryer{} }),
	}
	cfg, err := config.LoadDefaultConfig(context.Background(), append(base, opts...)...)
	if err != nil {
		t.Fatalf("load aws config: %v", err)
	}
	return cfg
}

// start starts a proxy in front of moto for one test.
func start(t *testing.T, cfg Config) *Proxy {
	t.Helper()
	p, err := Start(motoURL(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// clients are SDK clients of one configuration.
type clients struct {
	lambda *lambda.Client
	api    *apigatewayv2.Client
	elb    *elb.Client
}

func newClients(cfg aws.Config) clients {
	return clients{lambda: lambda.NewFromConfig(cfg), api: apigatewayv2.NewFromConfig(cfg), elb: elb.NewFromConfig(cfg)}
}

var seq atomic.Int64

// unique returns a name no other test uses in this moto.
func unique(prefix string) string { return fmt.Sprintf("%s-%d", prefix, seq.Add(1)) }

func isThrottle(err error) bool {
	return retry.IsErrorThrottles(retry.DefaultThrottles).IsErrorThrottle(err) == aws.TrueTernary
}

func httpStatus(err error) int {
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

func TestThrottling(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name   string
		bucket string
		op     Call
		call   func(c clients) error
		// other is a call of another bucket of the same service, which must
		// still pass once the bucket is empty; nil: none.
		other      func(c clients) error
		wantCode   string
		wantStatus int
		typed      func(error) bool
	}{
		{
			name: "lambda shared bucket", bucket: BucketLambda, op: Call{"lambda", "ListEventSourceMappings"},
			call: func(c clients) error {
				_, err := c.lambda.ListEventSourceMappings(ctx, &lambda.ListEventSourceMappingsInput{})
				return err
			},
			other: func(c clients) error {
				_, err := c.lambda.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("missing")})
				return err
			},
			wantCode: "TooManyRequestsException", wantStatus: 429,
			typed: func(err error) bool { var e *lambdatypes.TooManyRequestsException; return errors.As(err, &e) },
		},
		{
			name: "lambda GetPolicy bucket", bucket: BucketLambdaGetPolicy, op: Call{"lambda", "GetPolicy"},
			call: func(c clients) error {
				_, err := c.lambda.GetPolicy(ctx, &lambda.GetPolicyInput{FunctionName: aws.String("missing")})
				return err
			},
			other: func(c clients) error {
				_, err := c.lambda.ListEventSourceMappings(ctx, &lambda.ListEventSourceMappingsInput{})
				return err
			},
			wantCode: "TooManyRequestsException", wantStatus: 429,
			typed: func(err error) bool { var e *lambdatypes.TooManyRequestsException; return errors.As(err, &e) },
		},
		{
			name: "api gateway", bucket: BucketAPIGateway, op: Call{"apigateway", "GetApis"},
			call: func(c clients) error {
				_, err := c.api.GetApis(ctx, &apigatewayv2.GetApisInput{})
				return err
			},
			wantCode: "TooManyRequestsException", wantStatus: 429,
			typed: func(err error) bool { var e *apitypes.TooManyRequestsException; return errors.As(err, &e) },
		},
		{
			name: "elbv2 describe", bucket: BucketELBDescribe, op: Call{"elasticloadbalancing", "DescribeTargetGroups"},
			call: func(c clients) error {
				_, err := c.elb.DescribeTargetGroups(ctx, &elb.DescribeTargetGroupsInput{})
				return err
			},
			other: func(c clients) error {
				_, err := c.elb.CreateTargetGroup(ctx, &elb.CreateTargetGroupInput{
					Name: aws.String(unique("tg")), TargetType: elbtypes.TargetTypeEnumLambda,
				})
				return err
			},
			wantCode: "Throttling", wantStatus: 400,
		},
		{
			name: "elbv2 mutate", bucket: BucketELBMutate, op: Call{"elasticloadbalancing", "CreateTargetGroup"},
			call: func(c clients) error {
				_, err := c.elb.CreateTargetGroup(ctx, &elb.CreateTargetGroupInput{
					Name: aws.String(unique("tg")), TargetType: elbtypes.TargetTypeEnumLambda,
				})
				return err
			},
			other: func(c clients) error {
				_, err := c.elb.DescribeTargetGroups(ctx, &elb.DescribeTargetGroupsInput{})
				return err
			},
			wantCode: "Throttling", wantStatus: 400,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			quotas := DefaultQuotas()
			quotas[tt.bucket] = Quota{Rate: 0, Burst: 2} // two calls, never refilled
			p := start(t, Config{Quotas: quotas})
			c := newClients(sdkConfig(t, p.URL))
			for i := 0; i < 2; i++ {
				if err := tt.call(c); isThrottle(err) {
					t.Fatalf("call %d within the burst was throttled: %v", i+1, err)
				}
			}
			err := tt.call(c)
			if !isThrottle(err) {
				t.Fatalf("third call: %v, want an error the SDK's retryer takes for throttling", err)
			}
			var ae smithy.APIError
			if !errors.As(err, &ae) || ae.ErrorCode() != tt.wantCode {
				t.Errorf("third call: %v, want API error code %s", err, tt.wantCode)
			}
			if got := httpStatus(err); got != tt.wantStatus {
				t.Errorf("third call: HTTP status %d, want %d", got, tt.wantStatus)
			}
			if tt.typed != nil && !tt.typed(err) {
				t.Errorf("third call: %T, want the service's typed exception", err)
			}
			if tt.other != nil {
				if err := tt.other(c); isThrottle(err) {
					t.Errorf("a call of another bucket was throttled: %v", err)
				}
			}
			snap := p.Snapshot()
			want := Counts{Calls: 3, Throttled: 1}
			if diff := cmp.Diff(want, snap.Calls[tt.op]); diff != "" {
				t.Errorf("counts of %v (-want +got):\n%s", tt.op, diff)
			}
			if diff := cmp.Diff(want, snap.Buckets[tt.bucket]); diff != "" {
				t.Errorf("counts of bucket %s (-want +got):\n%s", tt.bucket, diff)
			}
			if snap.Total.Throttled != 1 {
				t.Errorf("total throttled = %d, want 1", snap.Total.Throttled)
			}
		})
	}
}

func TestConcurrentThrottling(t *testing.T) {
	p := start(t, Config{Quotas: map[string]Quota{BucketLambda: {Rate: 0, Burst: 10}}})
	c := newClients(sdkConfig(t, p.URL))
	var wg sync.WaitGroup
	var throttled atomic.Int64
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := c.lambda.ListEventSourceMappings(context.Background(), &lambda.ListEventSourceMappingsInput{})
			if isThrottle(err) {
				throttled.Add(1)
			} else if err != nil {
				t.Errorf("ListEventSourceMappings: %v", err)
			}
		}()
	}
	wg.Wait()
	if got := throttled.Load(); got != 30 {
		t.Errorf("%d of 40 calls throttled, want 30 past a burst of 10", got)
	}
	want := Counts{Calls: 40, Throttled: 30}
	if diff := cmp.Diff(want, p.Snapshot().Buckets[BucketLambda]); diff != "" {
		t.Errorf("bucket counts (-want +got):\n%s", diff)
	}
	p.Reset()
	if diff := cmp.Diff(Snapshot{Calls: map[Call]Counts{}, Buckets: map[string]Counts{}}, p.Snapshot()); diff != "" {
		t.Errorf("after Reset (-want +got):\n%s", diff)
	}
}

func TestInjectedFaults(t *testing.T) {
	ctx := context.Background()
	direct := newClients(sdkConfig(t, motoURL(t)))
	apiNamed := func(t *testing.T, name string) bool {
		t.Helper()
		out, err := direct.api.GetApis(ctx, &apigatewayv2.GetApisInput{})
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range out.Items {
			if aws.ToString(a.Name) == name {
				return true
			}
		}
		return false
	}
	tests := []struct {
		name  string
		op    Call
		fault Fault
		call  func(c clients, name string) error
		// check checks the call's error.
		check func(t *testing.T, err error)
		// created, when not nil, is whether the call took effect.
		created    *bool
		wantCounts Counts
	}{
		{
			name: "lambda 500", op: Call{"lambda", "ListEventSourceMappings"}, fault: Error500,
			call: func(c clients, _ string) error {
				_, err := c.lambda.ListEventSourceMappings(ctx, &lambda.ListEventSourceMappingsInput{})
				return err
			},
			check: func(t *testing.T, err error) {
				var e *lambdatypes.ServiceException
				if !errors.As(err, &e) || httpStatus(err) != 500 {
					t.Errorf("error %v, want a lambda ServiceException with status 500", err)
				}
			},
			wantCounts: Counts{Calls: 1, Errors: 1},
		},
		{
			name: "elbv2 503", op: Call{"elasticloadbalancing", "DescribeTargetGroups"}, fault: Error503,
			call: func(c clients, _ string) error {
				_, err := c.elb.DescribeTargetGroups(ctx, &elb.DescribeTargetGroupsInput{})
				return err
			},
			check: func(t *testing.T, err error) {
				var ae smithy.APIError
				if !errors.As(err, &ae) || ae.ErrorCode() != "ServiceUnavailable" || httpStatus(err) != 503 {
					t.Errorf("error %v, want ServiceUnavailable with status 503", err)
				}
			},
			wantCounts: Counts{Calls: 1, Errors: 1},
		},
		{
			name: "api gateway 500", op: Call{"apigateway", "GetApis"}, fault: Error500,
			call: func(c clients, _ string) error {
				_, err := c.api.GetApis(ctx, &apigatewayv2.GetApisInput{})
				return err
			},
			check: func(t *testing.T, err error) {
				if httpStatus(err) != 500 {
					t.Errorf("error %v, want status 500", err)
				}
			},
			wantCounts: Counts{Calls: 1, Errors: 1},
		},
		{
			name: "drop before forwarding", op: Call{"apigateway", "CreateApi"}, fault: Drop,
			call: func(c clients, name string) error {
				_, err := c.api.CreateApi(ctx, &apigatewayv2.CreateApiInput{Name: aws.String(name), ProtocolType: apitypes.ProtocolTypeHttp})
				return err
			},
			created:    aws.Bool(false),
			wantCounts: Counts{Calls: 1, Dropped: 1},
		},
		{
			name: "drop after forwarding", op: Call{"apigateway", "CreateApi"}, fault: DropAfter,
			call: func(c clients, name string) error {
				_, err := c.api.CreateApi(ctx, &apigatewayv2.CreateApiInput{Name: aws.String(name), ProtocolType: apitypes.ProtocolTypeHttp})
				return err
			},
			created:    aws.Bool(true),
			wantCounts: Counts{Calls: 1, Dropped: 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := start(t, Config{Quotas: map[string]Quota{}})
			p.FailNext(tt.op, tt.fault, 1)
			c := newClients(sdkConfig(t, p.URL))
			name := unique("api")
			err := tt.call(c, name)
			if err == nil {
				t.Fatalf("call succeeded, want the %v fault", tt.fault)
			}
			if isThrottle(err) {
				t.Errorf("a %v fault is taken for throttling: %v", tt.fault, err)
			}
			if retry.IsErrorRetryables(retry.DefaultRetryables).IsErrorRetryable(err) != aws.TrueTernary {
				t.Errorf("the SDK would not retry the %v fault: %v", tt.fault, err)
			}
			switch tt.fault {
			case Drop, DropAfter:
				var se *smithyhttp.RequestSendError
				if !errors.As(err, &se) {
					t.Errorf("error %v (%T), want a transport error", err, err)
				}
			default:
				tt.check(t, err)
			}
			if tt.created != nil {
				if got := apiNamed(t, name); got != *tt.created {
					t.Errorf("API %s exists = %v, want %v", name, got, *tt.created)
				}
			}
			if diff := cmp.Diff(tt.wantCounts, p.Snapshot().Calls[tt.op]); diff != "" {
				t.Errorf("counts (-want +got):\n%s", diff)
			}
			// The fault was for one call only.
			if err := tt.call(c, unique("api")); err != nil {
				t.Errorf("the next call: %v, want success", err)
			}
		})
	}
}

func TestSDKRetriesAbsorbFaults(t *testing.T) {
	p := start(t, Config{Quotas: map[string]Quota{}})
	op := Call{"apigateway", "CreateApi"}
	p.FailNext(op, Error503, 1)
	p.FailNext(op, Drop, 1)
	cfg := sdkConfig(t, p.URL, config.WithRetryer(func() aws.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = 3
			o.Backoff = retry.NewExponentialJitterBackoff(time.Millisecond)
		})
	}))
	c := newClients(cfg)
	if _, err := c.api.CreateApi(context.Background(), &apigatewayv2.CreateApiInput{
		Name: aws.String(unique("api")), ProtocolType: apitypes.ProtocolTypeHttp,
	}); err != nil {
		t.Fatalf("CreateApi through a 503 and a drop: %v", err)
	}
	want := Counts{Calls: 3, Errors: 1, Dropped: 1}
	if diff := cmp.Diff(want, p.Snapshot().Calls[op]); diff != "" {
		t.Errorf("counts (-want +got):\n%s", diff)
	}
}

func TestRandomFaultsAreReproducible(t *testing.T) {
	faults := Faults{Error500: 0.3, Error503: 0.2, Seed: 7,
		Match: func(c Call) bool { return c.Service == "lambda" }}
	run := func() ([]int, Snapshot) {
		p := start(t, Config{Quotas: map[string]Quota{}, Faults: faults})
		c := newClients(sdkConfig(t, p.URL))
		ctx := context.Background()
		var statuses []int
		for i := 0; i < 30; i++ {
			_, err := c.lambda.ListEventSourceMappings(ctx, &lambda.ListEventSourceMappingsInput{})
			statuses = append(statuses, httpStatus(err))
			// Not matched: never faulted.
			if _, err := c.api.GetApis(ctx, &apigatewayv2.GetApisInput{}); err != nil {
				t.Fatalf("GetApis: %v", err)
			}
		}
		return statuses, p.Snapshot()
	}
	first, snap := run()
	second, _ := run()
	if diff := cmp.Diff(first, second); diff != "" {
		t.Errorf("the same seed gave other faults (-first +second):\n%s", diff)
	}
	var errs int
	for _, s := range first {
		if s != 0 {
			errs++
		}
	}
	got := snap.Calls[Call{"lambda", "ListEventSourceMappings"}]
	if got.Calls != 30 || got.Errors != errs {
		t.Errorf("counts %+v, want 30 calls and the %d errors the client saw", got, errs)
	}
	if errs == 0 || errs == 30 {
		t.Errorf("%d of 30 calls faulted at a rate of 0.5", errs)
	}
	if got := snap.Calls[Call{"apigateway", "GetApis"}]; got != (Counts{Calls: 30}) {
		t.Errorf("unmatched calls: %+v, want 30 calls and no fault", got)
	}
}

func TestMappingState(t *testing.T) {
	ctx := context.Background()
	fx := awsfixture.New(sdkConfig(t, motoURL(t)))
	fn := unique("fn")
	if _, err := fx.Function(ctx, fn); err != nil {
		t.Fatal(err)
	}
	queue, err := fx.Queue(ctx, unique("q"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := fx.Lambda.CreateEventSourceMapping(ctx, &lambda.CreateEventSourceMappingInput{
		FunctionName: aws.String(fn), EventSourceArn: aws.String(queue), BatchSize: aws.Int32(10),
	})
	if err != nil {
		t.Fatal(err)
	}
	uuid := aws.ToString(m.UUID)
	own, err := fx.Lambda.GetEventSourceMapping(ctx, &lambda.GetEventSourceMappingInput{UUID: m.UUID})
	if err != nil {
		t.Fatal(err)
	}
	ownState, ownReason := aws.ToString(own.State), aws.ToString(own.StateTransitionReason)

	type read struct{ state, reason string }
	tests := []struct {
		name  string
		set   MappingState
		reads []string // "get" or "list", in order
		// clear, if > 0, clears the state after this many reads.
		clear int
		want  []read
	}{
		{
			name: "creating for two reads", set: MappingState{State: "Creating", Reads: 2},
			reads: []string{"get", "list", "get", "list"},
			want:  []read{{"Creating", ownReason}, {"Creating", ownReason}, {ownState, ownReason}, {ownState, ownReason}},
		},
		{
			name: "updating until cleared", set: MappingState{State: "Updating", Reason: "held by the test", Reads: -1},
			reads: []string{"get", "list", "get", "get"}, clear: 3,
			want: []read{{"Updating", "held by the test"}, {"Updating", "held by the test"}, {"Updating", "held by the test"}, {ownState, ownReason}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := start(t, Config{Quotas: map[string]Quota{}})
			c := newClients(sdkConfig(t, p.URL))
			p.SetMappingState(uuid, tt.set)
			var got []read
			for i, kind := range tt.reads {
				if tt.clear > 0 && i == tt.clear {
					p.ClearMappingState(uuid)
				}
				switch kind {
				case "get":
					out, err := c.lambda.GetEventSourceMapping(ctx, &lambda.GetEventSourceMappingInput{UUID: aws.String(uuid)})
					if err != nil {
						t.Fatal(err)
					}
					got = append(got, read{aws.ToString(out.State), aws.ToString(out.StateTransitionReason)})
				case "list":
					out, err := c.lambda.ListEventSourceMappings(ctx, &lambda.ListEventSourceMappingsInput{FunctionName: aws.String(fn)})
					if err != nil {
						t.Fatal(err)
					}
					found := false
					for _, m := range out.EventSourceMappings {
						if aws.ToString(m.UUID) == uuid {
							got = append(got, read{aws.ToString(m.State), aws.ToString(m.StateTransitionReason)})
							found = true
						}
					}
					if !found {
						t.Fatalf("list of %s lacks mapping %s", fn, uuid)
					}
				}
			}
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(read{})); diff != "" {
				t.Errorf("reads (-want +got):\n%s", diff)
			}
		})
	}
}

// sleepClock records the latency the proxy adds instead of sleeping.
type sleepClock struct {
	mu    sync.Mutex
	slept []time.Duration
}

func (c *sleepClock) Now() time.Time { return time.Unix(0, 0) }

func (c *sleepClock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	c.slept = append(c.slept, d)
	c.mu.Unlock()
	return ctx.Err()
}

func TestLatency(t *testing.T) {
	clock := &sleepClock{}
	p := start(t, Config{Latency: 20 * time.Millisecond, Quotas: map[string]Quota{}, Clock: clock})
	c := newClients(sdkConfig(t, p.URL))
	ctx := context.Background()
	calls := func() {
		c.lambda.ListEventSourceMappings(ctx, &lambda.ListEventSourceMappingsInput{})
		c.api.GetApis(ctx, &apigatewayv2.GetApisInput{})
		c.elb.DescribeTargetGroups(ctx, &elb.DescribeTargetGroupsInput{})
	}
	calls()
	p.SetLatency(0)
	calls()
	want := []time.Duration{20 * time.Millisecond, 20 * time.Millisecond, 20 * time.Millisecond}
	if diff := cmp.Diff(want, clock.slept); diff != "" {
		t.Errorf("latency added (-want +got):\n%s", diff)
	}
	if got := p.Snapshot().Total.Calls; got != 6 {
		t.Errorf("calls = %d, want 6", got)
	}
}

// TestIdentifySDK checks the proxy names every call as the SDK does.
func TestIdentifySDK(t *testing.T) {
	p := start(t, Config{Quotas: map[string]Quota{}})
	cfg := sdkConfig(t, p.URL)
	signing := map[string]string{
		"Lambda": "lambda", "ApiGatewayV2": "apigateway", "Elastic Load Balancing v2": "elasticloadbalancing",
		"SQS": "sqs", "S3": "s3", "DynamoDB": "dynamodb", "IAM": "iam",
	}
	var mu sync.Mutex
	sent := map[Call]Counts{}
	cfg.APIOptions = append(cfg.APIOptions, func(st *middleware.Stack) error {
		return st.Initialize.Add(middleware.InitializeMiddlewareFunc("record",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				mu.Lock()
				c := Call{signing[middleware.GetServiceID(ctx)], middleware.GetOperationName(ctx)}
				n := sent[c]
				n.Calls++
				sent[c] = n
				mu.Unlock()
				return next.HandleInitialize(ctx, in)
			}), middleware.After)
	})
	ctx := context.Background()
	lc, ac, ec := lambda.NewFromConfig(cfg), apigatewayv2.NewFromConfig(cfg), elb.NewFromConfig(cfg)
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	fn, id, arn := aws.String("missing"), aws.String("nope"), aws.String("arn:aws:lambda:us-east-1:123456789012:event-source-mapping:nope")
	bucket := aws.String(strings.ToLower(unique("bucket")))
	// Errors are moto's answers to missing resources: only the names count.
	lc.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: fn})
	lc.GetPolicy(ctx, &lambda.GetPolicyInput{FunctionName: fn})
	lc.AddPermission(ctx, &lambda.AddPermissionInput{FunctionName: fn, StatementId: id, Action: aws.String("lambda:InvokeFunction"), Principal: aws.String("elasticloadbalancing.amazonaws.com")})
	lc.RemovePermission(ctx, &lambda.RemovePermissionInput{FunctionName: fn, StatementId: id})
	lc.ListAliases(ctx, &lambda.ListAliasesInput{FunctionName: fn})
	lc.ListEventSourceMappings(ctx, &lambda.ListEventSourceMappingsInput{FunctionName: fn})
	lc.GetEventSourceMapping(ctx, &lambda.GetEventSourceMappingInput{UUID: id})
	lc.UpdateEventSourceMapping(ctx, &lambda.UpdateEventSourceMappingInput{UUID: id, BatchSize: aws.Int32(5)})
	lc.DeleteEventSourceMapping(ctx, &lambda.DeleteEventSourceMappingInput{UUID: id})
	lc.CreateEventSourceMapping(ctx, &lambda.CreateEventSourceMappingInput{FunctionName: fn, EventSourceArn: aws.String("arn:aws:sqs:us-east-1:123456789012:missing")})
	lc.ListTags(ctx, &lambda.ListTagsInput{Resource: arn})
	lc.TagResource(ctx, &lambda.TagResourceInput{Resource: arn, Tags: map[string]string{"a": "b"}})
	lc.UntagResource(ctx, &lambda.UntagResourceInput{Resource: arn, TagKeys: []string{"a"}})
	ac.GetApis(ctx, &apigatewayv2.GetApisInput{})
	ac.GetRoutes(ctx, &apigatewayv2.GetRoutesInput{ApiId: id})
	ac.GetIntegrations(ctx, &apigatewayv2.GetIntegrationsInput{ApiId: id})
	ac.GetStages(ctx, &apigatewayv2.GetStagesInput{ApiId: id})
	ac.CreateIntegration(ctx, &apigatewayv2.CreateIntegrationInput{ApiId: id, IntegrationType: apitypes.IntegrationTypeAwsProxy})
	ac.UpdateRoute(ctx, &apigatewayv2.UpdateRouteInput{ApiId: id, RouteId: id, Target: aws.String("integrations/x")})
	ec.DescribeTargetGroups(ctx, &elb.DescribeTargetGroupsInput{})
	ec.DescribeTargetHealth(ctx, &elb.DescribeTargetHealthInput{TargetGroupArn: arn})
	ec.RegisterTargets(ctx, &elb.RegisterTargetsInput{TargetGroupArn: arn, Targets: []elbtypes.TargetDescription{{Id: arn}}})
	sqs.NewFromConfig(cfg).ListQueues(ctx, &sqs.ListQueuesInput{})
	s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: bucket})
	s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: bucket, Key: aws.String("a/b.json"), Body: strings.NewReader("{}")})
	s3c.GetObject(ctx, &s3.GetObjectInput{Bucket: bucket, Key: aws.String("a/b.json")})
	s3c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: bucket, Key: aws.String("a/b.json")})
	s3c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: bucket})
	dynamodb.NewFromConfig(cfg).DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: id})
	iam.NewFromConfig(cfg).GetRole(ctx, &iam.GetRoleInput{RoleName: id})

	if diff := cmp.Diff(sent, p.Snapshot().Calls); diff != "" {
		t.Errorf("calls the SDK sent (-) and the proxy saw (+):\n%s", diff)
	}
}
