package main

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdadestinations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3notifications"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssnssubscriptions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// DefaultCodePath is where `make lambda` leaves the deployer's bootstrap,
// relative to the repository root (the working directory of `cdk synth`).
const DefaultCodePath = "build/deployer"

// DefinitionSuffix is the key suffix of the files the deployer applies.
const DefinitionSuffix = "_lambdaeventsourcedef.json"

// Context parameters (cdk -c name=value, or "context" in cdk.json).
const (
	// CtxFunctionNamePrefix limits the functions the deployer may wire to
	// names starting with this prefix. Empty: every function of the account
	// in the stack's region.
	CtxFunctionNamePrefix = "functionNamePrefix"
	// CtxNotificationEmail subscribes an email address to the alarm topic.
	CtxNotificationEmail = "notificationEmail"
	// CtxCodeCommitRepository names an existing CodeCommit repository whose
	// pushes trigger the deployer.
	CtxCodeCommitRepository = "codeCommitRepository"
	// CtxCodeCommitBranches limits the CodeCommit trigger to these branches
	// (comma-separated or a JSON list). Empty: every branch.
	CtxCodeCommitBranches = "codeCommitBranches"
	// CtxPipelineRoleArn is the role of a CodePipeline (its service role or
	// the Invoke action's role) that may invoke the deployer.
	CtxPipelineRoleArn = "pipelineRoleArn"
	// CtxPipelineAccount lets any principal of that account that holds
	// lambda:InvokeFunction in its own policies invoke the deployer (for
	// pipelines in another account).
	CtxPipelineAccount = "pipelineAccount"
)

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
	// Deployment records expire through TTL (attribute expires_at, written
	// by the deployer); the table's own TTL attribute name is fixed here.
	ttlAttribute = "expires_at"
)

// DeployerStackProps configures NewDeployerStack. The zero value and nil
// are valid.
type DeployerStackProps struct {
	awscdk.StackProps
	// CodePath is the folder holding the deployer's `bootstrap` (or a zip
	// of it). Default: DefaultCodePath.
	CodePath string
}

// settings are the context parameters, read once.
type settings struct {
	functionNamePrefix string
	notificationEmail  string
	repository         string
	branches           []string
	pipelineRoleArn    string
	pipelineAccount    string
}

