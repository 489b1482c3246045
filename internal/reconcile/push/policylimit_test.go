package push_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"testing"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/eventwire/eventwire/internal/aws/apigwsvc"
	"github.com/eventwire/eventwire/internal/aws/elbsvc"
	"github.com/eventwire/eventwire/internal/aws/lambdasvc"
	"github.com/eventwire/eventwire/internal/definition"
	"github.com/eventwire/eventwire/internal/reconcile/push"
	"github.com/eventwire/eventwire/internal/testkit/awsfixture"
	"github.com/eventwire/eventwire/internal/testkit/faultproxy"
	"github.com/eventwire/eventwire/internal/testkit/mototest"
)

// TestApply_AWSRefusesAPolicyPast20KB: AWS caps a function's resource
// policy at 20,480 bytes (moto has no cap; the fault proxy answers as AWS
// does). 100 routes of one API on one function need a statement each:
// the apply fails with an error that names the function, how many
// statements fill its policy, and what to do.
func TestApply_AWSRefusesAPolicyPast20KB(t *testing.T) {
	ctx := context.Background()
	srv := mototest.Fresh(t)
	proxy := faultproxy.ForTest(t, srv.URL, faultproxy.Config{Quotas: map[string]faultproxy.Quota{}, PolicyLimit: true})
	cfg := srv.Config(t, config.WithBaseEndpoint(proxy.URL))
	fx := awsfixture.New(srv.Config(t))
	var keys []string
	for i := range 100 {
		keys = append(keys, fmt.Sprintf("POST /r%d", i))
	}
	api, err := fx.HTTPAPI(ctx, "big", keys, nil)
	if err != nil {
		t.Fatal(err)
	}
	fn := (&env{ctx: ctx, fx: fx}).function(t, "big")
	var desired []definition.PushSource
	for _, key := range keys {
		desired = append(desired, definition.PushSource{Service: definition.ServiceAPIGateway, ApiId: api.ID, RouteId: api.Routes[key]})
	}
	r := push.New(lambdasvc.NewPermissions(lambda.NewFromConfig(cfg)), elbsvc.New(elasticloadbalancingv2.NewFromConfig(cfg)),
		apigwsvc.New(apigatewayv2.NewFromConfig(cfg)), push.Options{})
	actions, err := r.Plan(ctx, fn, desired)
	if err != nil {
		t.Fatal(err)
	}
	var failed error
	for _, a := range actions {
		if failed = r.Execute(ctx, fn, a); failed != nil {
			break
		}
	}
	if !errors.Is(failed, lambdasvc.ErrPolicyTooLarge) {
		t.Fatalf("apply of 100 routes on one function: %v; want the policy refused as too large", failed)
	}
	if !regexp.MustCompile(`^function big: AWS refuses to add a statement: its \d+ statements already fill the resource policy's 20480 bytes`).MatchString(failed.Error()) {
		t.Errorf("error %q does not name the function and the count", failed)
	}
}
