// Package iamcalls is the one table of the AWS calls eventwire makes: every
// method of the adapters' SDK interfaces (lambdasvc, elbsvc, apigwsvc,
// stssvc, records, trigger), with the IAM authorization requests it needs
// (after the Service Authorization Reference: each action's resource type
// and the condition keys AWS puts in the request), which program makes it
// (the deployer, the CLI) and whether it changes anything.
//
// The stack's IAM test checks the deployer's policy against it both ways
// (infra/iam_calls_test.go), and `eventwire iam-policy` derives the CLI's
// least-privilege policy from it (Policy), so neither can drift from the
// code: a method added to an adapter interface fails this package's tests
// until it is described here.
//
// It describes the adapters by name and imports none of them: only the
// standard library and internal/contract, so the stack's tests and the CLI
// read it without the SDK.
package iamcalls

import (
	"strings"

	"github.com/eventwire/eventwire/internal/contract"
)

// Caller is a program that makes a call.
type Caller uint8

// The callers.
const (
	Deployer Caller = 1 << iota // the deployer Lambda (internal/deployer)
	CLI                         // the eventwire command line (internal/cli)
)

// Placeholders of resource and condition templates, filled by Values.Fill.
const (
	FunctionARN    = "arn:{partition}:lambda:{region}:{account}:function:{function}"
	QualifiedARN   = FunctionARN + ":{qualifier}"
	MappingARN     = "arn:{partition}:lambda:{region}:{account}:event-source-mapping:{mapping}"
	TargetGroupARN = "arn:{partition}:elasticloadbalancing:{region}:{account}:targetgroup/{targetgroup}"
	APIsARN        = "arn:{partition}:apigateway:{region}::/apis/{api}"
	BucketARN      = "arn:{partition}:s3:::{bucket}"
	ObjectARN      = BucketARN + "/{key}"
	TableARN       = "arn:{partition}:dynamodb:{region}:{account}:table/{table}"
	RepositoryARN  = "arn:{partition}:codecommit:{region}:{account}:{repository}"
	QueueARN       = "arn:{partition}:sqs:{region}:{account}:{queue}"
)

// Settings of the deployer's stack that a call needs (the stack's context
// parameters): without them the deployer's policy does not allow it.
const (
	NeedsRepository = "codeCommitRepository"
	NeedsAPIs       = "apiIds"
)

// Request is one authorization request of a call: an action on a resource
// (a template), with the condition keys of its context (templates too).
type Request struct {
	Action   string
	Resource string
	Context  map[string]string
	// Grant names the statement of Policy that allows it; the requests of
	// one grant share their condition keys.
	Grant string
}

// Call is what one SDK operation needs.
type Call struct {
	Requests []Request
	By       Caller
	// Write: only apply and destroy make the call (it changes AWS, or
	// guards a change: the CLI's lease); a plan never does.
	Write bool
	// Needs is the stack setting without which the deployer may not make
	// the call (NeedsRepository, NeedsAPIs), or "".
	Needs string
	// Why says why a program never makes a call its interface declares
	// (By is 0 when neither does).
	Why string
}

// On is a request of action on resource, with key, value pairs of
// condition keys, under grant.
func On(grant, action, resource string, kv ...string) Request {
	r := Request{Grant: grant, Action: action, Resource: resource, Context: map[string]string{}}
	for i := 0; i+1 < len(kv); i += 2 {
		r.Context[kv[i]] = kv[i+1]
	}
	return r
}

const (
	principalELB   = "elasticloadbalancing.amazonaws.com"
	principalAPIGW = "apigateway.amazonaws.com"
	both           = Deployer | CLI
)

func apis(path string) string { return APIsARN + "/" + path }