// NewDeployerStack builds eventwire's deployer stack: the definitions
// bucket, the deployer function with its table, failure queue and alarms,
// and the optional CodeCommit and CodePipeline wiring.
func NewDeployerStack(scope constructs.Construct, id string, props *DeployerStackProps) awscdk.Stack {
	if props == nil {
		props = &DeployerStackProps{}
	}
	codePath := props.CodePath
	if codePath == "" {
		codePath = DefaultCodePath
	}
	sp := props.StackProps
	if sp.Description == nil {
		sp.Description = jsii.String("eventwire: applies _lambdaeventsourcedef.json files to Lambda event sources")
	}
	stack := awscdk.NewStack(scope, &id, &sp)
	// cdk.json sets CDK's recommended feature flags; this one is also pinned
	// here because its legacy value (an ACL on the access-log bucket) cannot
	// work with ObjectOwnership BUCKET_OWNER_ENFORCED, and an app run
	// without the CLI (CDK_OUTDIR=... go run ./infra) does not read cdk.json.
	stack.Node().SetContext(jsii.String("@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy"), true)
	cfg := readSettings(stack)
	for _, p := range cfg.problems() {
		// cdk synth and cdk deploy stop on an error annotation.
		awscdk.Annotations_Of(stack).AddError(jsii.String(p))
	}

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

	// Versioned so that each S3 event is applied at exactly its version;
	// SSE-S3 so that reading needs no KMS grant.
	bucket := awss3.NewBucket(stack, jsii.String("Definitions"), &awss3.BucketProps{
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

	table := awsdynamodb.NewTable(stack, jsii.String("Deployments"), &awsdynamodb.TableProps{
		PartitionKey: &awsdynamodb.Attribute{Name: jsii.String("pk"), Type: awsdynamodb.AttributeType_STRING},
		SortKey:      &awsdynamodb.Attribute{Name: jsii.String("sk"), Type: awsdynamodb.AttributeType_STRING},
		BillingMode:  awsdynamodb.BillingMode_PAY_PER_REQUEST,
		PointInTimeRecoverySpecification: &awsdynamodb.PointInTimeRecoverySpecification{
			PointInTimeRecoveryEnabled: jsii.Bool(true),
		},
		// An AWS managed key: encrypted with KMS, usable through DynamoDB
		// by any principal allowed on the table, so no key grant is needed.
		Encryption:          awsdynamodb.TableEncryption_AWS_MANAGED,
		TimeToLiveAttribute: jsii.String(ttlAttribute),
		RemovalPolicy:       awscdk.RemovalPolicy_RETAIN,
	})

	failed := awssqs.NewQueue(stack, jsii.String("FailedEvents"), &awssqs.QueueProps{
		Encryption:      awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:      jsii.Bool(true),
		RetentionPeriod: awscdk.Duration_Days(jsii.Number(failedEventRetentionDays)),
	})

	logGroup := awslogs.NewLogGroup(stack, jsii.String("DeployerLogs"), &awslogs.LogGroupProps{
		Retention:     logRetention,
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})

	// The role is built here, without AWSLambdaBasicExecutionRole (whose
	// logs statements use Resource "*"): the function writes only to its
	// own log group.
	role := awsiam.NewRole(stack, jsii.String("DeployerRole"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
		Description: jsii.String("eventwire deployer: wires Lambda event sources, least privilege"),
	})
	logGroup.GrantWrite(role)

	fn := awslambda.NewFunction(stack, jsii.String("Deployer"), &awslambda.FunctionProps{
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
		Environment: &map[string]*string{
			"EVENTWIRE_TABLE":           table.TableName(),
			"EVENTWIRE_LEASE_SECONDS":   jsii.String(fmt.Sprint(leaseSeconds)),
			"EVENTWIRE_FUNCTION_PREFIX": jsii.String(cfg.functionNamePrefix),
		},
		RetryAttempts: jsii.Number(asyncRetryAttempts),
		MaxEventAge:   awscdk.Duration_Hours(jsii.Number(asyncMaxEventAge)),
		OnFailure:     awslambdadestinations.NewSqsDestination(failed),
	})

	// ObjectCreated and ObjectRemoved of definition files only. CDK applies
	// bucket notifications through its BucketNotificationsHandler custom
	// resource (a small Lambda function scoped to this bucket).
	for _, ev := range []awss3.EventType{awss3.EventType_OBJECT_CREATED, awss3.EventType_OBJECT_REMOVED} {
		bucket.AddEventNotification(ev, awss3notifications.NewLambdaDestination(fn),
			&awss3.NotificationKeyFilter{Suffix: jsii.String(DefinitionSuffix)})
	}

	grantDeployer(stack, role, bucket, table, cfg)
	guardDeployer(stack, role, fn)

	if cfg.repository != "" {
		addCodeCommitTrigger(stack, fn, failed, cfg)
	}
	if cfg.pipelineRoleArn != "" {
		fn.AddPermission(jsii.String("InvokeFromPipelineRole"), &awslambda.Permission{
			Principal: awsiam.NewArnPrincipal(jsii.String(cfg.pipelineRoleArn)),
			Action:    jsii.String("lambda:InvokeFunction"),
		})
	}
	if cfg.pipelineAccount != "" {
		fn.AddPermission(jsii.String("InvokeFromPipelineAccount"), &awslambda.Permission{
			Principal: awsiam.NewAccountPrincipal(jsii.String(cfg.pipelineAccount)),
			Action:    jsii.String("lambda:InvokeFunction"),
		})
	}

	addAlarms(stack, fn, failed, cfg)

	awscdk.NewCfnOutput(stack, jsii.String("FunctionName"), &awscdk.CfnOutputProps{
		Value:       fn.FunctionName(),
		Description: jsii.String("The deployer function, for a CodePipeline Invoke stage"),
	})
	awscdk.NewCfnOutput(stack, jsii.String("FunctionArn"), &awscdk.CfnOutputProps{
		Value:       fn.FunctionArn(),
		Description: jsii.String("The deployer function's ARN"),
	})
	awscdk.NewCfnOutput(stack, jsii.String("BucketName"), &awscdk.CfnOutputProps{
		Value:       bucket.BucketName(),
		Description: jsii.String("Upload *" + DefinitionSuffix + " files here"),
	})
	awscdk.NewCfnOutput(stack, jsii.String("TableName"), &awscdk.CfnOutputProps{
		Value:       table.TableName(),
		Description: jsii.String("Deployment records (eventwire history --table)"),
	})
	awscdk.NewCfnOutput(stack, jsii.String("LogGroupName"), &awscdk.CfnOutputProps{
		Value:       logGroup.LogGroupName(),
		Description: jsii.String("The deployer's logs (aws logs tail --follow)"),
	})
	awscdk.NewCfnOutput(stack, jsii.String("FailedEventsQueueUrl"), &awscdk.CfnOutputProps{
		Value:       failed.QueueUrl(),
		Description: jsii.String("Events the deployer failed on after its retries"),
	})
	return stack
}

// notificationsHandlerRole is the role of CDK's bucket-notifications custom
// resource (a Lambda function that CloudFormation runs at deploy time to
// configure the bucket's notifications). CDK attaches
// AWSLambdaBasicExecutionRole to it, whose logs statements use Resource
// "*": that attachment is removed from the template, and the role may
// write logs only to the log groups of the functions CloudFormation names
// after this stack (/aws/lambda/STACK-...; with a stack name long enough
// for CloudFormation to shorten it, the handler's logs are lost, not its
// work). CDK adds s3:PutBucketNotification on the definitions bucket.
func notificationsHandlerRole(stack awscdk.Stack) awsiam.Role {
	role := awsiam.NewRole(stack, jsii.String("NotificationsHandlerRole"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
		Description: jsii.String("eventwire: CDK's bucket-notifications custom resource, at deploy time"),
	})
	role.Node().DefaultChild().(awscdk.CfnResource).AddPropertyDeletionOverride(jsii.String("ManagedPolicyArns"))
	logGroups := fmt.Sprintf("arn:%s:logs:%s:%s:log-group:/aws/lambda/%s-*",
		*stack.Partition(), *stack.Region(), *stack.Account(), *awscdk.Aws_STACK_NAME())
	role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("HandlerLogGroup"),
		Actions:   jsii.Strings("logs:CreateLogGroup"),
		Resources: jsii.Strings(logGroups),
	}))
	role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("HandlerLogs"),
		Actions:   jsii.Strings("logs:CreateLogStream", "logs:PutLogEvents"),
		Resources: jsii.Strings(logGroups + ":*"),
	}))
	return role
}

