// Package awsfixture creates the AWS resources that event sources are wired
// to (functions, queues, streams, target groups, HTTP APIs), for the demo
// and for integration tests against an emulator. It calls the SDK directly,
// never eventwire's own adapters, so tests can check eventwire's work with
// an independent reader.
//
// A test kit: only tests, internal/tools and their mains import it
// (internal/layers checks); it imports no eventwire product package.
package awsfixture

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// RoleName is the execution role every fixture function uses.
const RoleName = "eventwire-fixture"

// Fixture creates resources with one AWS configuration.
type Fixture struct {
	IAM     *iam.Client
	Lambda  *lambda.Client
	SQS     *sqs.Client
	Kinesis *kinesis.Client
	ELB     *elasticloadbalancingv2.Client
	API     *apigatewayv2.Client
}

// New returns a Fixture for cfg.
func New(cfg aws.Config) *Fixture {
	return &Fixture{
		IAM:     iam.NewFromConfig(cfg),
		Lambda:  lambda.NewFromConfig(cfg),
		SQS:     sqs.NewFromConfig(cfg),
		Kinesis: kinesis.NewFromConfig(cfg),
		ELB:     elasticloadbalancingv2.NewFromConfig(cfg),
		API:     apigatewayv2.NewFromConfig(cfg),
	}
}

// role returns the fixture execution role's ARN, creating it once.
func (f *Fixture) role(ctx context.Context) (string, error) {
	got, err := f.IAM.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(RoleName)})
	if err == nil {
		return aws.ToString(got.Role.Arn), nil
	}
	var nse *iamtypes.NoSuchEntityException
	if !errors.As(err, &nse) {
		return "", fmt.Errorf("get role %s: %w", RoleName, err)
	}
	out, err := f.IAM.CreateRole(ctx, &iam.CreateRoleInput{
		RoleName: aws.String(RoleName),
		AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow",` +
			`"Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`),
	})
	if err != nil {
		return "", fmt.Errorf("create role %s: %w", RoleName, err)
	}
	return aws.ToString(out.Role.Arn), nil
}

// bootstrapZip is a deployment package holding an empty `bootstrap`: the
// emulator stores it and never runs it.
func bootstrapZip() []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.Create("bootstrap")
	w.Write([]byte("#!/bin/sh\n"))
	zw.Close()
	return buf.Bytes()
}

// Function creates a function and returns its ARN.
func (f *Fixture) Function(ctx context.Context, name string) (string, error) {
	role, err := f.role(ctx)
	if err != nil {
		return "", err
	}
	out, err := f.Lambda.CreateFunction(ctx, &lambda.CreateFunctionInput{
		FunctionName:  aws.String(name),
		Role:          aws.String(role),
		Runtime:       lambdatypes.RuntimeProvidedal2023,
		Handler:       aws.String("bootstrap"),
		Architectures: []lambdatypes.Architecture{lambdatypes.ArchitectureArm64},
		Code:          &lambdatypes.FunctionCode{ZipFile: bootstrapZip()},
	})
	if err != nil {
		return "", fmt.Errorf("create function %s: %w", name, err)
	}
	return aws.ToString(out.FunctionArn), nil
}

// Alias publishes a version of the function and points a new alias at it.
func (f *Fixture) Alias(ctx context.Context, function, alias string) (string, error) {
	v, err := f.Lambda.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String(function)})
	if err != nil {
		return "", fmt.Errorf("publish version of %s: %w", function, err)
	}
	out, err := f.Lambda.CreateAlias(ctx, &lambda.CreateAliasInput{
		FunctionName: aws.String(function), Name: aws.String(alias), FunctionVersion: v.Version,
	})
	if err != nil {
		return "", fmt.Errorf("create alias %s:%s: %w", function, alias, err)
	}
	return aws.ToString(out.AliasArn), nil
}

// Queue creates an SQS queue and returns its ARN.
func (f *Fixture) Queue(ctx context.Context, name string) (string, error) {
	q, err := f.SQS.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name)})
	if err != nil {
		return "", fmt.Errorf("create queue %s: %w", name, err)
	}
	a, err := f.SQS.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: q.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn},
	})
	if err != nil {
		return "", fmt.Errorf("get arn of queue %s: %w", name, err)
	}
	return a.Attributes[string(sqstypes.QueueAttributeNameQueueArn)], nil
}

// Stream creates a Kinesis data stream with one shard and returns its ARN.
func (f *Fixture) Stream(ctx context.Context, name string) (string, error) {
	if _, err := f.Kinesis.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String(name), ShardCount: aws.Int32(1)}); err != nil {
		return "", fmt.Errorf("create stream %s: %w", name, err)
	}
	out, err := f.Kinesis.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(name)})
	if err != nil {
		return "", fmt.Errorf("describe stream %s: %w", name, err)
	}
	return aws.ToString(out.StreamDescriptionSummary.StreamARN), nil
}

// TargetGroup creates a target group of type lambda and returns its ARN.
func (f *Fixture) TargetGroup(ctx context.Context, name string) (string, error) {
	out, err := f.ELB.CreateTargetGroup(ctx, &elasticloadbalancingv2.CreateTargetGroupInput{
		Name: aws.String(name), TargetType: elbtypes.TargetTypeEnumLambda,
	})
	if err != nil {
		return "", fmt.Errorf("create target group %s: %w", name, err)
	}
	return aws.ToString(out.TargetGroups[0].TargetGroupArn), nil
}

// API is an HTTP API with its routes and stages.
type API struct {
	ID string
	// Routes maps each route key ("POST /orders") to its route id.
	Routes map[string]string
}

// HTTPAPI creates an HTTP API with a route per key, and a stage per entry of
// stages (stage name to its stage variables).
func (f *Fixture) HTTPAPI(ctx context.Context, name string, routeKeys []string, stages map[string]map[string]string) (API, error) {
	api, err := f.API.CreateApi(ctx, &apigatewayv2.CreateApiInput{Name: aws.String(name), ProtocolType: "HTTP"})
	if err != nil {
		return API{}, fmt.Errorf("create api %s: %w", name, err)
	}
	a := API{ID: aws.ToString(api.ApiId), Routes: map[string]string{}}
	for _, key := range routeKeys {
		r, err := f.API.CreateRoute(ctx, &apigatewayv2.CreateRouteInput{ApiId: api.ApiId, RouteKey: aws.String(key)})
		if err != nil {
			return API{}, fmt.Errorf("create route %q of api %s: %w", key, name, err)
		}
		a.Routes[key] = aws.ToString(r.RouteId)
	}
	for stage, vars := range stages {
		_, err := f.API.CreateStage(ctx, &apigatewayv2.CreateStageInput{
			ApiId: api.ApiId, StageName: aws.String(stage), StageVariables: vars,
		})
		if err != nil {
			return API{}, fmt.Errorf("create stage %s of api %s: %w", stage, name, err)
		}
	}
	return a, nil
}
