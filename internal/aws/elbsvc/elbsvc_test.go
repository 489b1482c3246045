package elbsvc_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/google/go-cmp/cmp"

	"github.com/eventwire/eventwire/internal/aws/elbsvc"
	"github.com/eventwire/eventwire/internal/aws/runcache"
	"github.com/eventwire/eventwire/internal/testkit/awsfixture"
	"github.com/eventwire/eventwire/internal/testkit/mototest"
)

func TestMain(m *testing.M) { mototest.Main(m) }

func TestClient(t *testing.T) {
	srv := mototest.Fresh(t)
	ctx := context.Background()
	cfg := srv.Config(t)
	fx := awsfixture.New(cfg)
	c := elbsvc.New(elasticloadbalancingv2.NewFromConfig(cfg))
	tg, err := fx.TargetGroup(ctx, "orders")
	if err != nil {
		t.Fatal(err)
	}
	fn, err := fx.Function(ctx, "orders")
	if err != nil {
		t.Fatal(err)
	}

	got, err := c.TargetGroup(ctx, tg)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(elbsvc.TargetGroup{ARN: tg, Name: "orders", TargetType: elbsvc.TargetTypeLambda}, got); diff != "" {
		t.Errorf("TargetGroup (-want +got):\n%s", diff)
	}
	if ids, err := c.Targets(ctx, tg); err != nil || len(ids) != 0 {
		t.Errorf("Targets of a new group = %v, %v; want none", ids, err)
	}
	if err := c.Register(ctx, tg, fn); err != nil {
		t.Fatal(err)
	}
	ids, err := c.Targets(ctx, tg)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{fn}, ids); diff != "" {
		t.Errorf("Targets after Register (-want +got):\n%s", diff)
	}
	if err := c.Deregister(ctx, tg, fn); err != nil {
		t.Fatal(err)
	}
	if ids, err := c.Targets(ctx, tg); err != nil || len(ids) != 0 {
		t.Errorf("Targets after Deregister = %v, %v; want none", ids, err)
	}

	missing := "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/nope/0000000000000000"
	if _, err := c.TargetGroup(ctx, missing); !errors.Is(err, elbsvc.ErrNotFound) {
		t.Errorf("TargetGroup(missing): err = %v, want ErrNotFound", err)
	}
	if _, err := c.Targets(ctx, missing); !errors.Is(err, elbsvc.ErrNotFound) {
		t.Errorf("Targets(missing): err = %v, want ErrNotFound", err)
	}
	if err := c.Deregister(ctx, missing, fn); err != nil {
		t.Errorf("Deregister from a missing group: %v, want success", err)
	}
}

// fakeELB is a client of a server that answers every call with the
// Query protocol's error code.
func fakeELB(t *testing.T, code, msg string) *elbsvc.Client {
	t.Helper()
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(400)
		io.WriteString(w, `<ErrorResponse xmlns="http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/">
  <Error><Type>Sender</Type><Code>`+code+`</Code><Message>`+msg+`</Message></Error>
  <RequestId>a1</RequestId></ErrorResponse>`)
	}))
	t.Cleanup(hs.Close)
	return elbsvc.New(elasticloadbalancingv2.New(elasticloadbalancingv2.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(hs.URL),
		Credentials: aws.AnonymousCredentials{}, Retryer: aws.NopRetryer{},
	}))
}

const (
	fakeTG = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/tg/1"
	fakeFn = "arn:aws:lambda:us-east-1:123456789012:function:f"
)

// ELBv2 throttles with the Query protocol's error code "Throttling"; moto
// never throttles.
func TestClient_FakeAWS_Throttling(t *testing.T) {
	_, err := fakeELB(t, "Throttling", "Rate exceeded").Targets(context.Background(), fakeTG)
	if !errors.Is(err, elbsvc.ErrThrottled) {
		t.Errorf("err = %v, want ErrThrottled", err)
	}
}