// grantDeployer writes the deployer's identity policy. Every statement has
// a Sid (the tests find statements by it) and a comment with the resource
// type and condition keys that the Service Authorization Reference lists
// for its actions.
func grantDeployer(stack awscdk.Stack, role awsiam.Role, bucket awss3.Bucket, table awsdynamodb.Table, cfg settings) {
	partition, region, account := *stack.Partition(), *stack.Region(), *stack.Account()
	lambdaArn := func(resource string) string {
		return fmt.Sprintf("arn:%s:lambda:%s:%s:%s", partition, region, account, resource)
	}
	// Function, version and alias ARNs (function:NAME, function:NAME:QUALIFIER)
	// of the functions the deployer may wire.
	functions := lambdaArn("function:" + cfg.functionNamePrefix + "*")
	mappings := lambdaArn("event-source-mapping:*")
	add := func(sid string, actions []string, resources []string, conditions map[string]any) {
		role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:        jsii.String(sid),
			Actions:    jsii.Strings(actions...),
			Resources:  jsii.Strings(resources...),
			Conditions: condMap(conditions),
		}))
	}

	// Lambda GetFunction / GetPolicy / ListAliases: resource type function
	// (function, version or alias ARN); no Lambda condition key. The push
	// side lists a function's aliases on every plan, since each alias has
	// a policy of its own that may hold eventwire's statements.
	add("ReadTargetFunctions",
		[]string{"lambda:GetFunction", "lambda:GetPolicy", "lambda:ListAliases"},
		[]string{functions}, nil)

	// AddPermission / RemovePermission: resource type function; condition
	// key lambda:Principal holds the grantee, so the deployer can only let
	// the two push sources it wires invoke a function, nobody else.
	add("ManagePushPermissions",
		[]string{"lambda:AddPermission", "lambda:RemovePermission"},
		[]string{functions},
		map[string]any{"StringEquals": map[string]any{
			"lambda:Principal": []string{"elasticloadbalancing.amazonaws.com", "apigateway.amazonaws.com"},
		}})

	// CreateEventSourceMapping has no resource type (the mapping does not
	// exist yet), so Resource must be "*"; condition key lambda:FunctionArn
	// narrows it to the functions above. The caller needs no permission on
	// the queue or stream: "when you use an event source mapping to invoke
	// your function, Lambda uses the execution role to read event data"
	// (Lambda Developer Guide, AWS managed policies in the execution role).
	// Not granted: KMS on a key named by a mapping's KMSKeyArn (filter
	// criteria encryption); a user of that field adds the key grant.
	add("CreateMappings",
		[]string{"lambda:CreateEventSourceMapping"},
		[]string{"*"},
		map[string]any{"ArnLike": map[string]any{"lambda:FunctionArn": functions}})

	// Get/Update/DeleteEventSourceMapping: resource type eventSourceMapping
	// (ids are chosen by Lambda, hence the wildcard); condition key
	// lambda:FunctionArn holds them to the functions above.
	add("ManageMappings",
		[]string{"lambda:GetEventSourceMapping", "lambda:UpdateEventSourceMapping", "lambda:DeleteEventSourceMapping"},
		[]string{mappings},
		map[string]any{"ArnLike": map[string]any{"lambda:FunctionArn": functions}})

	// ListEventSourceMappings has no resource type and no condition key:
	// Resource "*" is the only form AWS accepts. It is read-only.
	add("ListMappings",
		[]string{"lambda:ListEventSourceMappings"},
		[]string{"*"}, nil)

	// ListTags / TagResource / UntagResource: resource type
	// eventSourceMapping (tags on create need TagResource too). Their
	// condition keys are tag keys only, not lambda:FunctionArn.
	add("TagMappings",
		[]string{"lambda:ListTags", "lambda:TagResource", "lambda:UntagResource"},
		[]string{mappings}, nil)

	// API Gateway v2 uses HTTP-verb actions on path ARNs without account
	// (the caller's own account): GetRoute and UpdateRoute on
	// /apis/ID/routes/ID, GetRoutes on /apis/ID/routes, GetIntegrations and
	// CreateIntegration on /apis/ID/integrations, GetIntegration and
	// DeleteIntegration on /apis/ID/integrations/ID, GetStages on
	// /apis/ID/stages. Every API of the region, since the file names the
	// API; never the API itself, its routes' creation or its deployments.
	apigw := func(path string) string {
		return fmt.Sprintf("arn:%s:apigateway:%s::/apis/*/%s", partition, region, path)
	}
	add("ReadHttpApis",
		[]string{"apigateway:GET"},
		[]string{apigw("routes"), apigw("routes/*"), apigw("integrations"), apigw("integrations/*"), apigw("stages")}, nil)
	add("WireHttpApiRoutes",
		[]string{"apigateway:PATCH"},
		[]string{apigw("routes/*")}, nil)
	add("CreateHttpApiIntegrations",
		[]string{"apigateway:POST"},
		[]string{apigw("integrations")}, nil)
	add("DeleteHttpApiIntegrations",
		[]string{"apigateway:DELETE"},
		[]string{apigw("integrations/*")}, nil)

	// Elastic Load Balancing DescribeTargetGroups / DescribeTargetHealth
	// support no resource type: Resource "*" is the only form. Read-only.
	add("DescribeTargetGroups",
		[]string{"elasticloadbalancing:DescribeTargetGroups", "elasticloadbalancing:DescribeTargetHealth"},
		[]string{"*"}, nil)
	// RegisterTargets / DeregisterTargets: resource type targetgroup.
	add("RegisterLambdaTargets",
		[]string{"elasticloadbalancing:RegisterTargets", "elasticloadbalancing:DeregisterTargets"},
		[]string{fmt.Sprintf("arn:%s:elasticloadbalancing:%s:%s:targetgroup/*/*", partition, region, account)}, nil)

	// S3 GetObject / GetObjectVersion: resource type object, this bucket
	// only. ListBucket (resource type bucket) makes a missing sibling
	// _lambdadef.json answer 404 NoSuchKey instead of 403 AccessDenied.
	add("ReadDefinitions",
		[]string{"s3:GetObject", "s3:GetObjectVersion"},
		[]string{*bucket.ArnForObjects(jsii.String("*"))}, nil)
	add("ListDefinitions",
		[]string{"s3:ListBucket"},
		[]string{*bucket.BucketArn()}, nil)

	// DynamoDB item calls: resource type table, this table only. No Query
	// (only `eventwire history` reads records back, with the user's own
	// credentials), no Scan, no batch calls, no table management.
	add("DeploymentRecords",
		[]string{"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"},
		[]string{*table.TableArn()}, nil)

	// CodePipeline PutJobSuccessResult / PutJobFailureResult support no
	// resource type (a job is named by id only): Resource "*" is required.
	// The job's artifacts are read with the credentials in the job event,
	// so no S3 permission on pipeline buckets is granted here.
	add("AnswerPipelineJobs",
		[]string{"codepipeline:PutJobSuccessResult", "codepipeline:PutJobFailureResult"},
		[]string{"*"}, nil)

	if cfg.repository != "" {
		// CodeCommit GetDifferences / GetFile / GetCommit: resource type
		// repository, the configured repository only.
		add("ReadRepository",
			[]string{"codecommit:GetDifferences", "codecommit:GetFile", "codecommit:GetCommit"},
			[]string{fmt.Sprintf("arn:%s:codecommit:%s:%s:%s", partition, region, account, cfg.repository)}, nil)
	}
}