// Calls maps "package.Interface.Method" of every adapter interface to what
// the call needs.
var Calls = map[string]Call{
	// GetFunctionConfiguration, not GetFunction (which also hands out a
	// URL to download the function's code).
	"lambdasvc.FunctionAPI.GetFunctionConfiguration": {By: both, Requests: []Request{
		On("ReadTargetFunctions", "lambda:GetFunctionConfiguration", QualifiedARN)}},

	"lambdasvc.PolicyAPI.GetPolicy":   {By: both, Requests: []Request{On("ReadTargetFunctions", "lambda:GetPolicy", QualifiedARN)}},
	"lambdasvc.PolicyAPI.ListAliases": {By: both, Requests: []Request{On("ReadTargetFunctions", "lambda:ListAliases", FunctionARN)}},
	// lambda:Principal holds the grantee: only the two push services.
	"lambdasvc.PolicyAPI.AddPermission": {By: both, Write: true, Requests: []Request{
		On("ManagePushPermissions", "lambda:AddPermission", QualifiedARN, "lambda:Principal", principalELB),
		On("ManagePushPermissions", "lambda:AddPermission", FunctionARN, "lambda:Principal", principalAPIGW),
	}},
	"lambdasvc.PolicyAPI.RemovePermission": {By: both, Write: true, Requests: []Request{
		On("ManagePushPermissions", "lambda:RemovePermission", QualifiedARN, "lambda:Principal", principalAPIGW),
	}},

	// CreateEventSourceMapping has no resource type (Resource "*");
	// lambda:FunctionArn holds it to the functions. With Tags it also
	// needs TagResource on the new mapping.
	"lambdasvc.MappingAPI.CreateEventSourceMapping": {By: both, Write: true, Requests: []Request{
		On("CreateMappings", "lambda:CreateEventSourceMapping", "*", "lambda:FunctionArn", QualifiedARN),
		On("TagMappings", "lambda:TagResource", MappingARN),
	}},
	"lambdasvc.MappingAPI.GetEventSourceMapping": {By: both, Requests: []Request{
		On("ManageMappings", "lambda:GetEventSourceMapping", MappingARN, "lambda:FunctionArn", FunctionARN)}},
	"lambdasvc.MappingAPI.UpdateEventSourceMapping": {By: both, Write: true, Requests: []Request{
		On("ManageMappings", "lambda:UpdateEventSourceMapping", MappingARN, "lambda:FunctionArn", QualifiedARN)}},
	"lambdasvc.MappingAPI.DeleteEventSourceMapping": {By: both, Write: true, Requests: []Request{
		On("ManageMappings", "lambda:DeleteEventSourceMapping", MappingARN, "lambda:FunctionArn", FunctionARN)}},
	// No resource type, no condition key: Resource "*", read-only.
	"lambdasvc.MappingAPI.ListEventSourceMappings": {By: both, Requests: []Request{On("ListMappings", "lambda:ListEventSourceMappings", "*")}},
	// Resource type eventSourceMapping; the tag actions' condition keys are
	// tag keys only (aws:ResourceTag, aws:RequestTag, aws:TagKeys), not
	// lambda:FunctionArn, and a definition file may set any tag, so these
	// cannot be narrowed to the functions' mappings.
	"lambdasvc.MappingAPI.ListTags":      {By: both, Requests: []Request{On("TagMappings", "lambda:ListTags", MappingARN)}},
	"lambdasvc.MappingAPI.TagResource":   {By: both, Write: true, Requests: []Request{On("TagMappings", "lambda:TagResource", MappingARN)}},
	"lambdasvc.MappingAPI.UntagResource": {By: both, Write: true, Requests: []Request{On("TagMappings", "lambda:UntagResource", MappingARN)}},

	// Describe*: no resource type, Resource "*", read-only.
	"elbsvc.API.DescribeTargetGroups": {By: both, Requests: []Request{On("DescribeTargetGroups", "elasticloadbalancing:DescribeTargetGroups", "*")}},
	"elbsvc.API.DescribeTargetHealth": {By: both, Requests: []Request{On("DescribeTargetGroups", "elasticloadbalancing:DescribeTargetHealth", "*")}},
	"elbsvc.API.RegisterTargets": {By: both, Write: true, Requests: []Request{
		On("RegisterLambdaTargets", "elasticloadbalancing:RegisterTargets", TargetGroupARN, "aws:ResourceTag/"+contract.TargetGroupTag, contract.TargetGroupTagValue)}},
	"elbsvc.API.DeregisterTargets": {By: both, Write: true, Requests: []Request{
		On("RegisterLambdaTargets", "elasticloadbalancing:DeregisterTargets", TargetGroupARN, "aws:ResourceTag/"+contract.TargetGroupTag, contract.TargetGroupTagValue)}},

	// API Gateway v2: HTTP verbs on resource paths (resource types Route,
	// Routes, Integration, Integrations, Stages).
	"apigwsvc.API.GetRoute":          {By: both, Needs: NeedsAPIs, Requests: []Request{On("ReadHttpApis", "apigateway:GET", apis("routes/{route}"))}},
	"apigwsvc.API.GetRoutes":         {By: both, Needs: NeedsAPIs, Requests: []Request{On("ReadHttpApis", "apigateway:GET", apis("routes"))}},
	"apigwsvc.API.UpdateRoute":       {By: both, Needs: NeedsAPIs, Write: true, Requests: []Request{On("WireHttpApiRoutes", "apigateway:PATCH", apis("routes/{route}"))}},
	"apigwsvc.API.GetIntegrations":   {By: both, Needs: NeedsAPIs, Requests: []Request{On("ReadHttpApis", "apigateway:GET", apis("integrations"))}},
	"apigwsvc.API.GetIntegration":    {By: both, Needs: NeedsAPIs, Requests: []Request{On("ReadHttpApis", "apigateway:GET", apis("integrations/{integration}"))}},
	"apigwsvc.API.CreateIntegration": {By: both, Needs: NeedsAPIs, Write: true, Requests: []Request{On("CreateHttpApiIntegrations", "apigateway:POST", apis("integrations"))}},
	"apigwsvc.API.DeleteIntegration": {By: both, Needs: NeedsAPIs, Write: true, Requests: []Request{On("DeleteHttpApiIntegrations", "apigateway:DELETE", apis("integrations/{integration}"))}},
	"apigwsvc.API.GetStages":         {By: both, Needs: NeedsAPIs, Requests: []Request{On("ReadHttpApis", "apigateway:GET", apis("stages"))}},

	// No permission needed (IAM cannot deny it); asked to make the ARN of
	// a function that is gone, by the CLI for its records' caller, and by
	// the deployer for its own account (the allowlists' default).
	"stssvc.API.GetCallerIdentity":                 {By: both},
	"deployer.CallerIdentityAPI.GetCallerIdentity": {By: Deployer},

	// The deployer's records, declaration index, sequencers and leases;
	// the CLI's history, and its lease and records with --table (apply
	// and destroy).
	"records.API.GetItem":    {By: both, Write: true, Requests: []Request{On("DeploymentRecords", "dynamodb:GetItem", TableARN)}},
	"records.API.PutItem":    {By: both, Write: true, Requests: []Request{On("DeploymentRecords", "dynamodb:PutItem", TableARN)}},
	"records.API.UpdateItem": {By: both, Write: true, Requests: []Request{On("DeploymentRecords", "dynamodb:UpdateItem", TableARN)}},
	"records.API.DeleteItem": {By: both, Write: true, Requests: []Request{On("DeploymentRecords", "dynamodb:DeleteItem", TableARN)}},
	"records.API.Query":      {By: both, Requests: []Request{On("DeploymentRecords", "dynamodb:Query", TableARN)}},
	// A transaction is authorized as the calls it holds (the index's
	// updates and deletes; the CLI's declarations with --table).
	"records.API.TransactWriteItems": {By: both, Write: true, Requests: []Request{
		On("DeploymentRecords", "dynamodb:UpdateItem", TableARN),
		On("DeploymentRecords", "dynamodb:DeleteItem", TableARN),
	}},
	"records.CreateTableAPI.CreateTable": {Why: "records.CreateTable is for tests and the local demo; the stack owns the real table"},

	// GetObject at a version needs GetObjectVersion; ListBucket makes a
	// missing key answer 404 instead of 403.
	"bucket.S3API.GetObject": {By: Deployer, Requests: []Request{
		On("ReadDefinitions", "s3:GetObject", ObjectARN),
		On("ReadDefinitions", "s3:GetObjectVersion", ObjectARN),
		On("ListDefinitions", "s3:ListBucket", BucketARN),
	}},
	// HeadObject at a version (a delete marker's) needs GetObjectVersion.
	"bucket.S3API.HeadObject": {By: Deployer, Requests: []Request{
		On("ReadDefinitions", "s3:GetObject", ObjectARN),
		On("ReadDefinitions", "s3:GetObjectVersion", ObjectARN),
	}},
	// A scheduled sweep's start lists the bucket's versions, to find the
	// files whose put events were not delivered.
	"bucket.S3API.ListObjectVersions": {By: Deployer, Requests: []Request{
		On("ListDefinitions", "s3:ListBucketVersions", BucketARN),
	}},

	"branch.CodeCommitAPI.GetDifferences": {By: Deployer, Needs: NeedsRepository, Requests: []Request{On("ReadRepository", "codecommit:GetDifferences", RepositoryARN)}},
	"branch.CodeCommitAPI.GetFile":        {By: Deployer, Needs: NeedsRepository, Requests: []Request{On("ReadRepository", "codecommit:GetFile", RepositoryARN)}},
	"branch.CodeCommitAPI.GetCommit":      {By: Deployer, Needs: NeedsRepository, Requests: []Request{On("ReadRepository", "codecommit:GetCommit", RepositoryARN)}},
	// A scheduled sweep's start reads each configured branch's head, to
	// index the pushes whose events were not delivered.
	"branch.CodeCommitAPI.GetBranch": {By: Deployer, Needs: NeedsRepository, Requests: []Request{On("ReadRepository", "codecommit:GetBranch", RepositoryARN)}},

	// No resource type (a job is named by id only): Resource "*". A job
	// is verified with GetJobDetails before anything of it is read.
	"pipeline.CodePipelineAPI.GetJobDetails":       {By: Deployer, Requests: []Request{On("AnswerPipelineJobs", "codepipeline:GetJobDetails", "*")}},
	"pipeline.CodePipelineAPI.PutJobSuccessResult": {By: Deployer, Write: true, Requests: []Request{On("AnswerPipelineJobs", "codepipeline:PutJobSuccessResult", "*")}},
	"pipeline.CodePipelineAPI.PutJobFailureResult": {By: Deployer, Write: true, Requests: []Request{On("AnswerPipelineJobs", "codepipeline:PutJobFailureResult", "*")}},

	// A scheduled drift sweep enqueues its checks on the stack's sweep
	// queue, and a convergence its deferred teardowns (with DelaySeconds,
	// which needs no other action): SendMessageBatch is authorized as
	// sqs:SendMessage (resource type queue). The deployer's event source mapping receives and
	// deletes them: Lambda's calls, with the role's grant that CDK's
	// SqsEventSource adds.
	"sweep.SQSAPI.SendMessageBatch": {By: Deployer, Write: true, Requests: []Request{On("EnqueueSweepChecks", "sqs:SendMessage", QueueARN)}},
}

// Values fill the placeholders of the templates: concrete names for a
// sample request, or IAM patterns for a policy.
type Values struct {
	Partition, Region, Account string
	Function, Qualifier        string
	Mapping, TargetGroup       string
	API, Route, Integration    string
	Bucket, Key, Table         string
	Repository                 string
	Queue                      string
}

// Fill replaces the placeholders of template.
func (v Values) Fill(template string) string {
	return strings.NewReplacer(
		"{partition}", v.Partition, "{region}", v.Region, "{account}", v.Account,
		"{function}", v.Function, "{qualifier}", v.Qualifier,
		"{mapping}", v.Mapping, "{targetgroup}", v.TargetGroup,
		"{api}", v.API, "{route}", v.Route, "{integration}", v.Integration,
		"{bucket}", v.Bucket, "{key}", v.Key, "{table}", v.Table,
		"{repository}", v.Repository,
		"{queue}", v.Queue,
	).Replace(template)
}
