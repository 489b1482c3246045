package contract

// Context parameters of the stack (cdk -c NAME=VALUE, or "context" in
// cdk.json). Settings says what each one does; docs/deploy.md's table is
// generated from it.
const (
	CtxStackName            = "stackName"
	CtxFunctionNamePrefix   = "functionNamePrefix"
	CtxAllowAllFunctions    = "allowAllFunctions"
	CtxNotificationEmail    = "notificationEmail"
	CtxCodeCommitRepository = "codeCommitRepository"
	CtxCodeCommitBranches   = "codeCommitBranches"
	CtxPipelineRoleArn      = "pipelineRoleArn"
	CtxTargetGroupArns      = "targetGroupArns"
	CtxAPIIDs               = "apiIds"
	CtxAllowTakeover        = "allowTakeover"
	CtxDefinitionWriters    = "definitionWriters"
	CtxKeyPrefixFunctions   = "keyPrefixFunctions"
	CtxAllowedAccounts      = "allowedAccounts"
	CtxAllowedRegions       = "allowedRegions"
	CtxAllowedBuckets       = "allowedBuckets"
	CtxKafkaHosts           = "kafkaHosts"
	CtxDriftSchedule        = "driftSchedule"
	CtxDriftHeal            = "driftHeal"
	CtxSweepShare           = "sweepShare"
	CtxSweepConcurrency     = "sweepConcurrency"
	CtxTeardownGrace        = "teardownGraceSeconds"
)

// Defaults of the stack's settings that are not the deployer's.
const (
	// DefaultStackName is the stack's name without CtxStackName.
	DefaultStackName = "Eventwire"
	// DefaultDriftSchedule starts a sweep once a day.
	DefaultDriftSchedule = "rate(1 day)"
	// DriftScheduleOff, as CtxDriftSchedule, leaves the schedule out: a
	// sweep then starts only when someone invokes the deployer with
	// SweepInput.
	DriftScheduleOff = "off"
)

// A Setting is one of the stack's settings: a context parameter, the
// deployer's environment variable the stack sets from it, or both.
type Setting struct {
	// Context is the context parameter's name; "" for an environment
	// variable the stack sets from its own resources.
	Context string
	// Env is the deployer's environment variable the stack sets from it
	// ("" when only the stack reads the parameter); EnvNote qualifies it
	// (Markdown).
	Env, EnvNote string
	// Default is the value without the parameter, and Doc what it does
	// (Markdown, relative links from docs/).
	Default, Doc string
}

