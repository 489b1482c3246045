package contract

import (
	"go/parser"
	"go/token"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestContract_ImportsOnlyStdlib keeps the contract light enough for the
// stack, the CLI and the bench to import without the deployer.
func TestContract_ImportsOnlyStdlib(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range files {
		if strings.HasSuffix(file, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), file, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			if path, _ := strconv.Unquote(imp.Path.Value); !stdlib(path) {
				t.Errorf("%s imports %s: the contract imports only the standard library", file, path)
			}
		}
	}
}

// forbiddenInStack are what the stack must not compile in: the reconciler
// and its executors, the deployer, the AWS adapters, the records store and
// any AWS SDK service client.
var forbiddenInStack = []string{
	"github.com/eventwire/eventwire/internal/reconcile",
	"github.com/eventwire/eventwire/internal/deployer",
	"github.com/eventwire/eventwire/internal/aws/",
	"github.com/eventwire/eventwire/internal/records",
	"github.com/aws/aws-sdk-go-v2/service/",
}

// TestStack_DependsOnContractNotDeployer: the CDK app shares names with
// the deployer through this package only, so it neither compiles the
// reconciler in nor changes when the deployer does.
func TestStack_DependsOnContractNotDeployer(t *testing.T) {
	for _, pkg := range []string{"../../infra", "../../cmd/eventwire-bench"} {
		deps := goListDeps(t, pkg)
		if pkg == "../../infra" {
			if bad := forbidden(deps); len(bad) > 0 {
				t.Errorf("go list -deps %s contains %s", pkg, strings.Join(bad, ", "))
			}
		}
		if !slices.Contains(deps, "github.com/eventwire/eventwire/internal/contract") {
			t.Errorf("%s does not import internal/contract", pkg)
		}
	}
}

// TestForbidden_FindsTheReconciler makes sure the check above can fail.
func TestForbidden_FindsTheReconciler(t *testing.T) {
	deps := goListDeps(t, "../reconcile")
	if bad := forbidden(deps); !slices.Contains(bad, "github.com/eventwire/eventwire/internal/reconcile") || len(bad) < 2 {
		t.Errorf("forbidden(deps of internal/reconcile) = %v, want the reconciler and SDK clients", bad)
	}
}

func goListDeps(t *testing.T, pkg string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", pkg).Output()
	if err != nil {
		t.Fatalf("go list -deps %s: %v", pkg, err)
	}
	return strings.Fields(string(out))
}

func forbidden(deps []string) []string {
	var bad []string
	for _, d := range deps {
		for _, f := range forbiddenInStack {
			if d == strings.TrimSuffix(f, "/") || strings.HasPrefix(d, strings.TrimSuffix(f, "/")+"/") {
				bad = append(bad, d)
				break
			}
		}
	}
	return bad
}

// stdlib reports whether path is a standard library package: its first
// element has no dot.
func stdlib(path string) bool {
	first, _, _ := strings.Cut(path, "/")
	return !strings.Contains(first, ".")
}
