package main

import (
	"encoding/json"
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdadestinations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/eventwire/eventwire/internal/contract"
)

// DefaultCodePath is where `make lambda` leaves the deployer's bootstrap,
// relative to the repository root (the working directory of `cdk synth`).
const DefaultCodePath = "build/deployer"

// Function sizing. The deployer spends its time waiting on control-plane
// calls, not computing: Lambda's control plane answers about 15 requests/s
// per account, and a replaced mapping is waited out of Deleting and Creating
// with a bounded wait of a few minutes. A file of a dozen mappings therefore
// takes seconds, a replacement up to a few minutes. 5 minutes covers the
// bounded waits plus the per-function lease wait; CodePipeline jobs that
// need longer use continuation tokens. Memory, measured: the handler's
// end-to-end test (an S3 upload applied through the real handler against
// moto, in one process with the test harness) peaks at 40 MB of RSS, and
// definition files are capped at 1 MiB. 128 MB would hold it; 256 MB is
// chosen for the CPU share that comes with it (TLS handshakes, JSON, cold
// start), at arm64 prices.
const (
	functionTimeoutSeconds = 300
	functionMemoryMiB      = 256
	// The lease must outlive a run that dies at its timeout, so that a
	// retry after a crash is not locked out for long.
	leaseSeconds = functionTimeoutSeconds + 60
	// Async invocations: Lambda retries a failed event twice (the maximum),
	// then sends it to the on-failure queue; an event older than this is
	// sent there without further retries.
	asyncRetryAttempts = 2
	asyncMaxEventAge   = 2 // hours
	logRetention       = awslogs.RetentionDays_THREE_MONTHS
	// Failed events stay in the queue for the longest SQS allows.
	failedEventRetentionDays = 14
	// Server access logs of the definitions bucket.
	accessLogExpirationDays = 365
)

// DeployerStackProps configures NewDeployerStack. The zero value and nil
// are valid.
type DeployerStackProps struct {
	awscdk.StackProps
	// CodePath is the folder holding the deployer's `bootstrap` (or a zip
	// of it). Default: DefaultCodePath.
	CodePath string
}