// Settings are every context parameter the stack reads, then the
// environment variables it sets from its own resources, in the order
// docs/deploy.md lists them; the stack refuses any other key written like
// a context parameter.
var Settings = []Setting{
	{Context: CtxFunctionNamePrefix, Env: EnvFunctionPrefix,
		Default: "required",
		Doc:     "the deployer may only wire functions whose names start with this: its IAM policy is scoped to `function:PREFIX*` (mappings by the `lambda:FunctionArn` condition), and it refuses other files as invalid. Letters, digits, `-` and `_`"},
	{Context: CtxAllowAllFunctions, Env: EnvFunctionPrefix, EnvNote: "empty",
		Default: "`false`",
		Doc:     "`true`: no prefix, the deployer may wire **every** function of the account and region, other stacks' and CDK's own handlers included (only its own wiring stays denied). Use it for a sandbox account, never beside other workloads"},
	{Context: CtxStackName,
		Default: "`Eventwire`",
		Doc:     "the stack's name: several deployers in one account"},
	{Context: CtxDefinitionWriters,
		Default: "anyone your IAM policies let write to the bucket",
		Doc:     "IAM role ARNs (`*` allowed in the name, e.g. an SSO role) that may write and delete definition files: the bucket policy denies `s3:PutObject`, `DeleteObject`, `DeleteObjectVersion`, `PutObjectAcl`, `PutObjectVersionAcl` and replication writes to every other principal (the deployer's role and the CDK bootstrap roles of the stack's qualifier, `cdk-QUALIFIER-*`, excepted)"},
	{Context: CtxKeyPrefixFunctions, Env: EnvKeyPrefixFunctions,
		Default: "none",
		Doc:     "a JSON object of bucket folders to function name prefixes, `{\"team-a/\":\"shop-a-\",\"team-b/\":\"shop-b-\"}`: a file under `team-a/` may only wire functions named `shop-a-*` (the longest matching folder counts; each function prefix must start with `functionNamePrefix`); files elsewhere are held to `functionNamePrefix` only. S3 uploads only"},
	{Context: CtxTargetGroupArns, Env: EnvTargetGroups,
		Default: "target groups tagged `eventwire:allowed=true` (IAM only: an untagged one is recorded as `refused`, with the tag to set)",
		Doc:     "target group ARNs (`*` and `?` allowed) the deployer may register functions in: its IAM policy, and the deployer's check, so that a file naming another target group is invalid at its line:column"},
	{Context: CtxAPIIDs, Env: EnvAPIIDs,
		Default: "none: every file with an API Gateway source is invalid (\"API Gateway sources are not enabled for this deployer: set apiIds\")",
		Doc:     "HTTP API ids whose routes the deployer may wire (`*`: every API of the region): its IAM policy, and the deployer's check, so that a file naming another API is invalid at its line:column"},
	{Context: CtxAllowTakeover, Env: EnvAllowTakeover,
		Default: "`false`",
		Doc:     "`true`: a file may take over a target group or route that something eventwire does not own holds; otherwise that is a conflict, recorded, and nothing changes"},
	{Context: CtxNotificationEmail,
		Default: "none",
		Doc:     "an email subscription on the alarm topic"},
	{Context: CtxCodeCommitRepository, Env: EnvRepository,
		Default: "none",
		Doc:     "an existing repository whose pushes trigger the deployer; the deployer refuses events of any other repository"},
	{Context: CtxCodeCommitBranches, Env: EnvBranches, EnvNote: "(a JSON list)",
		Default: "none",
		Doc:     "the branches whose pushes deploy; required with `codeCommitRepository`"},
	{Context: CtxPipelineRoleArn,
		Default: "none",
		Doc:     "the role of a CodePipeline (service role or Invoke action role) allowed to invoke the deployer; a pipeline in another account names its role here too"},
	{Context: CtxAllowedAccounts, Env: EnvAllowedAccounts,
		Default: "the deployer's own",
		Doc:     "the accounts every ARN in a file must be in (see [What a file may point at](security.md#what-a-file-may-point-at)); `*` for any"},
	{Context: CtxAllowedRegions, Env: EnvAllowedRegions,
		Default: "the deployer's own",
		Doc:     "the regions every ARN in a file must be in"},
	{Context: CtxAllowedBuckets, Env: EnvAllowedBuckets,
		Default: "none",
		Doc:     "the S3 buckets a file may send failed records to, by name (`audit`) or prefix (`team-a-*`)"},
	{Context: CtxKafkaHosts, Env: EnvKafkaHosts,
		Default: "none",
		Doc:     "`HOST:PORT` patterns of the self-managed Kafka servers and schema registries a file may name (`*.kafka.internal:9092`)"},
	{Context: CtxDriftSchedule,
		Default: "`rate(1 day)`",
		Doc:     "when a drift sweep starts: an EventBridge schedule expression (`rate(12 hours)`, `cron(0 3 ? * MON-FRI *)`), or `off` (see [drift.md](drift.md#the-schedule-the-queue-and-the-alarms-the-stack))"},
	{Context: CtxDriftHeal, Env: EnvDriftHeal,
		Default: "`false`",
		Doc:     "`true`: the sweep applies what drifted and prunes orphans eventwire owns ([Heal mode](drift.md#heal-mode)); otherwise it only reports"},
	{Context: CtxSweepShare, Env: EnvSweepShare,
		Default: "`0.5`",
		Doc:     "the share of each AWS quota bucket a sweep may use, above 0 and at most 1"},
	{Context: CtxSweepConcurrency, Env: EnvSweepConcurrency,
		Default: "`2`",
		Doc:     "the sweep mapping's `MaximumConcurrency`: invocations checking at once, 2 to 1,000"},
	{Context: CtxTeardownGrace, Env: EnvTeardownGraceSeconds,
		Default: "`60`",
		Doc:     "seconds a function left undeclared by a file's removal stays wired before it is torn down, 0 to 900: the teardown is a delayed message on the sweep queue, after which the function is torn down only if still undeclared, so that a move whose delete arrives first keeps its mappings (a stream's checkpoint). `0`: at once"},
	{Env: EnvTable,
		Default: "the stack's table",
		Doc:     "the DynamoDB table of records, sequencers, leases and the declaration index; the deployer does not start without it"},
	{Env: EnvBucket,
		Default: "the stack's bucket",
		Doc:     "the definitions bucket: the only bucket whose S3 records the deployer accepts"},
	{Env: EnvLeaseSeconds,
		Default: "360 (the function's timeout and 60 s)",
		Doc:     "the length of a function's lease, in seconds (at least until the invocation's deadline, whatever it says)"},
	{Env: EnvSweepQueueURL,
		Default: "the sweep queue",
		Doc:     "where a scheduled sweep enqueues its checks; unset, a scheduled sweep fails"},
	{Env: EnvSweepQueueARN,
		Default: "the sweep queue",
		Doc:     "the only queue whose SQS batches the deployer accepts; unset, every SQS batch is refused"},
	{Env: EnvRatePrefix + "*",
		Default: "not set: AWS's quotas",
		Doc:     "the deployer's client-side pacing, as the CLI's ([Shared pacing](speed.md#shared-pacing))"},
}
