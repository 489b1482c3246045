package cli

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/google/go-cmp/cmp"

	"github.com/eventwire/eventwire/internal/definition"
	"github.com/eventwire/eventwire/internal/golden"
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
	}{
		{"help", []string{"--help"}, ExitOK},
		{"help-word", []string{"help"}, ExitOK},
		{"no-args", nil, ExitError},
		{"help-validate", []string{"help", "validate"}, ExitOK},
		{"validate-dash-h", []string{"validate", "-h"}, ExitOK},
		{"help-schema", []string{"help", "schema"}, ExitOK},
		{"help-unknown", []string{"help", "nope"}, ExitError},
		{"unknown-command", []string{"valdate", "examples"}, ExitError},
		{"flag-before-command", []string{"-v", "validate"}, ExitError},
		{"validate-no-paths", []string{"validate"}, ExitError},
		{"validate-unknown-flag", []string{"validate", "--bogus", "testdata/validate/good"}, ExitError},
		{"validate-good", []string{"validate", "testdata/validate/good"}, ExitOK},
		{"validate-one-file", []string{"validate", "testdata/validate/good/orders/_lambdaeventsourcedef.json"}, ExitOK},
		{"validate-bad", []string{"validate", "testdata/validate/bad", "testdata/validate/good"}, ExitError},
		{"validate-missing-path", []string{"validate", "testdata/validate/nowhere"}, ExitError},
		{"validate-no-definitions", []string{"validate", "testdata/validate/empty"}, ExitError},
		{"schema-extra-arg", []string{"schema", "x"}, ExitError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(tt.args...)
			if code != tt.code {
				t.Errorf("exit status %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.code, stdout, stderr)
			}
			got := "$ eventwire " + strings.Join(tt.args, " ") + "\n--- stdout\n" + stdout + "--- stderr\n" + stderr
			golden.Check(t, filepath.Join("testdata", "cli", tt.name+".golden"), got)
		})
	}
}

// TestValidate_Examples: the examples shipped with the repository
// validate, as README says.
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

// TestValidate_FlagsAfterPaths checks that flags may follow arguments and
// that "--" ends flags.
func TestParseInterspersed(t *testing.T) {
	tests := []struct {
		args     []string
		wantRest []string
		wantV    bool
	}{
		{[]string{"a", "-v", "b"}, []string{"a", "b"}, true},
		{[]string{"-v", "a"}, []string{"a"}, true},
		{[]string{"a", "--", "-v"}, []string{"a", "-v"}, false},
		{nil, nil, false},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			fs := flag.NewFlagSet("t", flag.ContinueOnError)
			v := fs.Bool("v", false, "")
			rest, err := parseInterspersed(fs, tt.args)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.wantRest, rest); diff != "" {
				t.Errorf("args (-want +got):\n%s", diff)
			}
			if *v != tt.wantV {
				t.Errorf("-v = %v, want %v", *v, tt.wantV)
			}
		})
	}
}

func TestRegister_Twice_Panics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("registering validate twice did not panic")
		}
	}()
	Register(&Command{Name: "validate"})
}
