// Package apigwsvc is eventwire's adapter for API Gateway v2 (HTTP APIs):
// routes, their Lambda proxy integrations, and stages. It declares the
// slice of the SDK client it needs and translates SDK errors once, here.
//
// It returns what it reads as internal/wiring's plain data. eventwire
// never deletes a route or an API. It deletes only integrations whose
// description carries wiring.IntegrationPrefix, the mark it puts on those it
// creates.
//
// Like every adapter under internal/aws, it imports the SDK and plain
// data, never its callers (the reconciler, the deployer, the CLI) nor a
// test kit (internal/layers checks).
package apigwsvc

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2/types"

	"github.com/eventwire/eventwire/internal/aws/runcache"
	"github.com/eventwire/eventwire/internal/wiring"
)

// API is the slice of the API Gateway v2 client that Client needs.
type API interface {
	GetRoute(ctx context.Context, in *apigatewayv2.GetRouteInput, opts ...func(*apigatewayv2.Options)) (*apigatewayv2.GetRouteOutput, error)
	GetRoutes(ctx context.Context, in *apigatewayv2.GetRoutesInput, opts ...func(*apigatewayv2.Options)) (*apigatewayv2.GetRoutesOutput, error)
	UpdateRoute(ctx context.Context, in *apigatewayv2.UpdateRouteInput, opts ...func(*apigatewayv2.Options)) (*apigatewayv2.UpdateRouteOutput, error)
	GetIntegrations(ctx context.Context, in *apigatewayv2.GetIntegrationsInput, opts ...func(*apigatewayv2.Options)) (*apigatewayv2.GetIntegrationsOutput, error)
	GetIntegration(ctx context.Context, in *apigatewayv2.GetIntegrationInput, opts ...func(*apigatewayv2.Options)) (*apigatewayv2.GetIntegrationOutput, error)
	CreateIntegration(ctx context.Context, in *apigatewayv2.CreateIntegrationInput, opts ...func(*apigatewayv2.Options)) (*apigatewayv2.CreateIntegrationOutput, error)
	DeleteIntegration(ctx context.Context, in *apigatewayv2.DeleteIntegrationInput, opts ...func(*apigatewayv2.Options)) (*apigatewayv2.DeleteIntegrationOutput, error)
	GetStages(ctx context.Context, in *apigatewayv2.GetStagesInput, opts ...func(*apigatewayv2.Options)) (*apigatewayv2.GetStagesOutput, error)
}

// Sentinel errors that callers test with errors.Is.
var (
	// ErrNotFound: NotFoundException (API, route, integration or stage).
	ErrNotFound = errors.New("not found")
	// ErrConflict: ConflictException.
	ErrConflict = errors.New("conflict")
	// ErrThrottled: TooManyRequestsException (10 requests/s per account).
	ErrThrottled = errors.New("throttled")
	// ErrNotManaged: eventwire refused to delete an integration it did not
	// create.
	ErrNotManaged = errors.New("integration not managed by eventwire")
)

func translate(err error) error {
	if err == nil {
		return nil
	}
	var (
		nf *types.NotFoundException
		ce *types.ConflictException
		tm *types.TooManyRequestsException
	)
	switch {
	case errors.As(err, &nf):
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	case errors.As(err, &ce):
		return fmt.Errorf("%w: %w", ErrConflict, err)
	case errors.As(err, &tm):
		return fmt.Errorf("%w: %w", ErrThrottled, err)
	}
	return err
}

// Client reads and changes HTTP API routes and integrations.
type Client struct {
	api API
}

// New returns a Client on api (usually an *apigatewayv2.Client).
func New(api API) *Client { return &Client{api: api} }

// Route returns the route routeID of the API apiID.
func (c *Client) Route(ctx context.Context, apiID, routeID string) (wiring.Route, error) {
	out, err := c.api.GetRoute(ctx, &apigatewayv2.GetRouteInput{ApiId: aws.String(apiID), RouteId: aws.String(routeID)})
	if err != nil {
		return wiring.Route{}, fmt.Errorf("get route %s of api %s: %w", routeID, apiID, translate(err))
	}
	return wiring.Route{ID: aws.ToString(out.RouteId), Key: aws.ToString(out.RouteKey), Target: aws.ToString(out.Target)}, nil
}

