package main

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/jsii-runtime-go"

	"github.com/eventwire/eventwire/internal/contract"
	"github.com/eventwire/eventwire/internal/definition"
)

// newDeployerRole is the deployer's role. It is built here, without
// AWSLambdaBasicExecutionRole (whose logs statements use Resource "*"):
// the function writes only to its own log group (granted by the caller).
func newDeployerRole(stack awscdk.Stack) awsiam.Role {
	return awsiam.NewRole(stack, jsii.String("DeployerRole"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
		Description: jsii.String("eventwire deployer: wires Lambda event sources, least privilege"),
	})
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

// deployerPolicy adds statements to the deployer's identity policy, and
// builds the ARNs of the stack's partition, region and account.
type deployerPolicy struct {
	role                       awsiam.Role
	partition, region, account string
}

// add adds an Allow statement. Every statement has a Sid (the tests find
// statements by it).
func (p deployerPolicy) add(sid string, actions []string, resources []string, conditions map[string]any) {
	p.role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String(sid),
		Actions:    jsii.Strings(actions...),
		Resources:  jsii.Strings(resources...),
		Conditions: condMap(conditions),
	}))
}

func (p deployerPolicy) lambdaArn(resource string) string {
	return fmt.Sprintf("arn:%s:lambda:%s:%s:%s", p.partition, p.region, p.account, resource)
}

// grantDeployer writes the deployer's identity policy, one group of calls
// after another. Every statement has a comment with the resource type and
// condition keys that the Service Authorization Reference lists for its
// actions.
func grantDeployer(parts *parts) {
	stack, role, bucket, table, cfg := parts.stack, parts.role, parts.bucket, parts.table, parts.cfg
	p := deployerPolicy{role: role, partition: *stack.Partition(), region: *stack.Region(), account: *stack.Account()}
	// Function, version and alias ARNs (function:NAME, function:NAME:QUALIFIER)
	// of the functions the deployer may wire.
	functions := p.lambdaArn("function:" + cfg.functionNamePrefix + "*")
	grantFunctions(p, functions)
	grantMappings(p, functions)
	grantHTTPAPIs(p, cfg.apiIDs)
	grantTargetGroups(p, cfg.targetGroupArns)
	grantRecords(p, bucket, table)
	grantSources(p, cfg)
}

// grantFunctions lets the deployer read the functions it may wire and
// manage their push permissions.
func grantFunctions(p deployerPolicy, functions string) {
	// Lambda GetFunctionConfiguration / GetPolicy / ListAliases: resource
	// type function (function, version or alias ARN); no Lambda condition
	// key. Not GetFunction, which also hands out a URL to download the
	// function's code. The push side lists a function's aliases on every
	// plan, since each alias has a policy of its own that may hold
	// eventwire's statements.
	p.add("ReadTargetFunctions",
		[]string{"lambda:GetFunctionConfiguration", "lambda:GetPolicy", "lambda:ListAliases"},
		[]string{functions}, nil)

	// AddPermission / RemovePermission: resource type function; condition
	// key lambda:Principal holds the grantee, so the deployer can only let
	// the two push sources it wires invoke a function, nobody else.
	p.add("ManagePushPermissions",
		[]string{"lambda:AddPermission", "lambda:RemovePermission"},
		[]string{functions},
		map[string]any{"StringEquals": map[string]any{
			"lambda:Principal": []string{definition.ServiceELB, definition.ServiceAPIGateway},
		}})
}