// NewDeployerStack builds eventwire's deployer stack: the definitions
// bucket, the deployer function with its table, failure queue and alarms,
// drift detection (its schedule and sweep queue), and the optional
// CodeCommit and CodePipeline wiring. The context
// parameters are in settings.go, the deployer's IAM in iam.go, its event
// sources in sources.go, its alarms in alarms.go.
func NewDeployerStack(scope constructs.Construct, id string, props *DeployerStackProps) awscdk.Stack {
	if props == nil {
		props = &DeployerStackProps{}
	}
	stack := newStack(scope, id, props.StackProps)
	cfg := readSettings(stack)
	for _, p := range cfg.problems() {
		// cdk synth and cdk deploy stop on an error annotation.
		awscdk.Annotations_Of(stack).AddError(jsii.String(p))
	}

	bucket := newDefinitionsBucket(stack)
	table := newDeploymentsTable(stack)
	failed := awssqs.NewQueue(stack, jsii.String("FailedEvents"), &awssqs.QueueProps{
		Encryption:      awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:      jsii.Bool(true),
		RetentionPeriod: awscdk.Duration_Days(jsii.Number(failedEventRetentionDays)),
	})
	logGroup := awslogs.NewLogGroup(stack, jsii.String("DeployerLogs"), &awslogs.LogGroupProps{
		Retention:     logRetention,
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
	role := newDeployerRole(stack)
	logGroup.GrantWrite(role)
	codePath := props.CodePath
	if codePath == "" {
		codePath = DefaultCodePath
	}
	p := &parts{stack: stack, cfg: cfg, bucket: bucket, table: table, failed: failed, logGroup: logGroup, role: role}
	p.fn = newDeployerFunction(p, codePath)
	fn := p.fn

	denyOtherWriters(stack, bucket, role, cfg.definitionWriters)
	addS3Notifications(bucket, fn)
	grantDeployer(p)
	guardDeployer(stack, role, fn)
	if cfg.repository != "" {
		addCodeCommitTrigger(stack, fn, failed, cfg)
	}
	addPipelinePermissions(fn, cfg)
	p.sw = addDriftSweep(stack, fn, failed, cfg)
	grantSweep(stack, role, p.sw)
	p.topic = addAlarms(p)
	addOutputs(p)
	return stack
}

// parts are the deployer stack's resources, made one after another by
// NewDeployerStack; the steps that need several of them take them all.
type parts struct {
	stack    awscdk.Stack
	cfg      settings
	bucket   awss3.Bucket
	table    awsdynamodb.Table
	failed   awssqs.Queue
	logGroup awslogs.LogGroup
	role     awsiam.Role
	fn       awslambda.Function
	sw       sweep
	topic    awssns.Topic
}

// newStack is the stack itself, with its description and the feature flag
// the access-log bucket needs.
func newStack(scope constructs.Construct, id string, sp awscdk.StackProps) awscdk.Stack {
	if sp.Description == nil {
		sp.Description = jsii.String("eventwire: applies " + contract.DefinitionFileName + " files to Lambda event sources")
	}
	stack := awscdk.NewStack(scope, &id, &sp)
	// cdk.json sets CDK's recommended feature flags; this one is also pinned
	// here because its legacy value (an ACL on the access-log bucket) cannot
	// work with ObjectOwnership BUCKET_OWNER_ENFORCED, and an app run
	// without the CLI (CDK_OUTDIR=... go run ./infra) does not read cdk.json.
	stack.Node().SetContext(jsii.String("@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy"), true)
	return stack
}

// newDefinitionsBucket is the bucket of definition files, with its
// access-log bucket. Versioned so that each S3 event is applied at exactly
// its version; SSE-S3 so that reading needs no KMS grant.
func newDefinitionsBucket(stack awscdk.Stack) awss3.Bucket {
	accessLogs := awss3.NewBucket(stack, jsii.String("AccessLogs"), &awss3.BucketProps{
		Encryption:        awss3.BucketEncryption_S3_MANAGED,
		BlockPublicAccess: awss3.BlockPublicAccess_BLOCK_ALL(),
		EnforceSSL:        jsii.Bool(true),
		ObjectOwnership:   awss3.ObjectOwnership_BUCKET_OWNER_ENFORCED,
		RemovalPolicy:     awscdk.RemovalPolicy_RETAIN,
		LifecycleRules: &[]*awss3.LifecycleRule{{
			Expiration: awscdk.Duration_Days(jsii.Number(accessLogExpirationDays)),
		}},
	})
	return awss3.NewBucket(stack, jsii.String("Definitions"), &awss3.BucketProps{
		NotificationsHandlerRole: notificationsHandlerRole(stack),
		Versioned:                jsii.Bool(true),
		Encryption:               awss3.BucketEncryption_S3_MANAGED,
		BlockPublicAccess:        awss3.BlockPublicAccess_BLOCK_ALL(),
		EnforceSSL:               jsii.Bool(true),
		ObjectOwnership:          awss3.ObjectOwnership_BUCKET_OWNER_ENFORCED,
		RemovalPolicy:            awscdk.RemovalPolicy_RETAIN,
		ServerAccessLogsBucket:   accessLogs,
		ServerAccessLogsPrefix:   jsii.String("definitions/"),
	})
}

// definitionWrites are the object writes the bucket policy keeps for the
// definition writers: a new file or version, a delete, an ACL, a
// replica.
var definitionWrites = []string{
	"s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion",
	"s3:PutObjectAcl", "s3:PutObjectVersionAcl", "s3:ReplicateObject", "s3:ReplicateDelete",
}

// bootstrapQualifier is the qualifier of the CDK bootstrap stack the
// stack deploys with: the context's @aws-cdk/core:bootstrapQualifier, or
// CDK's default.
func bootstrapQualifier(stack awscdk.Stack) string {
	if q, ok := stack.Node().TryGetContext(jsii.String("@aws-cdk/core:bootstrapQualifier")).(string); ok && q != "" {
		return q
	}
	return *awscdk.DefaultStackSynthesizer_DEFAULT_QUALIFIER()
}

// denyOtherWriters, with definitionWriters set, denies writing and
// deleting definition files to every principal but those roles, whatever
// their own policies allow (an explicit deny in the bucket policy wins).
// Also exempt: the deployer's role (it only reads) and the CDK bootstrap
// roles of the stack's qualifier (cdk-QUALIFIER-*, which deploy it), not
// any role someone names cdk-something. The bucket itself, and its
// policy, stay manageable by the account's administrators.
func denyOtherWriters(stack awscdk.Stack, bucket awss3.Bucket, deployer awsiam.Role, writers []string) {
	if len(writers) == 0 {
		return
	}
	exempt := append(append([]string{}, writers...), *deployer.RoleArn(),
		fmt.Sprintf("arn:%s:iam::%s:role/cdk-%s-*", *stack.Partition(), *stack.Account(), bootstrapQualifier(stack)))
	bucket.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("OnlyDefinitionWritersWrite"),
		Effect:     awsiam.Effect_DENY,
		Principals: &[]awsiam.IPrincipal{awsiam.NewAnyPrincipal()},
		Actions:    jsii.Strings(definitionWrites...),
		Resources:  jsii.Strings(*bucket.ArnForObjects(jsii.String("*"))),
		Conditions: &map[string]any{"ArnNotLike": map[string]any{"aws:PrincipalArn": exempt}},
	}))
}

