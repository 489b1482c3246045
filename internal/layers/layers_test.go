package layers

import (
	"encoding/json"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const mod = "github.com/eventwire/eventwire/"

// rule forbids packages under From (a path prefix, relative to the module)
// to import, outside their tests, a package under any of To. With Exact,
// From is one package, not those under it, and its imports of packages
// under it count too.
type rule struct {
	From   string
	To     []string
	Why    string
	Except []string
	Exact  bool
}

var (
	sdk       = []string{"github.com/aws/aws-sdk-go-v2/", "github.com/aws/aws-lambda-go/"}
	adapters  = []string{"internal/aws/", "internal/records"}
	deployer  = []string{"internal/deployer"}
	above     = append([]string{"internal/reconcile", "internal/cli", "internal/tools/", "cmd/", "functions/", "infra"}, deployer...)
	testkits  = []string{"internal/testkit/"}
	plainData = []string{"internal/contract", "internal/definition", "internal/funcref", "internal/plan", "internal/wiring", "internal/lazyre", "schema"}
)

// rules are the layers. Planners are the files of internal/reconcile/pull
// and push that compute a plan; internal/plan's own test checks them file
// by file, as their packages also hold executors.
var rules = func() []rule {
	var rs []rule
	for _, p := range plainData {
		rs = append(rs, rule{From: p, To: slices.Concat(sdk, adapters, above, testkits), Why: "plain data: no AWS, no adapter, nothing above"})
	}
	rs = append(rs,
		rule{From: "internal/contract", To: []string{"github.com/", "golang.org/", mod}, Why: "the contract imports only the standard library"},
		rule{From: "internal/aws/", To: slices.Concat(above, testkits), Why: "an adapter knows AWS and plain data, not who calls it"},
		rule{From: "internal/records", To: slices.Concat(above, testkits), Why: "the records store knows DynamoDB and plain data, not who calls it"},
		rule{From: "internal/reconcile", To: slices.Concat([]string{"internal/cli", "internal/tools/", "internal/records"}, deployer, testkits), Why: "the reconciler serves the CLI and the deployer"},
		rule{From: "internal/deployer", To: slices.Concat([]string{"internal/cli", "internal/tools/"}, testkits), Why: "the deployer does not depend on the CLI"},
		rule{From: "internal/deployer", Exact: true, To: []string{"internal/deployer/"}, Why: "the deployer's core knows its parts only as they register"},
		rule{From: "internal/cli", To: slices.Concat([]string{"internal/tools/"}, deployer, testkits), Why: "the CLI does not compile the deployer in"},
		rule{From: "functions/", To: slices.Concat([]string{"internal/cli", "internal/tools/"}, testkits), Why: "the deployer's main"},
		rule{From: "cmd/eventwire", To: slices.Concat([]string{"internal/tools/"}, deployer, testkits), Why: "the CLI's main"},
		rule{From: "", To: testkits, Why: "test kits are for tests, the bench and the demo",
			Except: []string{"internal/testkit/", "internal/tools/", "cmd/eventwire-bench", "cmd/eventwire-demo"}},
	)
	for _, p := range deployerParts {
		var others []string
		for _, q := range append(deployerParts, "compose") {
			if q != p {
				others = append(others, "internal/deployer/"+q)
			}
		}
		rs = append(rs, rule{From: "internal/deployer/" + p, To: others, Why: "a part of the deployer knows the core, not the other parts"})
	}
	return rs
}()

// deployerParts are the deployer's parts under internal/deployer: its
// sources and the sweep (internal/deployer/compose wires them).
var deployerParts = []string{"bucket", "branch", "pipeline", "sweep"}

// violations lists "pkg imports dep (why)" for every import that breaks a
// rule; imports maps a package's path to its non-test imports.
func violations(imports map[string][]string) []string {
	var out []string
	for pkg, deps := range imports {
		rel := strings.TrimPrefix(pkg, mod)
		for _, r := range rules {
			if r.Exact && rel != r.From || !r.Exact && !under(rel, r.From) || slices.ContainsFunc(r.Except, func(e string) bool { return under(rel, e) }) {
				continue
			}
			for _, dep := range deps {
				d := dep
				if strings.HasPrefix(dep, mod) {
					d = strings.TrimPrefix(dep, mod)
				}
				for _, to := range r.To {
					if under(d, to) && (r.From == "" || r.Exact || !under(d, r.From)) {
						out = append(out, pkg+" imports "+dep+" ("+r.Why+")")
					}
				}
			}
		}
	}
	return out
}

// under reports whether path is prefix, or inside it (prefix "a/" takes
// "a/b"; prefix "a" takes "a" and "a/b", not "ab").
func under(path, prefix string) bool {
	if prefix == "" {
		return true
	}
	if strings.HasSuffix(prefix, "/") {
		return strings.HasPrefix(path, prefix)
	}
	return path == prefix || strings.HasPrefix(path, prefix+"/")
}

// TestLayers_ImportsFlowOneWay checks every package of the module.
func TestLayers_ImportsFlowOneWay(t *testing.T) {
	cmd := exec.Command("go", "list", "-json=ImportPath,Imports", "./...")
	cmd.Dir = "../.."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	imports := map[string][]string{}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p struct {
			ImportPath string
			Imports    []string
		}
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		imports[p.ImportPath] = p.Imports
	}
	if len(imports) < 20 {
		t.Fatalf("go list found %d packages", len(imports))
	}
	for _, v := range violations(imports) {
		t.Error(v)
	}
}

