package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/google/go-cmp/cmp"

	"github.com/eventwire/eventwire/internal/contract"
	"github.com/eventwire/eventwire/internal/definition"
	"github.com/eventwire/eventwire/internal/testkit/golden"
)

// runCLI runs eventwire in-process; commands that need AWS get an error.
func runCLI(args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	env := Env{
		Stdin:  strings.NewReader(""),
		Stdout: &out,
		Stderr: &errOut,
		AWSConfig: func(context.Context) (aws.Config, error) {
			return aws.Config{}, os.ErrPermission
		},
	}
	code = Run(context.Background(), args, env)
	return code, out.String(), errOut.String()
}

// TestRun_Golden checks the output and exit status of the help, validate
// and usage-error paths against testdata/cli/NAME.golden (-update
// rewrites them).
func TestRun_Golden(t *testing.T) {
	tests := []struct {
		name string
		args []string
		code int
		dir  string // run there (default: the package's folder)
	}{
		{"help", []string{"--help"}, ExitOK, ""},
		{"help-word", []string{"help"}, ExitOK, ""},
		{"no-args", nil, ExitError, ""},
		{"help-validate", []string{"help", "validate"}, ExitOK, ""},
		{"validate-dash-h", []string{"validate", "-h"}, ExitOK, ""},
		{"help-schema", []string{"help", "schema"}, ExitOK, ""},
		{"help-unknown", []string{"help", "nope"}, ExitError, ""},
		{"unknown-command", []string{"valdate", "examples"}, ExitError, ""},
		{"flag-before-command", []string{"-v", "validate"}, ExitError, ""},
		{"validate-no-paths", []string{"validate"}, ExitOK, "testdata/validate/good"},
		{"validate-unknown-flag", []string{"validate", "--bogus", "testdata/validate/good"}, ExitError, ""},
		{"validate-good", []string{"validate", "testdata/validate/good"}, ExitOK, ""},
		{"validate-one-file", []string{"validate", "testdata/validate/good/orders/_lambdaeventsourcedef.json"}, ExitOK, ""},
		{"validate-bad", []string{"validate", "testdata/validate/bad", "testdata/validate/good"}, ExitError, ""},
		{"validate-missing-path", []string{"validate", "testdata/validate/nowhere"}, ExitError, ""},
		{"validate-no-definitions", []string{"validate", "testdata/validate/empty"}, ExitError, ""},
		{"schema-extra-arg", []string{"schema", "x"}, ExitError, ""},
		{"plan-flag-typo", []string{"plan", "-detailed-exitcod", "x"}, ExitError, ""},
		{"plan-flag-typo-double-dash", []string{"plan", "--paralel", "2", "x"}, ExitError, ""},
		{"plan-bad-output", []string{"plan", "-o", "yaml", "x"}, ExitError, ""},
		{"plan-parallel-zero", []string{"plan", "--parallel", "0", "x"}, ExitError, ""},
		{"plan-no-paths", []string{"plan"}, ExitError, ""},
		{"help-plan", []string{"help", "plan"}, ExitOK, ""},
		{"help-typo", []string{"help", "aply"}, ExitError, ""},
		{"completion-help", []string{"completion", "--help"}, ExitOK, ""},
		{"validate-json-bad", []string{"validate", "-o", "json", "testdata/validate/bad"}, ExitError, ""},
		{"iam-policy-plan", []string{"iam-policy", "--mode", "plan", "--function-prefix", "shop-", "--account", "123456789012", "--region", "eu-west-1", "--table", "Eventwire-Deployments1A2B3C"}, ExitOK, ""},
		{"iam-policy-apply", []string{"iam-policy", "--function-prefix", "shop-"}, ExitOK, ""},
		{"iam-policy-bad-mode", []string{"iam-policy", "--mode", "aply"}, ExitError, ""},
		{"iam-policy-bad-account", []string{"iam-policy", "--account", "12345"}, ExitError, ""},
		{"help-iam-policy", []string{"help", "iam-policy"}, ExitOK, ""},
		{"help-drift", []string{"help", "drift"}, ExitOK, ""},
		{"drift-extra-arg", []string{"drift", "orders"}, ExitError, ""},
		{"drift-bad-output", []string{"drift", "--table", "t", "-o", "yaml"}, ExitError, ""},
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.dir != "" {
				t.Chdir(tt.dir)
			}
			code, stdout, stderr := runCLI(tt.args...)
			if code != tt.code {
				t.Errorf("exit status %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.code, stdout, stderr)
			}
			got := "$ eventwire " + strings.Join(tt.args, " ") + "\n--- stdout\n" + stdout + "--- stderr\n" + stderr
			golden.Check(t, filepath.Join(wd, "testdata", "cli", tt.name+".golden"), got)
		})
	}
}

