package apigwsvc_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
	"github.com/google/go-cmp/cmp"

	"github.com/eventwire/eventwire/internal/aws/apigwsvc"
	"github.com/eventwire/eventwire/internal/testkit/awsfixture"
	"github.com/eventwire/eventwire/internal/testkit/mototest"
	"github.com/eventwire/eventwire/internal/wiring"
)

func TestMain(m *testing.M) { mototest.Main(m) }

func TestClient(t *testing.T) {
	srv := mototest.Fresh(t)
	ctx := context.Background()
	cfg := srv.Config(t)
	fx := awsfixture.New(cfg)
	sdk := apigatewayv2.NewFromConfig(cfg)
	c := apigwsvc.New(sdk)
	api, err := fx.HTTPAPI(ctx, "shop", []string{"GET /orders/{id}", "$default"},
		map[string]map[string]string{"prod": {"lambdaAlias": "live"}, "beta": {"lambdaAlias": "canary"}})
	if err != nil {
		t.Fatal(err)
	}
	get := api.Routes["GET /orders/{id}"]

	r, err := c.Route(ctx, api.ID, get)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(wiring.Route{ID: get, Key: "GET /orders/{id}"}, r); diff != "" {
		t.Errorf("Route (-want +got):\n%s", diff)
	}
	routes, err := c.Routes(ctx, api.ID)
	if err != nil || len(routes) != 2 {
		t.Errorf("Routes = %v, %v; want 2", routes, err)
	}
	stages, err := c.Stages(ctx, api.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]wiring.Stage{
		{Name: "beta", Variables: map[string]string{"lambdaAlias": "canary"}},
		{Name: "prod", Variables: map[string]string{"lambdaAlias": "live"}},
	}, stages); diff != "" {
		t.Errorf("Stages (-want +got):\n%s", diff)
	}

	const uri = "arn:aws:lambda:us-east-1:123456789012:function:orders"
	id, err := c.CreateIntegration(ctx, api.ID, uri, wiring.IntegrationPrefix+" for "+uri)
	if err != nil {
		t.Fatal(err)
	}
	ints, err := c.Integrations(ctx, api.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]wiring.Integration{{ID: id, Type: "AWS_PROXY", URI: uri, PayloadFormatVersion: "2.0",
		Description: wiring.IntegrationPrefix + " for " + uri}}, ints); diff != "" {
		t.Errorf("Integrations (-want +got):\n%s", diff)
	}
	if err := c.SetRouteTarget(ctx, api.ID, get, "integrations/"+id); err != nil {
		t.Fatal(err)
	}
	if r, _ := c.Route(ctx, api.ID, get); r.Target != "integrations/"+id {
		t.Errorf("route target = %q, want integrations/%s", r.Target, id)
	}

	// Someone else's integration is never deleted.
	theirs, err := sdk.CreateIntegration(ctx, &apigatewayv2.CreateIntegrationInput{
		ApiId: aws.String(api.ID), IntegrationType: "AWS_PROXY", IntegrationUri: aws.String(uri), PayloadFormatVersion: aws.String("2.0"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteIntegration(ctx, api.ID, aws.ToString(theirs.IntegrationId)); !errors.Is(err, apigwsvc.ErrNotManaged) {
		t.Errorf("DeleteIntegration of an unmanaged integration: err = %v, want ErrNotManaged", err)
	}
	if err := c.DeleteIntegration(ctx, api.ID, id); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteIntegration(ctx, api.ID, id); err != nil {
		t.Errorf("DeleteIntegration of a deleted integration: %v, want success", err)
	}
	ints, _ = c.Integrations(ctx, api.ID)
	if len(ints) != 1 || ints[0].ID != aws.ToString(theirs.IntegrationId) {
		t.Errorf("integrations left = %v, want only the unmanaged one", ints)
	}
	if _, err := c.CreateIntegration(ctx, api.ID, uri, "no mark"); err == nil {
		t.Error("CreateIntegration without the managed mark: no error")
	}
	if _, err := c.Route(ctx, "nope", "nope"); !errors.Is(err, apigwsvc.ErrNotFound) {
		t.Errorf("Route of a missing API: err = %v, want ErrNotFound", err)
	}
}

// fakeAPIGateway answers the API Gateway v2 calls that moto does not
// answer as AWS does: GetIntegrations in pages (moto returns one page)
// and UpdateRoute with an empty target (moto ignores it; AWS detaches the
// route).
type fakeAPIGateway struct {
	mu      sync.Mutex
	updates []map[string]any
}

func (f *fakeAPIGateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/v2/apis/api1/integrations":
		switch r.URL.Query().Get("nextToken") {
		case "":
			io.WriteString(w, `{"items":[{"integrationId":"i2","integrationType":"AWS_PROXY"}],"nextToken":"p2"}`)
		case "p2":
			io.WriteString(w, `{"items":[{"integrationId":"i1","integrationType":"HTTP_PROXY"}]}`)
		}
	case r.Method == http.MethodPatch && r.URL.Path == "/v2/apis/api1/routes/r1":
		var body map[string]any
		b, _ := io.ReadAll(r.Body)
		json.Unmarshal(b, &body)
		f.updates = append(f.updates, body)
		io.WriteString(w, `{"routeId":"r1","routeKey":"GET /x"}`)
	default:
		w.Header().Set("X-Amzn-ErrorType", "NotFoundException")
		w.WriteHeader(404)
		io.WriteString(w, `{"message":"not found"}`)
	}
}

func fakeClient(t *testing.T) (*apigwsvc.Client, *fakeAPIGateway) {
	f := &fakeAPIGateway{}
	hs := httptest.NewServer(f)
	t.Cleanup(hs.Close)
	return apigwsvc.New(apigatewayv2.New(apigatewayv2.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(hs.URL),
		Credentials: aws.AnonymousCredentials{}, Retryer: aws.NopRetryer{},
	})), f
}

func TestIntegrations_FakeAWS_AllPages(t *testing.T) {
	c, _ := fakeClient(t)
	ints, err := c.Integrations(context.Background(), "api1")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]wiring.Integration{{ID: "i1", Type: "HTTP_PROXY"}, {ID: "i2", Type: "AWS_PROXY"}}, ints); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestSetRouteTarget_FakeAWS_EmptyTargetDetaches(t *testing.T) {
	c, f := fakeClient(t)
	if err := c.SetRouteTarget(context.Background(), "api1", "r1", ""); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]map[string]any{{"target": ""}}, f.updates); diff != "" {
		t.Errorf("UpdateRoute bodies (-want +got): the empty target must be sent\n%s", diff)
	}
}
