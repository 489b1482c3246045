// Package contract holds, once, the names that eventwire's parts share
// across process boundaries: the deployer's environment variables and
// their defaults, the stack's context parameters (Settings, from which
// docs/deploy.md's table is generated), metric and log message names, the
// drift sweep's schedule input and queue message, the events the deployer
// accepts, the records table's key layout, the ownership tag of target
// groups and the definition files' names.
//
// The stack (infra), the CLI, the bench and the deployer import it so that
// none needs another's code to agree on a name. It must import only the
// standard library: a test fails when it, or infra, pulls in the
// reconciler or an AWS SDK service client.
package contract

// The definition files, by name: a definition, and the sibling
// CreateFunction request that may name its function (GitMoxi's).
const (
	DefinitionFileName  = "_lambdaeventsourcedef.json"
	FunctionDefFileName = "_lambdadef.json"
)

// The records table's schema, which the stack creates: a string partition
// key, a string sort key, and the TTL attribute (epoch seconds) through
// which deployment records expire.
const (
	TablePartitionKey = "pk"
	TableSortKey      = "sk"
	TableTTLAttribute = "expires_at"
)

// TargetGroupTag and TargetGroupTagValue mark the target groups the
// deployer may register functions in when the stack names none: its IAM
// policy asks for the tag on RegisterTargets and DeregisterTargets.
const (
	TargetGroupTag      = "eventwire:allowed"
	TargetGroupTagValue = "true"
)

// The EventBridge event CodeCommit emits for every reference change: its
// source and detail-type. The stack's rule matches them and delivers the
// event to the deployer as is.
const (
	CodeCommitEventSource = "aws.codecommit"
	CodeCommitStateChange = "CodeCommit Repository State Change"
)

// ConflictLogMessage is the message of the error line logged for each
// definition conflict (keys function, ref, source, declared_by); the
// stack counts these lines in a metric and alarms on it.
const ConflictLogMessage = "definition conflict"