// grantMappings lets the deployer manage the event source mappings of the
// functions it may wire.
func grantMappings(p deployerPolicy, functions string) {
	mappings := p.lambdaArn("event-source-mapping:*")
	// CreateEventSourceMapping has no resource type (the mapping does not
	// exist yet), so Resource must be "*"; condition key lambda:FunctionArn
	// narrows it to the functions above. The caller needs no permission on
	// the queue or stream: "when you use an event source mapping to invoke
	// your function, Lambda uses the execution role to read event data"
	// (Lambda Developer Guide, AWS managed policies in the execution role).
	// Not granted: KMS on a key named by a mapping's KMSKeyArn (filter
	// criteria encryption); a user of that field adds the key grant.
	p.add("CreateMappings",
		[]string{"lambda:CreateEventSourceMapping"},
		[]string{"*"},
		map[string]any{"ArnLike": map[string]any{"lambda:FunctionArn": functions}})

	// Get/Update/DeleteEventSourceMapping: resource type eventSourceMapping
	// (ids are chosen by Lambda, hence the wildcard); condition key
	// lambda:FunctionArn holds them to the functions above.
	p.add("ManageMappings",
		[]string{"lambda:GetEventSourceMapping", "lambda:UpdateEventSourceMapping", "lambda:DeleteEventSourceMapping"},
		[]string{mappings},
		map[string]any{"ArnLike": map[string]any{"lambda:FunctionArn": functions}})

	// ListEventSourceMappings has no resource type and no condition key:
	// Resource "*" is the only form AWS accepts. It is read-only.
	p.add("ListMappings",
		[]string{"lambda:ListEventSourceMappings"},
		[]string{"*"}, nil)

	// ListTags / TagResource / UntagResource: resource type
	// eventSourceMapping (tags on create need TagResource too). Their
	// condition keys are tag keys only (aws:ResourceTag, aws:RequestTag,
	// aws:TagKeys), not lambda:FunctionArn, so they cannot be held to the
	// functions above; and a file may set any tag on its mappings, so the
	// keys cannot be narrowed either. The worst they allow is tagging
	// another function's mapping: creating, changing and deleting one stay
	// held by lambda:FunctionArn.
	p.add("TagMappings",
		[]string{"lambda:ListTags", "lambda:TagResource", "lambda:UntagResource"},
		[]string{mappings}, nil)
}

// grantHTTPAPIs lets the deployer wire the routes of the HTTP APIs the
// operator named (apiIds); none without them.
func grantHTTPAPIs(p deployerPolicy, apiIDs []string) {
	// API Gateway v2 uses HTTP-verb actions on path ARNs without account
	// (the caller's own account): GetRoute and UpdateRoute on
	// /apis/ID/routes/ID, GetRoutes on /apis/ID/routes, GetIntegrations and
	// CreateIntegration on /apis/ID/integrations, GetIntegration and
	// DeleteIntegration on /apis/ID/integrations/ID, GetStages on
	// /apis/ID/stages. Never the API itself, its routes' creation or its
	// deployments. Scoped by API id: routes and integrations carry no tags
	// and, in API Gateway v2, inherit none from their API, so a tag
	// condition cannot hold them.
	if len(apiIDs) == 0 {
		return
	}
	apigw := func(path string) []string {
		var out []string
		for _, id := range apiIDs {
			out = append(out, fmt.Sprintf("arn:%s:apigateway:%s::/apis/%s/%s", p.partition, p.region, id, path))
		}
		return out
	}
	p.add("ReadHttpApis",
		[]string{"apigateway:GET"},
		concat(apigw("routes"), apigw("routes/*"), apigw("integrations"), apigw("integrations/*"), apigw("stages")), nil)
	p.add("WireHttpApiRoutes",
		[]string{"apigateway:PATCH"},
		apigw("routes/*"), nil)
	p.add("CreateHttpApiIntegrations",
		[]string{"apigateway:POST"},
		apigw("integrations"), nil)
	p.add("DeleteHttpApiIntegrations",
		[]string{"apigateway:DELETE"},
		apigw("integrations/*"), nil)
}