// AWS refuses to register a function that elasticloadbalancing may not
// invoke (moto accepts it): InvalidTarget.
func TestClient_FakeAWS_InvalidTarget(t *testing.T) {
	err := fakeELB(t, "InvalidTarget", "elasticloadbalancing principal does not have permission to invoke the function").Register(context.Background(), fakeTG, fakeFn)
	if !errors.Is(err, elbsvc.ErrInvalidTarget) {
		t.Errorf("err = %v, want ErrInvalidTarget", err)
	}
}

// IAM refuses RegisterTargets on a target group the caller's policy does
// not allow, such as one without the tag its condition asks for (moto
// enforces no IAM): a RegisterDeniedError naming the target group and the
// target, which is ErrAccessDenied.
func TestClient_FakeAWS_RegisterAccessDenied(t *testing.T) {
	err := fakeELB(t, "AccessDenied", "User is not authorized to perform: elasticloadbalancing:RegisterTargets").Register(context.Background(), fakeTG, fakeFn)
	var denied *elbsvc.RegisterDeniedError
	if !errors.As(err, &denied) || !errors.Is(err, elbsvc.ErrAccessDenied) {
		t.Fatalf("err = %v, want a RegisterDeniedError", err)
	}
	if denied.TargetGroup != fakeTG || denied.Target != fakeFn {
		t.Errorf("denied = %+v, want target group %s and target %s", denied, fakeTG, fakeFn)
	}
}

// TestExpect: in a run, the first description of an expected target group
// describes all of them in one call; a batch that names a missing target
// group fails as a whole, and each is then described on its own (the
// missing one is ErrNotFound). Targets are read once per run and follow
// Register and Deregister.
func TestExpect(t *testing.T) {
	srv := mototest.Fresh(t)
	cfg := srv.Config(t)
	fx := awsfixture.New(srv.Config(t))
	calls := mototest.Record(&cfg)
	client := elbsvc.New(elasticloadbalancingv2.NewFromConfig(cfg))
	var arns []string
	for _, name := range []string{"a", "b", "c"} {
		arn, err := fx.TargetGroup(context.Background(), name)
		if err != nil {
			t.Fatal(err)
		}
		arns = append(arns, arn)
	}
	ctx, c := context.Background(), client.WithCache(runcache.New())
	c.Expect(arns)
	for _, arn := range arns {
		if _, err := c.TargetGroup(ctx, arn); err != nil {
			t.Fatal(err)
		}
	}
	if diff := cmp.Diff([]string{"Elastic Load Balancing v2.DescribeTargetGroups"}, calls.All()); diff != "" {
		t.Errorf("calls for three expected target groups (-want +got):\n%s", diff)
	}

	calls.Reset()
	missing := "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/nope/0000000000000000"
	c = client.WithCache(runcache.New())
	c.Expect(append([]string{missing}, arns...))
	if _, err := c.TargetGroup(ctx, arns[0]); err != nil {
		t.Fatal(err)
	}
	if _, err := c.TargetGroup(ctx, missing); !errors.Is(err, elbsvc.ErrNotFound) {
		t.Errorf("TargetGroup of a missing group: %v, want ErrNotFound", err)
	}
	if n := len(calls.All()); n != 3 {
		t.Errorf("%d calls (%v), want 3: the failed batch, then one each", n, calls.All())
	}

	calls.Reset()
	fn, err := fx.Function(context.Background(), "f")
	if err != nil {
		t.Fatal(err)
	}
	c.Targets(ctx, arns[1])
	c.Register(ctx, arns[1], fn)
	if got, _ := c.Targets(ctx, arns[1]); !cmp.Equal(got, []string{fn}) {
		t.Errorf("Targets after Register in a run = %v, want [%s]", got, fn)
	}
	c.Deregister(ctx, arns[1], fn)
	if got, _ := c.Targets(ctx, arns[1]); len(got) != 0 {
		t.Errorf("Targets after Deregister in a run = %v, want none", got)
	}
	want := []string{"Elastic Load Balancing v2.DescribeTargetHealth", "Elastic Load Balancing v2.RegisterTargets", "Elastic Load Balancing v2.DeregisterTargets"}
	if diff := cmp.Diff(want, calls.All()); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
}