// guardDeployer denies the deployer any change to its own wiring, whatever
// functionNamePrefix allows: a definition file naming the deployer cannot
// open it to a new invoker or point an event source at it. A separate
// policy, since it names the function, which itself depends on the role's
// default policy.
func guardDeployer(stack awscdk.Stack, role awsiam.Role, fn awslambda.Function) {
	self := []string{*fn.FunctionArn(), *fn.FunctionArn() + ":*"}
	awsiam.NewPolicy(stack, jsii.String("DeployerSelfGuard"), &awsiam.PolicyProps{
		Roles: &[]awsiam.IRole{role},
		Statements: &[]awsiam.PolicyStatement{
			awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Sid:       jsii.String("DenyOwnPermissions"),
				Effect:    awsiam.Effect_DENY,
				Actions:   jsii.Strings("lambda:AddPermission", "lambda:RemovePermission"),
				Resources: jsii.Strings(self...),
			}),
			awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Sid:        jsii.String("DenyOwnMappings"),
				Effect:     awsiam.Effect_DENY,
				Actions:    jsii.Strings("lambda:CreateEventSourceMapping", "lambda:UpdateEventSourceMapping", "lambda:DeleteEventSourceMapping"),
				Resources:  jsii.Strings("*"),
				Conditions: &map[string]any{"ArnLike": map[string]any{"lambda:FunctionArn": self}},
			}),
		},
	})
}