// newDeploymentsTable is the table of deployment records, sequencers and
// leases, with the schema internal/records uses. Records expire through
// its TTL attribute, which the deployer writes.
func newDeploymentsTable(stack awscdk.Stack) awsdynamodb.Table {
	return awsdynamodb.NewTable(stack, jsii.String("Deployments"), &awsdynamodb.TableProps{
		PartitionKey: &awsdynamodb.Attribute{Name: jsii.String(contract.TablePartitionKey), Type: awsdynamodb.AttributeType_STRING},
		SortKey:      &awsdynamodb.Attribute{Name: jsii.String(contract.TableSortKey), Type: awsdynamodb.AttributeType_STRING},
		BillingMode:  awsdynamodb.BillingMode_PAY_PER_REQUEST,
		PointInTimeRecoverySpecification: &awsdynamodb.PointInTimeRecoverySpecification{
			PointInTimeRecoveryEnabled: jsii.Bool(true),
		},
		// An AWS managed key: encrypted with KMS, usable through DynamoDB
		// by any principal allowed on the table, so no key grant is needed.
		Encryption:          awsdynamodb.TableEncryption_AWS_MANAGED,
		TimeToLiveAttribute: jsii.String(contract.TableTTLAttribute),
		RemovalPolicy:       awscdk.RemovalPolicy_RETAIN,
	})
}

