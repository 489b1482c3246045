package plan

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// plainData are eventwire's packages that a planner may import: the file's
// types, the plan, the function reference, the ownership marks, the
// observed state of pull and push sources, the JSON Schema the file types
// embed, and lazily compiled regular expressions. None calls AWS.
var plainData = map[string]bool{
	"github.com/eventwire/eventwire/internal/contract":   true,
	"github.com/eventwire/eventwire/internal/definition": true,
	"github.com/eventwire/eventwire/internal/plan":       true,
	"github.com/eventwire/eventwire/internal/funcref":    true,
	"github.com/eventwire/eventwire/internal/wiring":     true,
	// Regular expressions compiled on first use (definition, funcref).
	"github.com/eventwire/eventwire/internal/lazyre": true,
	// The checked-in JSON Schema, which definition embeds.
	"github.com/eventwire/eventwire/schema": true,
}

// executors are the files of the planner packages that read and change
// AWS; every other non-test file there is part of a planner.
var executors = map[string]bool{
	"reconcile/pull/reconciler.go": true,
	"reconcile/push/push.go":       true,
	"reconcile/push/observe.go":    true,
	"reconcile/push/execute.go":    true,
}

// TestPlanners_ImportNoSDK keeps the planners pure: the files that compute
// a plan, and the plain-data packages they use, import only the standard
// library and one another, never an AWS SDK or one of eventwire's adapters
// (lambdasvc, apigwsvc, elbsvc, records, ...). A new planner file is
// checked without being listed here.
func TestPlanners_ImportNoSDK(t *testing.T) {
	var files []string
	for _, dir := range []string{"reconcile/pull", "reconcile/push"} {
		found, err := filepath.Glob(filepath.Join("..", dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range found {
			if rel := dir + "/" + filepath.Base(f); !executors[rel] {
				files = append(files, f)
			}
		}
	}
	for pkg := range plainData {
		dir := filepath.Join("..", "..", strings.TrimPrefix(pkg, "github.com/eventwire/eventwire/"))
		found, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil || len(found) == 0 {
			t.Fatalf("package %s: no files (%v)", pkg, err)
		}
		files = append(files, found...)
	}
	checked := 0
	for _, file := range files {
		if strings.HasSuffix(file, "_test.go") {
			continue
		}
		checked++
		f, err := parser.ParseFile(token.NewFileSet(), file, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if strings.Contains(path, ".") && !plainData[path] {
				t.Errorf("%s imports %s", filepath.ToSlash(file), path)
			}
		}
	}
	if checked < 10 {
		t.Errorf("checked only %d files: the planners moved?", checked)
	}
}