func concat(lists ...[]string) []string {
	var out []string
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

// grantTargetGroups lets the deployer register functions in the Elastic
// Load Balancing target groups the operator allows: those named by
// targetGroupArns, or else those tagged eventwire:allowed=true.
func grantTargetGroups(p deployerPolicy, arns []string) {
	// Elastic Load Balancing DescribeTargetGroups / DescribeTargetHealth
	// support no resource type: Resource "*" is the only form. Read-only.
	p.add("DescribeTargetGroups",
		[]string{"elasticloadbalancing:DescribeTargetGroups", "elasticloadbalancing:DescribeTargetHealth"},
		[]string{"*"}, nil)
	// RegisterTargets / DeregisterTargets: resource type targetgroup, whose
	// condition keys include aws:ResourceTag/${TagKey}.
	actions := []string{"elasticloadbalancing:RegisterTargets", "elasticloadbalancing:DeregisterTargets"}
	if len(arns) > 0 {
		p.add("RegisterLambdaTargets", actions, arns, nil)
		return
	}
	p.add("RegisterLambdaTargets", actions,
		[]string{fmt.Sprintf("arn:%s:elasticloadbalancing:%s:%s:targetgroup/*/*", p.partition, p.region, p.account)},
		map[string]any{"StringEquals": map[string]any{"aws:ResourceTag/" + contract.TargetGroupTag: contract.TargetGroupTagValue}})
}

// grantRecords lets the deployer read the definitions bucket and keep
// deployment records, the declaration index and leases.
func grantRecords(p deployerPolicy, bucket awss3.Bucket, table awsdynamodb.Table) {
	// S3 GetObject / GetObjectVersion: resource type object, this bucket
	// only. ListBucket (resource type bucket) makes a missing sibling
	// _lambdadef.json answer 404 NoSuchKey instead of 403 AccessDenied;
	// ListBucketVersions (ListObjectVersions) lets a scheduled sweep find
	// the files whose put events were not delivered.
	p.add("ReadDefinitions",
		[]string{"s3:GetObject", "s3:GetObjectVersion"},
		[]string{*bucket.ArnForObjects(jsii.String("*"))}, nil)
	p.add("ListDefinitions",
		[]string{"s3:ListBucket", "s3:ListBucketVersions"},
		[]string{*bucket.BucketArn()}, nil)

	// DynamoDB item calls: resource type table, this table only. Query
	// reads a function's declarations (the declaration index); a
	// TransactWriteItems is authorized as the UpdateItem and DeleteItem
	// calls it holds. No Scan, no batch calls, no table management.
	p.add("DeploymentRecords",
		[]string{"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:Query"},
		[]string{*table.TableArn()}, nil)
}

// grantSources lets the deployer answer CodePipeline jobs and read the
// configured CodeCommit repository.
func grantSources(p deployerPolicy, cfg settings) {
	// CodePipeline GetJobDetails (a job is verified before it is run) and
	// PutJobSuccessResult / PutJobFailureResult support no resource type
	// (a job is named by id only): Resource "*" is required. The job's
	// artifacts are read with the credentials in its details, so no S3
	// permission on pipeline buckets is granted here.
	p.add("AnswerPipelineJobs",
		[]string{"codepipeline:GetJobDetails", "codepipeline:PutJobSuccessResult", "codepipeline:PutJobFailureResult"},
		[]string{"*"}, nil)

	if cfg.repository != "" {
		// CodeCommit GetDifferences / GetFile / GetCommit / GetBranch (the
		// sweep's start): resource type repository, the configured
		// repository only.
		p.add("ReadRepository",
			[]string{"codecommit:GetDifferences", "codecommit:GetFile", "codecommit:GetCommit", "codecommit:GetBranch"},
			[]string{repositoryArn(p.partition, p.region, p.account, cfg.repository)}, nil)
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

func condMap(m map[string]any) *map[string]any {
	if m == nil {
		return nil
	}
	return &m
}

// grantSweep lets the deployer enqueue a sweep's checks, and its deferred
// teardowns (delayed messages), on the sweep queue. (Receiving and deleting them is the mapping's part, granted by
// CDK's SqsEventSource; the checks themselves make the calls of a plan
// and an apply, granted above, and list the known functions with a Query
// of the table: no Scan.)
func grantSweep(stack awscdk.Stack, role awsiam.Role, sw sweep) {
	p := deployerPolicy{role: role, partition: *stack.Partition(), region: *stack.Region(), account: *stack.Account()}
	// SQS SendMessageBatch is authorized as sqs:SendMessage: resource
	// type queue, this queue only. Its encryption is SQS-managed, so no
	// KMS grant is needed.
	p.add("EnqueueSweepChecks",
		[]string{"sqs:SendMessage"},
		[]string{*sw.queue.QueueArn()}, nil)
}
