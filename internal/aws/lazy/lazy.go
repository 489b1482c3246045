// Package lazy holds SDK clients made on their first call: the deployer
// Lambda builds only the clients its event uses, and its cold start builds
// none. Each type has the methods of its client that the deployer calls,
// and nothing else. It owns no logic of the deployer: it must not import
// internal/deployer or any of its parts, only the SDK and eventwire's AWS
// adapters (internal/aws/...); internal/layers checks.
package lazy

import (
	"context"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codecommit"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/eventwire/eventwire/internal/aws/lambdasvc"
	"github.com/eventwire/eventwire/internal/wiring"
)

// The clients, each made on its first call.
type (
	DynamoDB     struct{ get func() *dynamodb.Client }
	S3           struct{ get func() *s3.Client }
	STS          struct{ get func() *sts.Client }
	CodeCommit   struct{ get func() *codecommit.Client }
	CodePipeline struct{ get func() *codepipeline.Client }
	SQS          struct{ get func() *sqs.Client }
	// Mappings lists the account's event source mappings
	// (lambdasvc.Mappings) with a Lambda client made on its first call.
	Mappings struct{ get func() *lambdasvc.Mappings }
)

// NewDynamoDB returns a DynamoDB client made on its first call.
func NewDynamoDB(cfg aws.Config) DynamoDB {
	return DynamoDB{sync.OnceValue(func() *dynamodb.Client { return dynamodb.NewFromConfig(cfg) })}
}

// NewSTS returns an STS client made on its first call.
func NewSTS(cfg aws.Config) STS {
	return STS{sync.OnceValue(func() *sts.Client { return sts.NewFromConfig(cfg) })}
}

// NewS3 returns an S3 client made on its first call, with optFns.
func NewS3(cfg aws.Config, optFns ...func(*s3.Options)) S3 {
	return S3{sync.OnceValue(func() *s3.Client { return s3.NewFromConfig(cfg, optFns...) })}
}

// NewCodeCommit returns a CodeCommit client made on its first call.
func NewCodeCommit(cfg aws.Config) CodeCommit {
	return CodeCommit{sync.OnceValue(func() *codecommit.Client { return codecommit.NewFromConfig(cfg) })}
}

// NewCodePipeline returns a CodePipeline client made on its first call.
func NewCodePipeline(cfg aws.Config) CodePipeline {
	return CodePipeline{sync.OnceValue(func() *codepipeline.Client { return codepipeline.NewFromConfig(cfg) })}
}

// NewSQS returns an SQS client made on its first call.
func NewSQS(cfg aws.Config) SQS {
	return SQS{sync.OnceValue(func() *sqs.Client { return sqs.NewFromConfig(cfg) })}
}

// NewMappings returns a mapping lister whose Lambda client is made on its
// first call.
func NewMappings(cfg aws.Config) Mappings {
	return Mappings{sync.OnceValue(func() *lambdasvc.Mappings { return lambdasvc.NewMappings(lambda.NewFromConfig(cfg)) })}
}

func (l DynamoDB) GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	return l.get().GetItem(ctx, in, opts...)
}

func (l DynamoDB) PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	return l.get().PutItem(ctx, in, opts...)
}

func (l DynamoDB) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	return l.get().UpdateItem(ctx, in, opts...)
}

func (l DynamoDB) DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	return l.get().DeleteItem(ctx, in, opts...)
}

func (l DynamoDB) Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	return l.get().Query(ctx, in, opts...)
}

func (l DynamoDB) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, opts ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	return l.get().TransactWriteItems(ctx, in, opts...)
}

func (l STS) GetCallerIdentity(ctx context.Context, in *sts.GetCallerIdentityInput, opts ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error) {
	return l.get().GetCallerIdentity(ctx, in, opts...)
}

func (l S3) GetObject(ctx context.Context, in *s3.GetObjectInput, opts ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	return l.get().GetObject(ctx, in, opts...)
}

func (l S3) HeadObject(ctx context.Context, in *s3.HeadObjectInput, opts ...func(*s3.Options)) (*s3.HeadObjectOutput, error) {
	return l.get().HeadObject(ctx, in, opts...)
}

func (l S3) ListObjectVersions(ctx context.Context, in *s3.ListObjectVersionsInput, opts ...func(*s3.Options)) (*s3.ListObjectVersionsOutput, error) {
	return l.get().ListObjectVersions(ctx, in, opts...)
}

func (l CodeCommit) GetDifferences(ctx context.Context, in *codecommit.GetDifferencesInput, opts ...func(*codecommit.Options)) (*codecommit.GetDifferencesOutput, error) {
	return l.get().GetDifferences(ctx, in, opts...)
}

func (l CodeCommit) GetCommit(ctx context.Context, in *codecommit.GetCommitInput, opts ...func(*codecommit.Options)) (*codecommit.GetCommitOutput, error) {
	return l.get().GetCommit(ctx, in, opts...)
}

func (l CodeCommit) GetFile(ctx context.Context, in *codecommit.GetFileInput, opts ...func(*codecommit.Options)) (*codecommit.GetFileOutput, error) {
	return l.get().GetFile(ctx, in, opts...)
}

func (l CodeCommit) GetBranch(ctx context.Context, in *codecommit.GetBranchInput, opts ...func(*codecommit.Options)) (*codecommit.GetBranchOutput, error) {
	return l.get().GetBranch(ctx, in, opts...)
}

func (l CodePipeline) GetJobDetails(ctx context.Context, in *codepipeline.GetJobDetailsInput, opts ...func(*codepipeline.Options)) (*codepipeline.GetJobDetailsOutput, error) {
	return l.get().GetJobDetails(ctx, in, opts...)
}

func (l CodePipeline) PutJobSuccessResult(ctx context.Context, in *codepipeline.PutJobSuccessResultInput, opts ...func(*codepipeline.Options)) (*codepipeline.PutJobSuccessResultOutput, error) {
	return l.get().PutJobSuccessResult(ctx, in, opts...)
}

func (l CodePipeline) PutJobFailureResult(ctx context.Context, in *codepipeline.PutJobFailureResultInput, opts ...func(*codepipeline.Options)) (*codepipeline.PutJobFailureResultOutput, error) {
	return l.get().PutJobFailureResult(ctx, in, opts...)
}

func (l SQS) SendMessageBatch(ctx context.Context, in *sqs.SendMessageBatchInput, opts ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error) {
	return l.get().SendMessageBatch(ctx, in, opts...)
}

func (l Mappings) ListTagged(ctx context.Context, tagged func(wiring.Mapping) bool) ([]wiring.Mapping, error) {
	return l.get().ListTagged(ctx, tagged)
}
