package push

import (
	"fmt"
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
func CheckStageAliases(fn plan.Function, desired []definition.PushSource, obs wiring.Observed) error {
	var errs []string
	seen := map[string]bool{}
	for _, src := range desired {
		if src.Service != definition.ServiceAPIGateway || src.AliasStageVariableName == "" {
			continue
		}
		for _, st := range obs.APIs[src.ApiId].Stages {
			v := st.Variables[src.AliasStageVariableName]
			if v == "" || isDigits(v) || slices.Contains(obs.Aliases, v) {
				continue
			}
			msg := fmt.Sprintf("stage %s of api %s names alias %q in stage variable %s, but function %s has no such alias",
				st.Name, src.ApiId, v, src.AliasStageVariableName, fn.Name)
			if !seen[msg] {
				seen[msg] = true
				errs = append(errs, msg)
			}
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
