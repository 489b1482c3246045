// Package progress carries what a run is doing, while it does it, from the
// executors (reconcile's actions, pull's waits for a mapping's state) to
// whoever shows it (the CLI's progress lines).
//
// A Func is handed over as a value (reconcile.Reconciler.NewRun, then
// pull.ExecuteOptions), not in the context. It is optional: a nil Func
// reports nothing, so executors report unconditionally and stay unaware
// of who listens. Reporters must be safe for concurrent use (functions are
// applied concurrently) and must not block.
//
// It imports only the standard library.
package progress

// Step is what an Event says happened.
type Step string

const (
	// Started: an action began.
	Started Step = "started"
	// Waiting: the action waits on AWS (a mapping in a transitional
	// state); State says on what. Sent each time the wait looks again.
	Waiting Step = "waiting"
	// Finished: the action ended; Err says how.
	Finished Step = "finished"
)

// Event is one step of a function's run.
type Event struct {
	// Function is the function's reference as the file writes it. Filled
	// in by Scope when the executor does not know it.
	Function string
	Step     Step
	// Action is what is being done, e.g. "create event-source-mapping
	// arn:aws:sqs:...:orders". Filled in by Scope.
	Action string
	// Resource and State, while Waiting: what is waited on ("mapping
	// 6f2d...") and the state it is in ("Creating").
	Resource, State string
	// Err, when Finished: nil on success.
	Err error
}

// Func receives events. A nil Func receives nothing: executors report
// unconditionally. Scope, Report and Wait are its methods.
type Func func(Event)

// Scope returns a Func that fills in function and action where the
// reporter left them empty, then sends to f. A nil f gives nil.
func (f Func) Scope(function, action string) Func {
	if f == nil {
		return nil
	}
	return func(e Event) {
		if e.Function == "" {
			e.Function = function
		}
		if e.Action == "" {
			e.Action = action
		}
		f(e)
	}
}

// Report sends e to f, if f is not nil.
func (f Func) Report(e Event) {
	if f != nil {
		f(e)
	}
}

// Wait reports to f that the work waits on resource, now in state.
func (f Func) Wait(resource, state string) {
	f.Report(Event{Step: Waiting, Resource: resource, State: state})
}
