package contract

import "time"

// Drift detection: the names the stack (infra) and `eventwire drift` share
// with the deployer. The sweep itself is in the deployer; the table's items it
// writes are described in internal/records (drift.go).
//
// A sweep starts with a scheduled invocation: an EventBridge "Scheduled
// Event" (source SweepEventSource, detail-type SweepDetailType), or a rule
// whose target input is the constant SweepInput. It enqueues one
// SweepMessage per function on the sweep queue (EnvSweepQueueURL). The
// deployer consumes that queue through an event source mapping with
// ReportBatchItemFailures: only SQS batches from EnvSweepQueueARN are
// accepted, and each message is one function's drift check.

// The scheduled invocation that starts a sweep.
const (
	// SweepEventSource and SweepDetailType are what an EventBridge
	// schedule sends when the rule's target has no input of its own.
	SweepEventSource = "aws.events"
	SweepDetailType  = "Scheduled Event"
	// SweepInput is the constant input the stack's schedule may send
	// instead (the rule target's Input).
	SweepInput = `{"eventwire":"sweep"}`
)

// SweepMessage is the body (JSON) of one message on the sweep queue: one
// function to check.
type SweepMessage struct {
	// Function is the declaration key (records.DeclKey): "orders",
	// "orders:live".
	Function string `json:"function"`
	// Kind is records.KindDeclared or records.KindOrphan, as the sweep
	// saw it when it started; the check decides again under the
	// function's lease. SweepKindTeardown is no check: a deferred teardown.
	Kind string `json:"kind"`
	// Sweep is the sweep's id, Started when it started (none for a
	// deferred teardown).
	Sweep   string    `json:"sweep"`
	Started time.Time `json:"started"`
	// Trigger and Source are, for a deferred teardown, the trigger and the
	// source of the event whose removal left the function undeclared (for
	// its records).
	Trigger string `json:"trigger,omitempty"`
	Source  string `json:"source,omitempty"`
}

// SweepKindTeardown is the Kind of a message that is not a sweep's check
// but a deferred teardown (EnvTeardownGraceSeconds): sent with a delay by
// the convergence that found the function undeclared, it makes the
// deployer converge the function again under its lease, tearing it down
// only if no live file declares it by then.
const SweepKindTeardown = "teardown"

// Metrics, written as CloudWatch Embedded Metric Format lines (one per
// check batch, one per sweep start): namespace MetricNamespace, one
// dimension, MetricDimension, whose value is the deployer's function name.
const (
	MetricNamespace = "Eventwire"
	MetricDimension = "Deployer"
	// MetricDriftedFunctions counts the functions found drifted (healed
	// ones included): alarm on its Sum above 0.
	MetricDriftedFunctions = "DriftedFunctions"
	// MetricOrphanedResources counts the resources eventwire owns that
	// are left of functions no live file declares (pruned ones included):
	// alarm on its Sum above 0.
	MetricOrphanedResources = "OrphanedResources"
	// MetricFunctionsChecked counts the functions checked.
	MetricFunctionsChecked = "FunctionsChecked"
	// MetricSweepDurationSeconds is, per check batch, the time since its
	// sweep started: its Maximum over a sweep is the sweep's duration.
	MetricSweepDurationSeconds = "SweepDurationSeconds"
	// MetricFunctionsEnqueued counts the checks a sweep enqueued.
	MetricFunctionsEnqueued = "FunctionsEnqueued"
)

// Log messages of the sweep (the line's "message"), with stable keys.
const (
	// SweepStartedLogMessage: keys sweep, functions, declared, orphans.
	SweepStartedLogMessage = "sweep started"
	// DriftCheckedLogMessage: one line per function checked, keys
	// function, sweep, kind, outcome, changes, record (and error).
	DriftCheckedLogMessage = "drift checked"
)
