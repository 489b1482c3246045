package push

import (
	"fmt"
	"iter"
	"slices"
	"strings"

	"github.com/eventwire/eventwire/internal/definition"
	"github.com/eventwire/eventwire/internal/plan"
	"github.com/eventwire/eventwire/internal/wiring"
)

// CheckStageAliases reports the stages that name, in a route's
// AliasStageVariableName, an alias the function does not have: API
// Gateway could not invoke it, and Lambda refuses a permission on it. A
// value of digits names a version and is not checked.
func CheckStageAliases(fn plan.Function, desired []definition.PushSource, obs wiring.Push) error {
	var errs []string
	seen := map[string]bool{}
	for sv := range stageValues(desired, obs) {
		if sv.value == "" || isDigits(sv.value) || slices.Contains(obs.Aliases, sv.value) {
			continue
		}
		msg := fmt.Sprintf("stage %s of api %s names alias %q in stage variable %s, but function %s has no such alias",
			sv.stage, sv.src.ApiId, sv.value, sv.src.AliasStageVariableName, fn.Name)
		if !seen[msg] {
			seen[msg] = true
			errs = append(errs, msg)
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("%s", strings.Join(errs, "; "))
}

func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

// stageValue is the value one stage of an API gives the stage variable of
// a route qualified by it ("" if the stage does not set it).
type stageValue struct {
	src          definition.PushSource
	stage, value string
}

// stageValues yields, for each desired route qualified by a stage
// variable (AliasStageVariableName), each stage of its API with the
// variable's value there.
func stageValues(desired []definition.PushSource, obs wiring.Push) iter.Seq[stageValue] {
	return func(yield func(stageValue) bool) {
		for _, src := range desired {
			if src.Service != definition.ServiceAPIGateway || src.AliasStageVariableName == "" {
				continue
			}
			for _, st := range obs.APIs[src.ApiId].Stages {
				if !yield(stageValue{src: src, stage: st.Name, value: st.Variables[src.AliasStageVariableName]}) {
					return
				}
			}
		}
	}
}