// newDeployerFunction is the deployer, with the environment
// internal/deployer reads (deployer.SettingsFromEnv) and its asynchronous
// invocation settings: retries, then the failure queue.
func newDeployerFunction(p *parts, codePath string) awslambda.Function {
	stack, role, logGroup, table, bucket, failed, cfg := p.stack, p.role, p.logGroup, p.table, p.bucket, p.failed, p.cfg
	return awslambda.NewFunction(stack, jsii.String("Deployer"), &awslambda.FunctionProps{
		Description:           jsii.String("eventwire deployer"),
		Runtime:               awslambda.Runtime_PROVIDED_AL2023(),
		Architecture:          awslambda.Architecture_ARM_64(),
		Handler:               jsii.String("bootstrap"),
		Code:                  awslambda.Code_FromAsset(jsii.String(codePath), nil),
		Role:                  role,
		Timeout:               awscdk.Duration_Seconds(jsii.Number(functionTimeoutSeconds)),
		MemorySize:            jsii.Number(functionMemoryMiB),
		LoggingFormat:         awslambda.LoggingFormat_JSON,
		ApplicationLogLevelV2: awslambda.ApplicationLogLevel_INFO,
		LogGroup:              logGroup,
		Environment:           deployerEnvironment(table, bucket, cfg),
		RetryAttempts:         jsii.Number(asyncRetryAttempts),
		MaxEventAge:           awscdk.Duration_Hours(jsii.Number(asyncMaxEventAge)),
		OnFailure:             awslambdadestinations.NewSqsDestination(failed),
	})
}

// deployerEnvironment is the environment internal/deployer reads
// (deployer.SettingsFromEnv): the table, the lease, what the deployer may
// wire, and the event sources the stack configured. Optional settings are
// left out when unset.
func deployerEnvironment(table awsdynamodb.Table, bucket awss3.Bucket, cfg settings) *map[string]*string {
	env := map[string]*string{
		contract.EnvTable:          table.TableName(),
		contract.EnvLeaseSeconds:   jsii.String(fmt.Sprint(leaseSeconds)),
		contract.EnvFunctionPrefix: jsii.String(cfg.functionNamePrefix),
		contract.EnvAllowTakeover:  jsii.String(fmt.Sprint(cfg.allowTakeover)),
		contract.EnvBucket:         bucket.BucketName(),
	}
	if cfg.repository != "" {
		env[contract.EnvRepository] = jsii.String(cfg.repository)
		env[contract.EnvBranches] = jsii.String(mustJSON(cfg.branches))
	}
	if len(cfg.keyPrefixFunctions) > 0 {
		env[contract.EnvKeyPrefixFunctions] = jsii.String(mustJSON(cfg.keyPrefixFunctions))
	}
	for k, v := range cfg.allowlistEnv() {
		env[k] = jsii.String(v)
	}
	return &env
}

// mustJSON is v as JSON (maps with sorted keys); v is a list or map of
// strings, which always marshal.
func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// addOutputs are the stack's outputs: what a user needs to upload, watch
// and wire the deployer.
func addOutputs(p *parts) {
	stack, fn, bucket, table, logGroup, failed, topic, sw := p.stack, p.fn, p.bucket, p.table, p.logGroup, p.failed, p.topic, p.sw
	for _, o := range []struct {
		id, description string
		value           *string
	}{
		{"FunctionName", "The deployer function, for a CodePipeline Invoke stage", fn.FunctionName()},
		{"FunctionArn", "The deployer function's ARN", fn.FunctionArn()},
		{"BucketName", "Upload *" + contract.DefinitionFileName + " files here", bucket.BucketName()},
		{"TableName", "Deployment records (eventwire history --table)", table.TableName()},
		{"LogGroupName", "The deployer's logs (aws logs tail --follow)", logGroup.LogGroupName()},
		{"FailedEventsQueueUrl", "Events the deployer failed on after its retries", failed.QueueUrl()},
		{"FailedEventsQueueArn", "The failure queue's ARN", failed.QueueArn()},
		{"AlarmTopicArn", "The alarm topic: subscribe to be told of failures", topic.TopicArn()},
		{"SweepQueueUrl", "Drift checks of the sweep in progress", sw.queue.QueueUrl()},
		{"SweepDeadLettersQueueUrl", "Drift checks that failed 3 times", sw.deadLetters.QueueUrl()},
	} {
		awscdk.NewCfnOutput(stack, jsii.String(o.id), &awscdk.CfnOutputProps{
			Value:       o.value,
			Description: jsii.String(o.description),
		})
	}
}