// TestValidate_Examples: the examples shipped with the repository
// validate, as docs/cli.md's first command shows.
func TestValidate_Examples(t *testing.T) {
	code, stdout, stderr := runCLI("validate", filepath.Join("..", "..", "examples"))
	if code != ExitOK || !strings.HasSuffix(stdout, "all valid\n") {
		t.Errorf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
}

func TestSchemaCommand_PrintsEmbeddedSchema(t *testing.T) {
	code, stdout, stderr := runCLI("schema")
	if code != ExitOK || stderr != "" {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	if diff := cmp.Diff(string(definition.Schema), stdout); diff != "" {
		t.Errorf("schema output (-want +got):\n%s", diff)
	}
}

// TestNormalizeArgs: single-dash long flags (Go's flag package spelling,
// which eventwire used before cobra) become double-dash ones; shorthands,
// flag values and everything after "--" are left alone.
func TestNormalizeArgs(t *testing.T) {
	tests := []struct {
		args, want []string
	}{
		{[]string{"plan", "-detailed-exitcode", "x"}, []string{"plan", "--detailed-exitcode", "x"}},
		{[]string{"plan", "-parallel=2", "-o", "json", "x"}, []string{"plan", "--parallel=2", "-o", "json", "x"}},
		{[]string{"plan", "-parallel", "2", "--o", "json", "x"}, []string{"plan", "--parallel", "2", "-o", "json", "x"}},
		{[]string{"apply", "-yes", "-v", "x"}, []string{"apply", "--yes", "-v", "x"}},
		{[]string{"plan", "-detailed-exitcod", "x"}, []string{"plan", "--detailed-exitcod", "x"}},
		{[]string{"plan", "-ojson", "x"}, []string{"plan", "-ojson", "x"}},
		{[]string{"history", "-n", "-1", "-table", "t", "f"}, []string{"history", "-n", "-1", "--table", "t", "f"}},
		{[]string{"validate", "--", "-yes"}, []string{"validate", "--", "-yes"}},
		{[]string{"validate", "-help"}, []string{"validate", "--help"}},
		{[]string{"validate", "-"}, []string{"validate", "-"}},
		{nil, []string{}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			got := normalizeArgs(newApp(Env{}).root, tt.args)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("args (-want +got):\n%s", diff)
			}
		})
	}
}

// TestValidate_FIFOAndSymlinkedFolder: validate reports a named pipe named
// like a definition file instead of waiting on it forever, and searches a
// folder given as a symbolic link.
func TestValidate_FIFOAndSymlinkedFolder(t *testing.T) {
	dir := t.TempDir()
	good, err := os.ReadFile(filepath.Join("testdata", "validate", "good", "orders", contract.DefinitionFileName))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "real", "orders"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "real", "orders", contract.DefinitionFileName), good, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(dir, "real"), filepath.Join(dir, "linked")); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr strings.Builder
	env := Env{Stdin: strings.NewReader(""), Stdout: &stdout, Stderr: &stderr}
	if code := Run(context.Background(), []string{"validate", filepath.Join(dir, "linked")}, env); code != ExitOK {
		t.Errorf("validate of a linked folder: exit %d\n%s%s", code, stdout.String(), stderr.String())
	}

	fifo := filepath.Join(dir, "real", "pipe", contract.DefinitionFileName)
	if err := os.MkdirAll(filepath.Dir(fifo), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	stdout.Reset()
	stderr.Reset()
	code := Run(context.Background(), []string{"validate", filepath.Join(dir, "linked")}, env)
	want := filepath.Join(dir, "linked", "pipe", contract.DefinitionFileName) + ": not a regular file but a named pipe (FIFO): not read"
	if code != ExitError || !strings.Contains(stdout.String()+stderr.String(), want) {
		t.Errorf("validate with a FIFO: exit %d\n%s%s\nwant 1 and %q", code, stdout.String(), stderr.String(), want)
	}
}
