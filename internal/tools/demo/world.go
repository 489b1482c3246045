package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/eventwire/eventwire/internal/testkit/awsfixture"
)

// The resources the examples refer to. API Gateway generates API and route
// ids, so the examples hold stand-ins that the demo replaces with the ids
// of the API it creates.
const (
	exampleAPIID   = "a1b2c3d4e5"
	exampleRouteID = "r0ut3id"
	// Target group ARNs end in an id that ELB generates, too.
	exampleTargetGroupARN = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/orders-tg/50dc6c495c0c9188"
)

// createWorld creates the functions, queue, stream, target group and HTTP
// API of the examples, and returns the replacements to make in them.
func createWorld(ctx context.Context, cfg aws.Config, w io.Writer) (map[string]string, error) {
	fx := awsfixture.New(cfg)
	for _, fn := range []string{"orders", "inventory"} {
		arn, err := fx.Function(ctx, fn)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(w, "function       %s\n", arn)
	}
	alias, err := fx.Alias(ctx, "orders", "live")
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(w, "alias          %s\n", alias)
	q, err := fx.Queue(ctx, "orders")
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(w, "queue          %s\n", q)
	s, err := fx.Stream(ctx, "inventory-events")
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(w, "stream         %s\n", s)
	tg, err := fx.TargetGroup(ctx, "orders-tg")
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(w, "target group   %s\n", tg)
	api, err := fx.HTTPAPI(ctx, "shop", []string{"POST /orders"}, map[string]map[string]string{
		"prod": {"lambdaAlias": "live"},
	})
	if err != nil {
		return nil, err
	}
	route := api.Routes["POST /orders"]
	fmt.Fprintf(w, "HTTP API       %s, route POST /orders = %s, stage prod (lambdaAlias=live)\n", api.ID, route)
	return map[string]string{exampleAPIID: api.ID, exampleRouteID: route, exampleTargetGroupARN: tg}, nil
}

// showState prints what AWS holds for the example functions, read with the
// SDK directly.
func showState(ctx context.Context, cfg aws.Config, w io.Writer) error {
	fx := awsfixture.New(cfg)
	ms, err := fx.Lambda.ListEventSourceMappings(ctx, &lambda.ListEventSourceMappingsInput{})
	if err != nil {
		return err
	}
	fmt.Fprintln(w, "Event source mappings:")
	for _, m := range ms.EventSourceMappings {
		tags, err := fx.Lambda.ListTags(ctx, &lambda.ListTagsInput{Resource: m.EventSourceMappingArn})
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "  %s  %s -> %s  BatchSize=%d State=%s tags=%v\n", aws.ToString(m.UUID),
			aws.ToString(m.EventSourceArn), aws.ToString(m.FunctionArn), aws.ToInt32(m.BatchSize), aws.ToString(m.State), tags.Tags)
	}
	for _, fn := range []string{"orders", "inventory"} {
		pol, err := fx.Lambda.GetPolicy(ctx, &lambda.GetPolicyInput{FunctionName: aws.String(fn)})
		if err != nil {
			if strings.Contains(err.Error(), "ResourceNotFound") {
				continue
			}
			return err
		}
		var doc struct{ Statement []json.RawMessage }
		if err := json.Unmarshal([]byte(aws.ToString(pol.Policy)), &doc); err != nil {
			return err
		}
		fmt.Fprintf(w, "Resource policy of %s:\n", fn)
		for _, s := range doc.Statement {
			fmt.Fprintf(w, "  %s\n", s)
		}
	}
	tgs, err := fx.ELB.DescribeTargetGroups(ctx, &elasticloadbalancingv2.DescribeTargetGroupsInput{})
	if err != nil {
		return err
	}
	for _, tg := range tgs.TargetGroups {
		h, err := fx.ELB.DescribeTargetHealth(ctx, &elasticloadbalancingv2.DescribeTargetHealthInput{TargetGroupArn: tg.TargetGroupArn})
		if err != nil {
			return err
		}
		var ids []string
		for _, d := range h.TargetHealthDescriptions {
			ids = append(ids, aws.ToString(d.Target.Id))
		}
		sort.Strings(ids)
		fmt.Fprintf(w, "Target group %s: targets %v\n", aws.ToString(tg.TargetGroupName), ids)
	}
	apis, err := fx.API.GetApis(ctx, &apigatewayv2.GetApisInput{})
	if err != nil {
		return err
	}
	for _, a := range apis.Items {
		routes, err := fx.API.GetRoutes(ctx, &apigatewayv2.GetRoutesInput{ApiId: a.ApiId})
		if err != nil {
			return err
		}
		for _, r := range routes.Items {
			fmt.Fprintf(w, "HTTP API %s route %q -> %s\n", aws.ToString(a.Name), aws.ToString(r.RouteKey), aws.ToString(r.Target))
		}
		ints, err := fx.API.GetIntegrations(ctx, &apigatewayv2.GetIntegrationsInput{ApiId: a.ApiId})
		if err != nil {
			return err
		}
		for _, i := range ints.Items {
			fmt.Fprintf(w, "HTTP API %s integration %s: %s %s payload %s (%s)\n", aws.ToString(a.Name), aws.ToString(i.IntegrationId),
				i.IntegrationType, aws.ToString(i.IntegrationUri), aws.ToString(i.PayloadFormatVersion), aws.ToString(i.Description))
		}
	}
	return nil
}
