package plan

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestPlanners_ImportNoSDK keeps the planners pure: the files that compute
// a plan import only the standard library and eventwire's SDK-free
// packages (the file's types, the plan, the observed mapping), never an AWS
// SDK or an adapter.
func TestPlanners_ImportNoSDK(t *testing.T) {
	allowed := map[string]bool{
		"github.com/eventwire/eventwire/internal/definition": true,
		"github.com/eventwire/eventwire/internal/plan":       true,
		"github.com/eventwire/eventwire/internal/esm":        true,
	}
	for _, file := range []string{"pull/plan.go", "pull/fields.go", "pull/defaults.go", "push/plan.go"} {
		f, err := parser.ParseFile(token.NewFileSet(), filepath.Join("..", file), nil, parser.ImportsOnly)
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
