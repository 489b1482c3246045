package faultproxy

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
	apitypes "github.com/aws/aws-sdk-go-v2/service/apigatewayv2/types"

	"github.com/eventwire/eventwire/internal/testkit/awsfixture"
	"github.com/eventwire/eventwire/internal/testkit/mototest"
)

// stepClock is a clock that moves only when the test moves it.
type stepClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *stepClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *stepClock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
	return ctx.Err()
}

func (c *stepClock) advance(d time.Duration) { c.Sleep(context.Background(), d) }

// TestAPIGatewayCooldown_AWSRefusesConcurrentModification: API Gateway
// answers 409 ConflictException to a change of an API made while another
// is in flight or just answered (moto never does); reads, and changes of
// another API, are not refused.
func TestAPIGatewayCooldown_AWSRefusesConcurrentModification(t *testing.T) {
	ctx := context.Background()
	fx := awsfixture.New(mototest.Shared(t).Config(t))
	shop, err := fx.HTTPAPI(ctx, unique("shop"), []string{"POST /a", "POST /b"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	other, err := fx.HTTPAPI(ctx, unique("other"), []string{"POST /c"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	clock := &stepClock{now: time.Unix(1_000_000, 0)}
	p := start(t, Config{Quotas: map[string]Quota{}, Clock: clock, APIGatewayCooldown: AWSAPIGatewayCooldown})
	api := apigatewayv2.NewFromConfig(sdkConfig(t, p.URL))
	update := func(a awsfixture.API, route string) error {
		_, err := api.UpdateRoute(ctx, &apigatewayv2.UpdateRouteInput{
			ApiId: aws.String(a.ID), RouteId: aws.String(a.Routes[route]), AuthorizationType: apitypes.AuthorizationTypeNone,
		})
		return err
	}
	conflict := func(err error) bool {
		var ce *apitypes.ConflictException
		return errors.As(err, &ce)
	}
	if err := update(shop, "POST /a"); err != nil {
		t.Fatalf("first change: %v", err)
	}
	clock.advance(10 * time.Millisecond)
	if err := update(shop, "POST /b"); !conflict(err) || httpStatus(err) != 409 {
		t.Errorf("a change 10 ms after another of the same API: %v, want 409 ConflictException", err)
	}
	if _, err := api.GetRoutes(ctx, &apigatewayv2.GetRoutesInput{ApiId: aws.String(shop.ID)}); err != nil {
		t.Errorf("a read meanwhile: %v", err)
	}
	if err := update(other, "POST /c"); err != nil {
		t.Errorf("a change of another API meanwhile: %v", err)
	}
	clock.advance(AWSAPIGatewayCooldown)
	if err := update(shop, "POST /b"); err != nil {
		t.Errorf("a change after the cooldown: %v", err)
	}
	if got := p.Snapshot().Total.Conflicts; got != 1 {
		t.Errorf("conflicts counted: %d, want 1", got)
	}
}

// TestAPIChanges_InFlight: a change is refused while another change of
// the same API is in flight, whatever the time.
func TestAPIChanges_InFlight(t *testing.T) {
	var a apiChanges
	t0 := time.Unix(0, 0)
	if !a.begin("x", t0, time.Millisecond) {
		t.Fatal("first change refused")
	}
	if a.begin("x", t0.Add(time.Hour), time.Millisecond) {
		t.Error("second change accepted while the first is in flight")
	}
	if !a.begin("y", t0, time.Millisecond) {
		t.Error("a change of another API refused")
	}
	a.end("x", t0.Add(time.Second))
	if !a.begin("x", t0.Add(time.Second+time.Millisecond), time.Millisecond) {
		t.Error("a change after the first's answer and the cooldown refused")
	}
}