// TestViolations_FindWrongWayImports makes sure the rules catch what they
// forbid, and leave alone what they allow.
func TestViolations_FindWrongWayImports(t *testing.T) {
	got := violations(map[string][]string{
		mod + "internal/reconcile/pull":   {"context", mod + "internal/wiring", mod + "internal/aws/retry"},
		mod + "internal/aws/lambdasvc":    {mod + "internal/reconcile", mod + "internal/wiring"},
		mod + "internal/cli":              {mod + "internal/testkit/mototest", mod + "internal/reconcile"},
		mod + "internal/definition":       {"github.com/aws/aws-sdk-go-v2/service/lambda"},
		mod + "internal/contract":         {"github.com/google/go-cmp/cmp"},
		mod + "internal/tools/bench":      {mod + "internal/testkit/mototest"},
		mod + "internal/testkit/mototest": {mod + "internal/aws/quota"},
		mod + "internal/iamcalls":         {mod + "internal/testkit/golden"},
		mod + "internal/deployer":         {mod + "internal/records", mod + "internal/deployer/bucket"},
		mod + "internal/deployer/sweep":   {mod + "internal/deployer", mod + "internal/deployer/branch"},
		mod + "internal/deployer/compose": {mod + "internal/deployer/sweep"},
	})
	slices.Sort(got)
	want := []string{
		mod + "internal/aws/lambdasvc imports " + mod + "internal/reconcile (an adapter knows AWS and plain data, not who calls it)",
		mod + "internal/cli imports " + mod + "internal/testkit/mototest (test kits are for tests, the bench and the demo)",
		mod + "internal/cli imports " + mod + "internal/testkit/mototest (the CLI does not compile the deployer in)",
		mod + "internal/contract imports github.com/google/go-cmp/cmp (the contract imports only the standard library)",
		mod + "internal/definition imports github.com/aws/aws-sdk-go-v2/service/lambda (plain data: no AWS, no adapter, nothing above)",
		mod + "internal/deployer imports " + mod + "internal/deployer/bucket (the deployer's core knows its parts only as they register)",
		mod + "internal/deployer/sweep imports " + mod + "internal/deployer/branch (a part of the deployer knows the core, not the other parts)",
		mod + "internal/iamcalls imports " + mod + "internal/testkit/golden (test kits are for tests, the bench and the demo)",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("violations (-want +got):\n%s", diff)
	}
}
