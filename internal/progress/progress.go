// Package progress carries what a run is doing, while it does it, from the
// executors (reconcile's actions, pull's waits for a mapping's state) to
// whoever shows it (the CLI's progress lines).
//
// It is a hook in the context, optional: without one every Report is a
// no-op, so executors call it unconditionally and stay unaware of who
// listens. Reporters must be safe for concurrent use (functions are applied
// concurrently) and must not block.
package progress

import "context"

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

type key struct{}

// With returns ctx carrying f: every Report under it goes to f.
func With(ctx context.Context, f Func) context.Context {
	return context.WithValue(ctx, key{}, f)
}

func from(ctx context.Context) Func {
	f, _ := ctx.Value(key{}).(Func)
	return f
}

// Scope returns ctx whose reports have function and action filled in where
// the reporter left them empty. Without a Func in ctx it returns ctx.
func Scope(ctx context.Context, function, action string) context.Context {
	f := from(ctx)
	if f == nil {
		return ctx
	}
	return With(ctx, f.Scope(function, action))
}

// Report sends e to the Func in ctx, if there is one.
func Report(ctx context.Context, e Event) { from(ctx).Report(e) }

// Wait reports that the work in ctx waits on resource, now in state.
func Wait(ctx context.Context, resource, state string) { from(ctx).Wait(resource, state) }
