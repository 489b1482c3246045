package pull

import (
	"go/parser"
	"go/token"
	"strconv"
	"strings"
	"testing"
)

// TestPlanner_ImportsNoSDK keeps the planner pure: its files import only
// the standard library and eventwire's SDK-free packages (the file's types,
// the plan, and the observed mapping), never an AWS SDK or an adapter.
func TestPlanner_ImportsNoSDK(t *testing.T) {
	allowed := map[string]bool{
		"github.com/eventwire/eventwire/internal/definition": true,
		"github.com/eventwire/eventwire/internal/plan":       true,
		"github.com/eventwire/eventwire/internal/esm":        true,
	}
	for _, file := range []string{"plan.go", "fields.go", "defaults.go"} {
		f, err := parser.ParseFile(token.NewFileSet(), file, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if strings.Contains(path, ".") && !allowed[path] {
				t.Errorf("%s imports %s", file, path)
			}
		}
	}
}
