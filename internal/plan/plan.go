// Package plan holds the plan: the difference between a definition file
// (desired) and what AWS has (observed), as an ordered list of actions.
//
// A plan is a pure value. Nothing here imports the AWS SDK; planners in
// other packages build Actions, and executors carry them out in order.
package plan

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/eventwire/eventwire/internal/funcref"
)

// Kind is what an action does.
type Kind string

const (
	Create     Kind = "create"
	Update     Kind = "update"
	Replace    Kind = "replace"
	Delete     Kind = "delete"
	Adopt      Kind = "adopt"
	LeaveAlone Kind = "leave-alone"
	// Conflict is a source the file names that is held by something
	// eventwire does not own for the function reference: a target group
	// serving another target, a route pointing at another integration.
	// Nothing is applied for a function whose plan holds a conflict,
	// unless the operator allows takeovers (then the planner plans a
	// Replace instead, naming the same owner).
	Conflict Kind = "conflict"
)

// Symbol is the one-column marker printed before an action.
func (k Kind) Symbol() string {
	switch k {
	case Create:
		return "+"
	case Update:
		return "~"
	case Replace:
		return "±"
	case Delete:
		return "-"
	case Adopt:
		return "&"
	case LeaveAlone:
		return "="
	case Conflict:
		return "!"
	}
	return "?"
}

// IsChange reports whether the action writes to AWS. Left-alone entries
// and conflicts are information only (a conflict stops the whole plan
// from being applied: see Plan.ConflictError).
func (k Kind) IsChange() bool { return k != LeaveAlone && k != Conflict }

// Resource kinds.
const (
	ResourceMapping     = "event-source-mapping"
	ResourceMappingTags = "event-source-mapping-tags"
	ResourcePermission  = "permission"
	ResourceTarget      = "elb-target"
	ResourceIntegration = "apigateway-integration"
	ResourceRoute       = "apigateway-route"
)

// Change is one field that differs: in display form (From, To) and, for
// machine-readable output, as values (Before, After; nil when absent, and
// then left out of the JSON form, which deployment records keep).
type Change struct {
	Field  string `json:"field"`
	From   string `json:"from"`
	To     string `json:"to"`
	Before any    `json:"before,omitempty"`
	After  any    `json:"after,omitempty"`
}

// None is how an absent value is shown.
const None = "(none)"

// Diff is the change of field from before to after (nil: absent).
func Diff(field string, before, after any) Change {
	return Change{Field: field, From: Show(before), To: Show(after), Before: before, After: after}
}