// Run-cache keys (internal/aws/runcache): an API's routes, integrations and
// stages are read once per run, shared by every function of the run, and
// updated by eventwire's own writes.
func routesKey(apiID string) string       { return "apigw/routes/" + apiID }
func integrationsKey(apiID string) string { return "apigw/integrations/" + apiID }
func stagesKey(apiID string) string       { return "apigw/stages/" + apiID }

// Routes returns all routes of the API, sorted by id, read once per run.
func (c *Client) Routes(ctx context.Context, apiID string) ([]wiring.Route, error) {
	return runcache.Load(ctx, routesKey(apiID), func() ([]wiring.Route, error) { return c.routes(ctx, apiID) })
}

func (c *Client) routes(ctx context.Context, apiID string) ([]wiring.Route, error) {
	var routes []wiring.Route
	in := &apigatewayv2.GetRoutesInput{ApiId: aws.String(apiID)}
	for {
		out, err := c.api.GetRoutes(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("get routes of api %s: %w", apiID, translate(err))
		}
		for _, r := range out.Items {
			routes = append(routes, wiring.Route{ID: aws.ToString(r.RouteId), Key: aws.ToString(r.RouteKey), Target: aws.ToString(r.Target)})
		}
		if aws.ToString(out.NextToken) == "" {
			break
		}
		in.NextToken = out.NextToken
	}
	sort.Slice(routes, func(i, j int) bool { return routes[i].ID < routes[j].ID })
	return routes, nil
}

// SetRouteTarget points the route at target ("integrations/ID"); an empty
// target detaches the route from its integration.
func (c *Client) SetRouteTarget(ctx context.Context, apiID, routeID, target string) error {
	_, err := c.api.UpdateRoute(ctx, &apigatewayv2.UpdateRouteInput{
		ApiId: aws.String(apiID), RouteId: aws.String(routeID), Target: aws.String(target),
	})
	if err != nil {
		runcache.Forget(ctx, routesKey(apiID))
		return fmt.Errorf("set target of route %s of api %s to %q: %w", routeID, apiID, target, translate(err))
	}
	runcache.Update(ctx, routesKey(apiID), func(routes []wiring.Route) []wiring.Route {
		out := slices.Clone(routes)
		for i := range out {
			if out[i].ID == routeID {
				out[i].Target = target
			}
		}
		return out
	})
	return nil
}

// Integrations returns all integrations of the API (every page), sorted by
// id, read once per run.
func (c *Client) Integrations(ctx context.Context, apiID string) ([]wiring.Integration, error) {
	return runcache.Load(ctx, integrationsKey(apiID), func() ([]wiring.Integration, error) { return c.integrations(ctx, apiID) })
}

func (c *Client) integrations(ctx context.Context, apiID string) ([]wiring.Integration, error) {
	var ints []wiring.Integration
	in := &apigatewayv2.GetIntegrationsInput{ApiId: aws.String(apiID)}
	for {
		out, err := c.api.GetIntegrations(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("get integrations of api %s: %w", apiID, translate(err))
		}
		for _, i := range out.Items {
			ints = append(ints, wiring.Integration{
				ID:                   aws.ToString(i.IntegrationId),
				Type:                 string(i.IntegrationType),
				URI:                  aws.ToString(i.IntegrationUri),
				PayloadFormatVersion: aws.ToString(i.PayloadFormatVersion),
				Description:          aws.ToString(i.Description),
			})
		}
		if aws.ToString(out.NextToken) == "" {
			break
		}
		in.NextToken = out.NextToken
	}
	sort.Slice(ints, func(i, j int) bool { return ints[i].ID < ints[j].ID })
	return ints, nil
}

