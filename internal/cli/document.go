package cli

import (
	"github.com/eventwire/eventwire/internal/definition"
	"github.com/eventwire/eventwire/internal/plan"
)

// FormatVersion is the version of eventwire's JSON output documents
// (validate, plan, apply, destroy and history with -o json). It changes
// in its minor number when fields are added, in its major number when a
// field changes meaning or goes away; schema/output.schema.json describes
// it. 1.1 added, among others, conflicts: the action kind and outcome
// "conflict", each action's owner, and the summary's conflicts.
const FormatVersion = "1.2"

// validateDocument is `validate -o json`.
type validateDocument struct {
	FormatVersion string          `json:"format_version"`
	Command       string          `json:"command"`
	Valid         bool            `json:"valid"`
	FilesChecked  int             `json:"files_checked"`
	Errors        []documentError `json:"errors"`
}

// documentError is one problem of a file: where it is and what it is.
// Line and Column are null for a problem of the file as a whole (its
// size); Path is "" for the document itself.
type documentError struct {
	File    string `json:"file"`
	Line    *int   `json:"line"`
	Column  *int   `json:"column"`
	Path    string `json:"path"`
	Message string `json:"message"`
}

func newValidateDocument(c checked) validateDocument {
	return validateDocument{
		FormatVersion: FormatVersion,
		Command:       "validate",
		Valid:         len(c.problems) == 0,
		FilesChecked:  c.names,
		Errors:        documentErrors(c.problems),
	}
}

func documentErrors(problems []*definition.Error) []documentError {
	out := make([]documentError, 0, len(problems))
	for _, p := range problems {
		e := documentError{File: p.File, Path: p.Path, Message: p.Msg}
		if p.Line > 0 {
			e.Line, e.Column = &p.Line, &p.Column
		}
		out = append(out, e)
	}
	return out
}

// deployDocument is plan, apply and destroy with -o json.
type deployDocument struct {
	FormatVersion string `json:"format_version"`
	Command       string `json:"command"`
	// Changes tells whether any function's plan has changes.
	Changes bool `json:"changes"`
	// Interrupted tells whether an interrupt stopped the run.
	Interrupted bool               `json:"interrupted"`
	Functions   []functionDocument `json:"functions"`
	Summary     summaryDocument    `json:"summary"`
}

// functionDocument is one definition file's function: its plan and, after
// apply or destroy, its outcome.
type functionDocument struct {
	Source   string           `json:"source"`
	Function *functionRef     `json:"function"` // null when it could not be resolved
	Changes  bool             `json:"changes"`
	Actions  []actionDocument `json:"actions"`
	// Outcome is null for plan; after apply or destroy one of: applied,
	// failed, no-changes, not-planned (planning failed), not-applied
	// (cancelled, or interrupted before its turn), conflict (the plan
	// holds a conflict, so nothing was applied; Error names it).
	Outcome *string `json:"outcome"`
	// Error is why planning or applying failed, the one line the text
	// output prints (at the file's field when AWS refused what it names);
	// DebugError is the whole error chain, with --debug only.
	Error      *string `json:"error"`
	DebugError *string `json:"debug_error"`
}

type functionRef struct {
	Ref          string  `json:"ref"`
	Name         string  `json:"name"`
	Qualifier    *string `json:"qualifier"`
	ARN          string  `json:"arn"`
	QualifiedARN string  `json:"qualified_arn"`
}

type actionDocument struct {
	Kind     string  `json:"kind"`
	Resource string  `json:"resource"`
	ID       string  `json:"id"`
	Reason   *string `json:"reason"`
	// Owner names what holds a source eventwire does not own (a conflict,
	// or a replace that takes it over); null otherwise.
	Owner *string `json:"owner"`
	// Warning is what a reviewer must know that the kind does not say
	// (a replace losing a stream's position); null otherwise.
	Warning *string          `json:"warning"`
	Changes []changeDocument `json:"changes"`
}

// changeDocument is one field's change; Before and After are JSON values
// (numbers, booleans, strings, lists, objects), null when absent.
type changeDocument struct {
	Field  string `json:"field"`
	Before any    `json:"before"`
	After  any    `json:"after"`
}

type summaryDocument struct {
	Functions   int  `json:"functions"`
	WithChanges int  `json:"with_changes"`
	Failed      int  `json:"failed"`
	Conflicts   int  `json:"conflicts"`
	Applied     *int `json:"applied"` // null for plan
}

// Outcomes of a function after apply or destroy.
const (
	outcomeApplied    = "applied"
	outcomeFailed     = "failed"
	outcomeNoChanges  = "no-changes"
	outcomeNotPlanned = "not-planned"
	outcomeNotApplied = "not-applied"
	outcomeConflict   = "conflict"
)

func newDeployDocument(command string, outs []outcome, applied, interrupted, debug bool) deployDocument {
	doc := deployDocument{FormatVersion: FormatVersion, Command: command, Interrupted: interrupted,
		Functions: make([]functionDocument, 0, len(outs))}
	for _, o := range outs {
		f := functionDocument{Source: o.Source, Actions: []actionDocument{}}
		if o.err != nil {
			f.setError(o.planProblem(false), o.err, debug)
		} else if err := o.conflict(); err != nil {
			f.Error = ptr(err.Error())
		}
		if p := o.Plan; p != nil {
			f.Function = newFunctionRef(p.Function)
			f.Changes = p.HasChanges() && o.conflict() == nil
			for _, a := range p.Actions {
				f.Actions = append(f.Actions, newActionDocument(a))
			}
		}
		if applied {
			f.Outcome = ptr(o.outcome())
			if o.applyErr != nil {
				f.setError(o.applyProblem(command, false), o.applyErr, debug)
			}
		}
		doc.Changes = doc.Changes || f.Changes
		doc.Functions = append(doc.Functions, f)
	}
	s := summarize(outs)
	doc.Summary = summaryDocument{Functions: s.functions, WithChanges: s.changed, Failed: s.failed, Conflicts: s.conflicts}
	if applied {
		doc.Summary.Applied, doc.Summary.Failed = ptr(s.applied), s.failed+s.applyFailed
	}
	return doc
}

// setError sets the function's error: line, and with debug err's chain.
func (f *functionDocument) setError(line string, err error, debug bool) {
	f.Error, f.DebugError = ptr(line), nil
	if debug {
		f.DebugError = ptr(err.Error())
	}
}

func newFunctionRef(fn plan.Function) *functionRef {
	r := &functionRef{Ref: fn.Ref, Name: fn.Name, ARN: fn.ARN, QualifiedARN: fn.QualifiedARN()}
	if fn.Qualifier != "" {
		r.Qualifier = ptr(fn.Qualifier)
	}
	return r
}

func newActionDocument(a plan.Action) actionDocument {
	d := actionDocument{Kind: string(a.Kind), Resource: a.Resource, ID: a.ID, Changes: []changeDocument{}}
	if a.Reason != "" {
		d.Reason = ptr(a.Reason)
	}
	if a.Owner != "" {
		d.Owner = ptr(a.Owner)
	}
	if a.Warning != "" {
		d.Warning = ptr(a.Warning)
	}
	for _, c := range a.Changes {
		before, after := c.Before, c.After
		if before == nil && after == nil { // a change made without values: its display form
			before, after = displayValue(c.From), displayValue(c.To)
		}
		d.Changes = append(d.Changes, changeDocument{Field: c.Field, Before: before, After: after})
	}
	return d
}

func displayValue(s string) any {
	if s == plan.None {
		return nil
	}
	return s
}

func ptr[T any](v T) *T { return &v }