// addCodeCommitTrigger invokes the deployer on pushes to the configured
// branches of an existing repository. CloudFormation cannot add a trigger to
// a repository it does not own (and PutRepositoryTriggers would replace the
// repository's other triggers), so the push comes from EventBridge's
// "CodeCommit Repository State Change" event, delivered as is: the deployer
// reads it directly, and its oldCommitId lets every commit of a push be
// applied, where a repository trigger names only the tip. A push that
// EventBridge cannot hand to the function (after its own retries, up to 24
// hours) goes to the failure queue, like an invocation that failed.
func addCodeCommitTrigger(stack awscdk.Stack, fn awslambda.Function, failed awssqs.IQueue, cfg settings) {
	repoArn := fmt.Sprintf("arn:%s:codecommit:%s:%s:%s", *stack.Partition(), *stack.Region(), *stack.Account(), cfg.repository)
	detail := map[string]any{
		"event":         []string{"referenceCreated", "referenceUpdated"},
		"referenceType": []string{"branch"},
	}
	if len(cfg.branches) > 0 {
		detail["referenceName"] = cfg.branches
	}
	rule := awsevents.NewRule(stack, jsii.String("CodeCommitPush"), &awsevents.RuleProps{
		Description: jsii.String("eventwire: pushes to " + cfg.repository),
		EventPattern: &awsevents.EventPattern{
			Source:     jsii.Strings("aws.codecommit"),
			DetailType: jsii.Strings("CodeCommit Repository State Change"),
			Resources:  jsii.Strings(repoArn),
			Detail:     &detail,
		},
	})
	rule.AddTarget(awseventstargets.NewLambdaFunction(fn, &awseventstargets.LambdaFunctionProps{
		DeadLetterQueue: failed,
	}))
}

