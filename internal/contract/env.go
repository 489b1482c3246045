package contract

// Environment variables of the deployer function, set by the stack from its
// context parameters (Settings).
const (
	// EnvTable names the DynamoDB table of records, sequencers and leases.
	// Required.
	EnvTable = "EVENTWIRE_TABLE"
	// EnvLeaseSeconds is the length of a function's lease, in seconds
	// (at least until the invocation's deadline, whatever it says).
	// Optional.
	EnvLeaseSeconds = "EVENTWIRE_LEASE_SECONDS"
	// EnvFunctionPrefix is the name prefix of the functions the stack lets
	// the deployer wire. IAM enforces it; the deployer also refuses a file
	// naming another function, as a final validation error rather than
	// an AccessDenied that Lambda would retry.
	EnvFunctionPrefix = "EVENTWIRE_FUNCTION_PREFIX"
	// What definition files may point at (the deployer reads them as a definition.Policy): lists
	// separated by commas, or JSON lists of strings. EnvAllowedAccounts defaults to the deployer's
	// own account, EnvAllowedRegions to its own region; EnvAllowedBuckets
	// (S3 destinations, by name) and EnvKafkaHosts (HOST:PORT patterns of
	// self-managed Kafka servers and schema registries) to none. "*"
	// allows anything.
	EnvAllowedAccounts = "EVENTWIRE_ALLOWED_ACCOUNTS"
	EnvAllowedRegions  = "EVENTWIRE_ALLOWED_REGIONS"
	EnvAllowedBuckets  = "EVENTWIRE_ALLOWED_BUCKETS"
	EnvKafkaHosts      = "EVENTWIRE_KAFKA_HOSTS"
	// EnvAPIIDs are the ids of the HTTP APIs whose routes files may wire
	// (the stack's apiIds; "*" any). Unset or empty: none, and every API
	// Gateway source is a validation error.
	EnvAPIIDs = "EVENTWIRE_API_IDS"
	// EnvTargetGroups are the ARN patterns (IAM wildcards) of the target
	// groups files may register functions in (the stack's
	// targetGroupArns). Unset or empty: not checked by the deployer; the
	// role's IAM policy allows the target groups tagged
	// TargetGroupTag, and a registration it refuses is recorded as
	// refused, not retried.
	EnvTargetGroups = "EVENTWIRE_TARGET_GROUPS"
	// EnvKeyPrefixFunctions maps key prefixes of the definitions bucket to
	// function name prefixes, as a JSON object ({"team-a/": "team-a-"}): a
	// file whose key starts with a mapped prefix may only wire functions
	// whose names start with the prefix it maps to (the longest matching
	// key prefix counts). Keys under no mapped prefix are held to
	// EnvFunctionPrefix only. Optional.
	EnvKeyPrefixFunctions = "EVENTWIRE_KEY_PREFIX_FUNCTIONS"
	// EnvAllowTakeover, "true", lets definition files take over target
	// groups and routes held by something eventwire does not own for the
	// function (set by the stack's allowTakeover). Unset or "false", such
	// a file is a conflict: recorded, nothing applied for its function.
	// Optional.
	EnvAllowTakeover = "EVENTWIRE_ALLOW_TAKEOVER"
	// EnvBucket, EnvRepository and EnvBranches are the event sources the
	// stack configured: the definitions bucket's name, the CodeCommit
	// repository's name ("" without one) and its branches (a JSON list).
	// The handler refuses an S3 record of another bucket and a CodeCommit
	// event of another repository or branch; a source left empty is
	// refused entirely.
	EnvBucket     = "EVENTWIRE_BUCKET"
	EnvRepository = "EVENTWIRE_REPOSITORY"
	EnvBranches   = "EVENTWIRE_BRANCHES"

	// EnvSweepQueueARN is the ARN of the sweep queue: the deployer accepts
	// SQS batches from that queue only. Unset, every SQS batch is refused.
	EnvSweepQueueARN = "EVENTWIRE_SWEEP_QUEUE_ARN"
	// EnvSweepQueueURL is the URL of the same queue, to which a scheduled
	// sweep sends its messages (SendMessageBatch). Unset, a scheduled
	// sweep fails.
	EnvSweepQueueURL = "EVENTWIRE_SWEEP_QUEUE_URL"
	// EnvDriftHeal: "true" makes the checks apply the plan (heal) and
	// prune orphans eventwire owns; anything else (default): report only.
	EnvDriftHeal = "EVENTWIRE_DRIFT_HEAL"
	// EnvSweepShare is the share of each AWS quota bucket that the sweep
	// may use, in (0, 1]; DefaultSweepShare if unset.
	EnvSweepShare = "EVENTWIRE_SWEEP_SHARE"
	// EnvSweepConcurrency is the sweep mapping's ScalingConfig
	// MaximumConcurrency: the share is split among that many concurrent
	// invocations. DefaultSweepConcurrency if unset.
	EnvSweepConcurrency = "EVENTWIRE_SWEEP_CONCURRENCY"
	// EnvTeardownGraceSeconds is how long, in seconds, a function that a
	// file's removal left undeclared stays wired before it is torn down
	// (0 to MaxTeardownGraceSeconds; 0: at once): the teardown is deferred
	// through a delayed message on the sweep queue (SweepKindTeardown).
	// DefaultTeardownGraceSeconds if unset; without the sweep queue,
	// teardowns are at once.
	EnvTeardownGraceSeconds = "EVENTWIRE_TEARDOWN_GRACE_SECONDS"
)

// Defaults of the sweep's settings.
const (
	DefaultSweepShare = 0.5
	// DefaultSweepConcurrency is Lambda's smallest MaximumConcurrency.
	DefaultSweepConcurrency = 2
	// DefaultTeardownGraceSeconds is a minute: time for a move's other
	// event to arrive.
	DefaultTeardownGraceSeconds = 60
	// MaxTeardownGraceSeconds is SQS's longest message delay.
	MaxTeardownGraceSeconds = 900
)

// EnvRatePrefix starts the names of the environment variables that pace
// the deployer's (and the CLI's) calls per quota bucket:
// EVENTWIRE_RATE_LAMBDA, EVENTWIRE_RATE_ELBV2_DESCRIBE, ...
const EnvRatePrefix = "EVENTWIRE_RATE_"
