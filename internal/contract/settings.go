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

// A Setting is one context parameter of the stack.
type Setting struct {
	// Context is the parameter's name.
	Context string
	// Env are the deployer's environment variables the stack sets from
	// it (none for what only the stack uses).
	Env []string
	// Default is the value without the parameter, in words.
	Default string
	// Doc says what the parameter does.
	Doc string
}

// Settings are every context parameter the stack reads, in the order
// docs/deploy.md lists them; the stack refuses any other key written like
// one.
var Settings = []Setting{
	{CtxStackName, nil, DefaultStackName,
		"The stack's name: one deployer per team or stage in one account."},
	{CtxFunctionNamePrefix, []string{EnvFunctionPrefix}, "required",
		"The deployer may wire only functions whose names start with this prefix (its IAM policy, and a final validation error for a file naming another). Required, unless allowAllFunctions."},
	{CtxAllowAllFunctions, nil, "false",
		"`true` lets the deployer wire every function of the account in the stack's region (no prefix)."},
	{CtxNotificationEmail, nil, "none",
		"An email address subscribed to the alarm topic."},
	{CtxCodeCommitRepository, []string{EnvRepository}, "none",
		"An existing CodeCommit repository whose pushes trigger the deployer."},
	{CtxCodeCommitBranches, []string{EnvBranches}, "required with a repository",
		"The branches whose pushes trigger the deployer (comma-separated or a JSON list)."},
	{CtxPipelineRoleArn, nil, "none",
		"The role of a CodePipeline (its service role or the Invoke action's role) that may invoke the deployer; a role of another account works."},
	{CtxTargetGroupArns, []string{EnvTargetGroups}, "target groups tagged `" + TargetGroupTag + "=" + TargetGroupTagValue + "`",
		"The target groups (ARNs, IAM wildcards allowed) the deployer may register functions in."},
	{CtxAPIIDs, []string{EnvAPIIDs}, "none",
		"The HTTP APIs (ids, or `*` for every API of the region) whose routes the deployer may wire."},
	{CtxAllowTakeover, []string{EnvAllowTakeover}, "false",
		"`true` lets definition files take over target groups and routes that something else holds."},
	{CtxDefinitionWriters, nil, "any principal IAM lets write",
		"The IAM roles (ARNs, wildcards allowed) that may write and delete definition files; the bucket policy denies object writes to every other principal."},
	{CtxKeyPrefixFunctions, []string{EnvKeyPrefixFunctions}, "none",
		"A JSON object of bucket key prefixes to function name prefixes: a file under a mapped key prefix may only wire functions whose names start with the mapped function prefix."},
	{CtxAllowedAccounts, []string{EnvAllowedAccounts}, "the deployer's own account",
		"The accounts of every ARN a file may name (a list; `*` allows any)."},
	{CtxAllowedRegions, []string{EnvAllowedRegions}, "the deployer's own region",
		"The regions of every ARN a file may name (a list; `*` allows any)."},
	{CtxAllowedBuckets, []string{EnvAllowedBuckets}, "none",
		"The S3 buckets, by name, a file may name as a failure destination (a list; `*` allows any)."},
	{CtxKafkaHosts, []string{EnvKafkaHosts}, "none",
		"HOST:PORT patterns of the self-managed Kafka servers and schema registries a file may name (a list; `*` allows any)."},
	{CtxDriftSchedule, nil, DefaultDriftSchedule,
		"The EventBridge schedule expression that starts a drift sweep; `" + DriftScheduleOff + "`: no schedule."},
	{CtxDriftHeal, []string{EnvDriftHeal}, "false",
		"`true` makes the sweep apply plans and prune orphans eventwire owns; otherwise it reports only."},
	{CtxSweepShare, []string{EnvSweepShare}, "0.5",
		"The share of each AWS quota bucket the sweep may use, in (0, 1]."},
	{CtxSweepConcurrency, []string{EnvSweepConcurrency}, "2",
		"The sweep queue mapping's MaximumConcurrency (2 to 1000): the share is split among that many invocations."},
}