// addAlarms alarms on any event in the failure queue and on any function
// error, to an SNS topic (with an email subscription when configured).
func addAlarms(stack awscdk.Stack, fn awslambda.Function, failed awssqs.Queue, cfg settings) {
	// Not KMS-encrypted: CloudWatch cannot publish to a topic under the AWS
	// managed SNS key, and a customer key (with a key policy for
	// cloudwatch.amazonaws.com) costs more than alarm texts are worth.
	topic := awssns.NewTopic(stack, jsii.String("Alarms"), &awssns.TopicProps{
		DisplayName: jsii.String("eventwire alarms"),
		EnforceSSL:  jsii.Bool(true),
	})
	if cfg.notificationEmail != "" {
		topic.AddSubscription(awssnssubscriptions.NewEmailSubscription(jsii.String(cfg.notificationEmail), nil))
	}
	period := awscdk.Duration_Minutes(jsii.Number(5))
	alarms := []awscloudwatch.Alarm{
		failed.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{
			Period: period, Statistic: jsii.String("Maximum"),
		}).CreateAlarm(stack, jsii.String("FailedEventsAlarm"), &awscloudwatch.CreateAlarmOptions{
			AlarmDescription:   jsii.String("eventwire: events the deployer gave up on are waiting in the failure queue"),
			Threshold:          jsii.Number(1),
			EvaluationPeriods:  jsii.Number(1),
			ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
			TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
		}),
		fn.MetricErrors(&awscloudwatch.MetricOptions{
			Period: period, Statistic: jsii.String("Sum"),
		}).CreateAlarm(stack, jsii.String("DeployerErrorsAlarm"), &awscloudwatch.CreateAlarmOptions{
			AlarmDescription:   jsii.String("eventwire: the deployer returned errors (AWS failures; they are retried)"),
			Threshold:          jsii.Number(1),
			EvaluationPeriods:  jsii.Number(1),
			ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
			TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
		}),
	}
	for _, a := range alarms {
		a.AddAlarmAction(awscloudwatchactions.NewSnsAction(topic))
	}
}