// CreateIntegration creates a Lambda proxy integration (AWS_PROXY, payload
// format 2.0) to uri (a function ARN, possibly with a stage variable as
// qualifier). description must mark it as eventwire's
// (wiring.IntegrationDescription).
func (c *Client) CreateIntegration(ctx context.Context, apiID, uri, description string) (string, error) {
	if !wiring.IsIntegrationDescription(description) {
		return "", fmt.Errorf("create integration in api %s: description %q does not start with %q", apiID, description, wiring.IntegrationPrefix)
	}
	out, err := c.api.CreateIntegration(ctx, &apigatewayv2.CreateIntegrationInput{
		ApiId:                aws.String(apiID),
		IntegrationType:      types.IntegrationType(wiring.IntegrationType),
		IntegrationUri:       aws.String(uri),
		PayloadFormatVersion: aws.String(wiring.PayloadFormatVersion),
		Description:          aws.String(description),
	})
	if err != nil {
		runcache.Forget(ctx, integrationsKey(apiID))
		return "", fmt.Errorf("create integration to %s in api %s: %w", uri, apiID, translate(err))
	}
	created := wiring.Integration{ID: aws.ToString(out.IntegrationId), Type: wiring.IntegrationType, URI: uri,
		PayloadFormatVersion: wiring.PayloadFormatVersion, Description: description}
	runcache.Update(ctx, integrationsKey(apiID), func(ints []wiring.Integration) []wiring.Integration {
		out := append(slices.Clone(ints), created)
		slices.SortFunc(out, func(a, b wiring.Integration) int { return strings.Compare(a.ID, b.ID) })
		return out
	})
	return created.ID, nil
}

// DeleteIntegration deletes an integration that eventwire created: it
// reads the integration first and refuses (ErrNotManaged) if its
// description does not carry wiring.IntegrationPrefix. An integration that
// is already gone is success.
func (c *Client) DeleteIntegration(ctx context.Context, apiID, integrationID string) error {
	err := c.deleteIntegration(ctx, apiID, integrationID)
	if err != nil {
		runcache.Forget(ctx, integrationsKey(apiID))
		return err
	}
	runcache.Update(ctx, integrationsKey(apiID), func(ints []wiring.Integration) []wiring.Integration {
		return slices.DeleteFunc(slices.Clone(ints), func(in wiring.Integration) bool { return in.ID == integrationID })
	})
	return nil
}

func (c *Client) deleteIntegration(ctx context.Context, apiID, integrationID string) error {
	got, err := c.api.GetIntegration(ctx, &apigatewayv2.GetIntegrationInput{ApiId: aws.String(apiID), IntegrationId: aws.String(integrationID)})
	if err != nil {
		err = translate(err)
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		return fmt.Errorf("get integration %s of api %s: %w", integrationID, apiID, err)
	}
	if !wiring.IsIntegrationDescription(aws.ToString(got.Description)) {
		return fmt.Errorf("delete integration %s of api %s: %w", integrationID, apiID, ErrNotManaged)
	}
	_, err = c.api.DeleteIntegration(ctx, &apigatewayv2.DeleteIntegrationInput{ApiId: aws.String(apiID), IntegrationId: aws.String(integrationID)})
	if err != nil {
		err = translate(err)
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		return fmt.Errorf("delete integration %s of api %s: %w", integrationID, apiID, err)
	}
	return nil
}

// Stages returns the API's stages with their stage variables, sorted by
// name, read once per run.
func (c *Client) Stages(ctx context.Context, apiID string) ([]wiring.Stage, error) {
	return runcache.Load(ctx, stagesKey(apiID), func() ([]wiring.Stage, error) { return c.stages(ctx, apiID) })
}

func (c *Client) stages(ctx context.Context, apiID string) ([]wiring.Stage, error) {
	var stages []wiring.Stage
	in := &apigatewayv2.GetStagesInput{ApiId: aws.String(apiID)}
	for {
		out, err := c.api.GetStages(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("get stages of api %s: %w", apiID, translate(err))
		}
		for _, s := range out.Items {
			stages = append(stages, wiring.Stage{Name: aws.ToString(s.StageName), Variables: s.StageVariables})
		}
		if aws.ToString(out.NextToken) == "" {
			break
		}
		in.NextToken = out.NextToken
	}
	sort.Slice(stages, func(i, j int) bool { return stages[i].Name < stages[j].Name })
	return stages, nil
}

// API reads the API's routes and integrations, and its stages if
// withStages (only a route with a stage variable needs them).
func (c *Client) API(ctx context.Context, apiID string, withStages bool) (wiring.API, error) {
	var api wiring.API
	var err error
	if api.Routes, err = c.Routes(ctx, apiID); err != nil {
		return wiring.API{}, err
	}
	if api.Integrations, err = c.Integrations(ctx, apiID); err != nil {
		return wiring.API{}, err
	}
	if !withStages {
		return api, nil
	}
	if api.Stages, err = c.Stages(ctx, apiID); err != nil {
		return wiring.API{}, err
	}
	return api, nil
}
