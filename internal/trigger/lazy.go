package trigger

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

// The deployer's clients of one event source each, made on their first
// call: an invocation builds only the clients its event uses, and the cold
// start builds none of them.
type (
	lazyDynamoDB     struct{ get func() *dynamodb.Client }
	lazyS3           struct{ get func() *s3.Client }
	lazySTS          struct{ get func() *sts.Client }
	lazyCodeCommit   struct{ get func() *codecommit.Client }
	lazyCodePipeline struct{ get func() *codepipeline.Client }
)

func newLazyDynamoDB(cfg aws.Config) lazyDynamoDB {
	return lazyDynamoDB{sync.OnceValue(func() *dynamodb.Client { return dynamodb.NewFromConfig(cfg) })}
}

func (l lazyDynamoDB) GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	return l.get().GetItem(ctx, in, opts...)
}

func (l lazyDynamoDB) PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	return l.get().PutItem(ctx, in, opts...)
}

func (l lazyDynamoDB) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	return l.get().UpdateItem(ctx, in, opts...)
}

func (l lazyDynamoDB) DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	return l.get().DeleteItem(ctx, in, opts...)
}

func (l lazyDynamoDB) Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	return l.get().Query(ctx, in, opts...)
}

func (l lazyDynamoDB) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, opts ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	return l.get().TransactWriteItems(ctx, in, opts...)
}

func newLazySTS(cfg aws.Config) lazySTS {
	return lazySTS{sync.OnceValue(func() *sts.Client { return sts.NewFromConfig(cfg) })}
}

func (l lazySTS) GetCallerIdentity(ctx context.Context, in *sts.GetCallerIdentityInput, opts ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error) {
	return l.get().GetCallerIdentity(ctx, in, opts...)
}

func newLazyS3(cfg aws.Config, optFns ...func(*s3.Options)) lazyS3 {
	return lazyS3{sync.OnceValue(func() *s3.Client { return s3.NewFromConfig(cfg, optFns...) })}
}

func newLazyCodeCommit(cfg aws.Config) lazyCodeCommit {
	return lazyCodeCommit{sync.OnceValue(func() *codecommit.Client { return codecommit.NewFromConfig(cfg) })}
}

func newLazyCodePipeline(cfg aws.Config) lazyCodePipeline {
	return lazyCodePipeline{sync.OnceValue(func() *codepipeline.Client { return codepipeline.NewFromConfig(cfg) })}
}

func (l lazyS3) GetObject(ctx context.Context, in *s3.GetObjectInput, opts ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	return l.get().GetObject(ctx, in, opts...)
}

func (l lazyS3) HeadObject(ctx context.Context, in *s3.HeadObjectInput, opts ...func(*s3.Options)) (*s3.HeadObjectOutput, error) {
	return l.get().HeadObject(ctx, in, opts...)
}

func (l lazyS3) ListObjectVersions(ctx context.Context, in *s3.ListObjectVersionsInput, opts ...func(*s3.Options)) (*s3.ListObjectVersionsOutput, error) {
	return l.get().ListObjectVersions(ctx, in, opts...)
}

func (l lazyCodeCommit) GetDifferences(ctx context.Context, in *codecommit.GetDifferencesInput, opts ...func(*codecommit.Options)) (*codecommit.GetDifferencesOutput, error) {
	return l.get().GetDifferences(ctx, in, opts...)
}

func (l lazyCodeCommit) GetCommit(ctx context.Context, in *codecommit.GetCommitInput, opts ...func(*codecommit.Options)) (*codecommit.GetCommitOutput, error) {
	return l.get().GetCommit(ctx, in, opts...)
}

func (l lazyCodeCommit) GetFile(ctx context.Context, in *codecommit.GetFileInput, opts ...func(*codecommit.Options)) (*codecommit.GetFileOutput, error) {
	return l.get().GetFile(ctx, in, opts...)
}

func (l lazyCodeCommit) GetBranch(ctx context.Context, in *codecommit.GetBranchInput, opts ...func(*codecommit.Options)) (*codecommit.GetBranchOutput, error) {
	return l.get().GetBranch(ctx, in, opts...)
}

func (l lazyCodePipeline) GetJobDetails(ctx context.Context, in *codepipeline.GetJobDetailsInput, opts ...func(*codepipeline.Options)) (*codepipeline.GetJobDetailsOutput, error) {
	return l.get().GetJobDetails(ctx, in, opts...)
}

func (l lazyCodePipeline) PutJobSuccessResult(ctx context.Context, in *codepipeline.PutJobSuccessResultInput, opts ...func(*codepipeline.Options)) (*codepipeline.PutJobSuccessResultOutput, error) {
	return l.get().PutJobSuccessResult(ctx, in, opts...)
}

func (l lazyCodePipeline) PutJobFailureResult(ctx context.Context, in *codepipeline.PutJobFailureResultInput, opts ...func(*codepipeline.Options)) (*codepipeline.PutJobFailureResultOutput, error) {
	return l.get().PutJobFailureResult(ctx, in, opts...)
}

// lazySQS is the sweep queue's client, made on its first call.
type lazySQS struct{ get func() *sqs.Client }

func newLazySQS(cfg aws.Config) lazySQS {
	return lazySQS{sync.OnceValue(func() *sqs.Client { return sqs.NewFromConfig(cfg) })}
}

func (l lazySQS) SendMessageBatch(ctx context.Context, in *sqs.SendMessageBatchInput, opts ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error) {
	return l.get().SendMessageBatch(ctx, in, opts...)
}

// lazyMappings lists the account's mappings for the sweep, with a Lambda
// client made on its first call.
type lazyMappings struct{ get func() *lambdasvc.Mappings }

func newLazyMappings(cfg aws.Config) lazyMappings {
	return lazyMappings{sync.OnceValue(func() *lambdasvc.Mappings { return lambdasvc.NewMappings(lambda.NewFromConfig(cfg)) })}
}

func (l lazyMappings) ListTagged(ctx context.Context, tagged func(wiring.Mapping) bool) ([]wiring.Mapping, error) {
	return l.get().ListTagged(ctx, tagged)
}