func readSettings(stack awscdk.Stack) settings {
	str := func(key string) string {
		return scalar(stack.Node().TryGetContext(jsii.String(key)))
	}
	return settings{
		functionNamePrefix: str(CtxFunctionNamePrefix),
		notificationEmail:  str(CtxNotificationEmail),
		repository:         str(CtxCodeCommitRepository),
		branches:           stringList(stack.Node().TryGetContext(jsii.String(CtxCodeCommitBranches))),
		pipelineRoleArn:    str(CtxPipelineRoleArn),
		pipelineAccount:    str(CtxPipelineAccount),
	}
}

// scalar reads a context value given as a string (cdk -c) or as a JSON
// scalar in cdk.json: a number such as an account id is written out in
// full, not as 1.23456789012e+11.
func scalar(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	default:
		return strings.TrimSpace(fmt.Sprint(v))
	}
}

// Patterns of the context parameters' values.
var (
	// Lambda function names: letters, digits, - and _. A prefix with any
	// other character could widen the deployer's IAM resource patterns
	// (* and ? are IAM wildcards) or match no function at all.
	functionNamePrefixPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{0,63}$`)
	accountPattern            = regexp.MustCompile(`^[0-9]{12}$`)
	roleArnPattern            = regexp.MustCompile(`^arn:aws[a-z-]*:iam::[0-9]{12}:role/[\w+=,.@/-]+$`)
	repositoryPattern         = regexp.MustCompile(`^[\w.-]{1,100}$`)
	emailPattern              = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[^@\s]+$`)
)

// problems returns what is wrong with the context parameters, one message
// each; the stack reports them as synthesis errors.
func (s settings) problems() []string {
	var out []string
	check := func(key, value string, re *regexp.Regexp, want string) {
		if value != "" && !re.MatchString(value) {
			out = append(out, fmt.Sprintf("context parameter %s: %q is not %s", key, value, want))
		}
	}
	check(CtxFunctionNamePrefix, s.functionNamePrefix, functionNamePrefixPattern,
		"a function name prefix (letters, digits, - and _, up to 63 characters)")
	check(CtxNotificationEmail, s.notificationEmail, emailPattern, "an email address")
	check(CtxCodeCommitRepository, s.repository, repositoryPattern,
		"a CodeCommit repository name (letters, digits, ., - and _, up to 100 characters)")
	check(CtxPipelineRoleArn, s.pipelineRoleArn, roleArnPattern, "an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)")
	check(CtxPipelineAccount, s.pipelineAccount, accountPattern,
		"a 12-digit AWS account id (in cdk.json, write it as a string)")
	if len(s.branches) > 0 && s.repository == "" {
		out = append(out, fmt.Sprintf("context parameter %s is set without %s: there is no repository to trigger on",
			CtxCodeCommitBranches, CtxCodeCommitRepository))
	}
	return out
}

// stringList reads a context value given as a list (cdk.json) or as a
// comma-separated or JSON-list string (cdk -c).
func stringList(v any) []string {
	var items []string
	switch v := v.(type) {
	case nil:
	case []any:
		for _, s := range v {
			items = append(items, fmt.Sprint(s))
		}
	case string:
		if err := json.Unmarshal([]byte(v), &items); err != nil {
			items = strings.Split(v, ",")
		}
	default:
		items = []string{fmt.Sprint(v)}
	}
	var out []string
	for _, s := range items {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func condMap(m map[string]any) *map[string]any {
	if m == nil {
		return nil
	}
	return &m
}
