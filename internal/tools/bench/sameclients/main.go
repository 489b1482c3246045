// Command sameclients is the yardstick of the deployer's start-up: a Lambda
// hello-world that loads the AWS configuration as the deployer does and
// constructs every SDK client the deployer links (Lambda, ELBv2, API
// Gateway v2, S3, CodeCommit, CodePipeline, DynamoDB, SQS, STS), then
// answers each event with "hello". internal/tools/bench builds it and times both to their
// first request to the Runtime API.
//
// It imports the same SDK clients as the deployer and, of eventwire's,
// only its AWS configuration, so that it is a fair yardstick.
package main

import (
	"context"
	"encoding/json"
	"log"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
	"github.com/aws/aws-sdk-go-v2/service/codecommit"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/eventwire/eventwire/internal/aws/awsconfig"
)

func main() {
	cfg, err := awsconfig.Load(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	clients := []any{
		awslambda.NewFromConfig(cfg), elasticloadbalancingv2.NewFromConfig(cfg), apigatewayv2.NewFromConfig(cfg),
		s3.NewFromConfig(cfg), codecommit.NewFromConfig(cfg), codepipeline.NewFromConfig(cfg), dynamodb.NewFromConfig(cfg),
		sqs.NewFromConfig(cfg), sts.NewFromConfig(cfg),
	}
	lambda.Start(func(ctx context.Context, ev json.RawMessage) (string, error) {
		_ = clients
		return "hello", nil
	})
}
