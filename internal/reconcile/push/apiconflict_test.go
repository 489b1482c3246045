package push_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"golang.org/x/sync/errgroup"

	"github.com/eventwire/eventwire/internal/aws/apigwsvc"
	"github.com/eventwire/eventwire/internal/aws/elbsvc"
	"github.com/eventwire/eventwire/internal/aws/lambdasvc"
	"github.com/eventwire/eventwire/internal/definition"
	"github.com/eventwire/eventwire/internal/reconcile/push"
	"github.com/eventwire/eventwire/internal/testkit/awsfixture"
	"github.com/eventwire/eventwire/internal/testkit/faultproxy"
	"github.com/eventwire/eventwire/internal/testkit/mototest"
)

// TestApply_SharedAPI_AWSRefusesConcurrentModification: files for many
// functions on one shared HTTP API, applied at once, all apply although
// API Gateway (as the fault proxy models AWS; moto never does) refuses a
// change to an API made while another is in flight or just answered:
// changes to one API are made one at a time, spaced, and a refusal is
// retried.
func TestApply_SharedAPI_AWSRefusesConcurrentModification(t *testing.T) {
	ctx := context.Background()
	srv := mototest.Fresh(t)
	proxy := faultproxy.ForTest(t, srv.URL, faultproxy.Config{Quotas: map[string]faultproxy.Quota{},
		APIGatewayCooldown: faultproxy.AWSAPIGatewayCooldown})
	cfg := srv.Config(t, config.WithBaseEndpoint(proxy.URL))
	fx := awsfixture.New(srv.Config(t))
	const n = 8
	var keys []string
	for i := range n {
		keys = append(keys, fmt.Sprintf("POST /f%d", i))
	}
	api, err := fx.HTTPAPI(ctx, "shared", keys, nil)
	if err != nil {
		t.Fatal(err)
	}
	r := push.New(lambdasvc.NewPermissions(lambda.NewFromConfig(cfg)), elbsvc.New(elasticloadbalancingv2.NewFromConfig(cfg)),
		apigwsvc.New(apigatewayv2.NewFromConfig(cfg)), push.Options{})
	var g errgroup.Group
	for i, key := range keys {
		fn := (&env{ctx: ctx, fx: fx}).function(t, fmt.Sprintf("f%d", i))
		desired := []definition.PushSource{{Service: definition.ServiceAPIGateway, ApiId: api.ID, RouteId: api.Routes[key]}}
		g.Go(func() error {
			actions, err := r.Plan(ctx, fn, desired)
			if err != nil {
				return err
			}
			for _, a := range actions {
				if err := r.Execute(ctx, fn, a); err != nil {
					return fmt.Errorf("%s: %s %s %s: %w", fn.Name, a.Kind, a.Resource, a.ID, err)
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatalf("apply: %v", err)
	}
	plain := apigatewayv2.NewFromConfig(srv.Config(t))
	routes, err := plain.GetRoutes(ctx, &apigatewayv2.GetRoutesInput{ApiId: aws.String(api.ID)})
	if err != nil {
		t.Fatal(err)
	}
	attached := 0
	for _, rt := range routes.Items {
		if strings.HasPrefix(aws.ToString(rt.Target), "integrations/") {
			attached++
		}
	}
	if attached != n {
		t.Errorf("%d of %d routes attached", attached, n)
	}
	t.Logf("calls: %+v", proxy.Snapshot().Total)
}