// Optional is s, or nil (absent) when s is empty.
func Optional(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// Show renders a value for a plan: absent as None, a string as it is, a
// list of strings in brackets, anything else as JSON.
func Show(v any) string {
	switch x := v.(type) {
	case nil:
		return None
	case string:
		return x
	case []string:
		return "[" + strings.Join(x, ", ") + "]"
	case int32, bool:
		return fmt.Sprint(x)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func (c Change) String() string { return fmt.Sprintf("%s: %s → %s", c.Field, c.From, c.To) }

// Action is one step of a plan.
type Action struct {
	Kind     Kind   `json:"action"`
	Resource string `json:"resource"`
	// ID names the resource the way a user recognises it: an event source
	// ARN (plus the mapping's UUID once one exists), a target group ARN, an
	// API and route, a statement id.
	ID     string `json:"id"`
	Reason string `json:"reason,omitempty"`
	// Owner names what holds a source the file names and eventwire does
	// not own for the function reference: the registered target's id, or
	// the route's integration ("integrations/ID") and its URI. It is set on
	// conflicts and on the replaces that take such a source over.
	Owner string `json:"owner,omitempty"`
	// Warning says what a reviewer must know before applying the action
	// that its kind does not say: a replace that loses a stream's or a
	// Kafka consumer's position, and what the new mapping will read.
	Warning string   `json:"warning,omitempty"`
	Changes []Change `json:"changes,omitempty"`
	// Op is what the executor of Resource needs to carry the action out.
	// It is not part of the printed plan.
	Op any `json:"-"`
}

// Function is the resolved target of a definition file. It is
// funcref.Function, which the Lambda adapter returns, named here for the
// planners.
type Function = funcref.Function

// Plan is the ordered list of actions for one function. The order is the
// order of execution: grants before attachments, detachments before
// revocations.
type Plan struct {
	// Source is the definition file the plan was made from ("" for destroy).
	Source   string   `json:"source,omitempty"`
	Function Function `json:"function"`
	Actions  []Action `json:"actions"`
}

// HasChanges reports whether applying the plan would write to AWS.
func (p *Plan) HasChanges() bool {
	for _, a := range p.Actions {
		if a.Kind.IsChange() {
			return true
		}
	}
	return false
}

// ErrConflict marks a plan refused because a source it names is held by
// something eventwire does not own.
var ErrConflict = errors.New("conflict with what eventwire does not own: nothing applied for the function (allow takeover to take it over)")

// Conflicts returns the plan's conflicts, in order.
func (p *Plan) Conflicts() []Action {
	var out []Action
	for _, a := range p.Actions {
		if a.Kind == Conflict {
			out = append(out, a)
		}
	}
	return out
}

// ConflictError returns nil when the plan holds no conflict, and otherwise
// an error naming each conflicting resource and its owner, wrapping
// ErrConflict. A plan with a conflict is applied not at all.
func (p *Plan) ConflictError() error {
	cs := p.Conflicts()
	if len(cs) == 0 {
		return nil
	}
	parts := make([]string, len(cs))
	for i, a := range cs {
		parts[i] = fmt.Sprintf("%s %s held by %s", a.Resource, a.ID, a.Owner)
	}
	return fmt.Errorf("%s: %s: %w", p.Function.Ref, strings.Join(parts, "; "), ErrConflict)
}

// Counts returns how many actions of each kind the plan holds.
func (p *Plan) Counts() map[Kind]int {
	n := map[Kind]int{}
	for _, a := range p.Actions {
		n[a.Kind]++
	}
	return n
}

// String renders the plan deterministically, for terminals and golden files.
func (p *Plan) String() string {
	var b strings.Builder
	fn := p.Function.Ref
	if fn == "" {
		fn = p.Function.Name
	}
	var notes []string
	if p.Source != "" {
		notes = append(notes, p.Source)
	}
	if p.Function.Missing {
		notes = append(notes, "gone: tearing down what is left")
	}
	if len(notes) > 0 {
		fmt.Fprintf(&b, "function %s (%s)\n", fn, strings.Join(notes, "; "))
	} else {
		fmt.Fprintf(&b, "function %s\n", fn)
	}
	if len(p.Actions) == 0 {
		b.WriteString("  no changes\n")
		return b.String()
	}
	for _, a := range p.Actions {
		fmt.Fprintf(&b, "  %s %-11s %s %s", a.Kind.Symbol(), a.Kind, a.Resource, a.ID)
		if a.Reason != "" {
			fmt.Fprintf(&b, " (%s)", a.Reason)
		}
		b.WriteByte('\n')
		if a.Warning != "" {
			fmt.Fprintf(&b, "      ! %s\n", a.Warning)
		}
		for _, c := range a.Changes {
			fmt.Fprintf(&b, "      %s\n", c)
		}
	}
	n := p.Counts()
	fmt.Fprintf(&b, "  %d to create, %d to update, %d to replace, %d to delete, %d to adopt, %d left alone",
		n[Create], n[Update], n[Replace], n[Delete], n[Adopt], n[LeaveAlone])
	if n[Conflict] > 0 {
		fmt.Fprintf(&b, ", %d in conflict: nothing will be applied", n[Conflict])
	}
	b.WriteByte('\n')
	return b.String()
}
