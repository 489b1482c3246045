package wiring

import "github.com/eventwire/eventwire/internal/definition"

// States of an event source mapping, as AWS reports them.
const (
	StateCreating  = "Creating"
	StateEnabling  = "Enabling"
	StateEnabled   = "Enabled"
	StateDisabling = "Disabling"
	StateDisabled  = "Disabled"
	StateUpdating  = "Updating"
	StateDeleting  = "Deleting"
)

// Transitional reports whether a mapping in state is changing and must be
// waited for before it is acted on.
func Transitional(state string) bool {
	switch state {
	case StateCreating, StateEnabling, StateDisabling, StateUpdating, StateDeleting:
		return true
	}
	return false
}

// Mapping is an event source mapping as AWS reports it.
type Mapping struct {
	UUID                  string
	ARN                   string
	FunctionArn           string
	State                 string
	StateTransitionReason string
	LastProcessingResult  string
	// FilterCriteriaError is set when AWS could not show the filter
	// criteria (encrypted with a KMS key the caller may not use):
	// Mapping.FilterCriteria is then unknown, not empty.
	FilterCriteriaError string
	// Mapping is what AWS reports, in the file's types. Enabled is derived
	// from State; FunctionName holds the FunctionArn; Tags is nil (see
	// Tags below).
	Mapping definition.Mapping
	// Tags are the mapping's tags (ListTags). Only List fills them.
	Tags map[string]string
}
