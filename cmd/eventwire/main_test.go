package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/creack/pty"

	"github.com/eventwire/eventwire/internal/testkit/awsfixture"
	"github.com/eventwire/eventwire/internal/testkit/mototest"
)

// bin is the eventwire binary the tests run, built once by TestMain.
var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "eventwire-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin = filepath.Join(dir, "eventwire")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build eventwire: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := mototest.Run(m)
	os.RemoveAll(dir)
	os.Exit(code)
}

// result is what one run of the binary did.
type result struct {
	code           int
	stdout, stderr string
}

// run runs the binary with env added to a clean environment (no AWS
// settings of the machine leak in) and stdin as its standard input (nil:
// the null device).
func run(t *testing.T, stdin *os.File, env []string, args ...string) result {
	t.Helper()
	return runIn(t, "", stdin, env, args...)
}

// runIn is run in the folder dir ("": this one).
func runIn(t *testing.T, dir string, stdin *os.File, env []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}, env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if stdin != nil {
		cmd.Stdin = stdin
	}
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("run eventwire %v: %v", args, err)
	}
	return result{code: cmd.ProcessState.ExitCode(), stdout: stdout.String(), stderr: stderr.String()}
}

// account is an emulated account with a function "orders" and a queue,
// and a folder with a definition file that wires them.
type account struct {
	env   []string
	dir   string
	srv   *mototest.Server
	queue string
}

func newAccount(t *testing.T) *account {
	t.Helper()
	srv := mototest.Fresh(t)
	fx := awsfixture.New(srv.Config(t))
	ctx := context.Background()
	if _, err := fx.Function(ctx, "orders"); err != nil {
		t.Fatal(err)
	}
	queue, err := fx.Queue(ctx, "orders")
	if err != nil {
		t.Fatal(err)
	}
	a := &account{env: srv.Env(), dir: t.TempDir(), srv: srv, queue: queue}
	a.write(t, fmt.Sprintf(`{"FunctionName": "orders", "PullEventSources": {"EventSourceMapping": {"EventSourceArn": %q, "BatchSize": 5}}}`, queue))
	return a
}

func (a *account) write(t *testing.T, doc string) {
	t.Helper()
	path := filepath.Join(a.dir, "orders", "_lambdaeventsourcedef.json")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
}

func (a *account) mappings(t *testing.T) int {
	t.Helper()
	return countMappings(t, a.srv, "orders")
}

// countMappings counts the event source mappings of function.
func countMappings(t *testing.T, srv *mototest.Server, function string) int {
	t.Helper()
	lam := lambda.NewFromConfig(srv.Config(t))
	out, err := lam.ListEventSourceMappings(context.Background(), &lambda.ListEventSourceMappingsInput{})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, m := range out.EventSourceMappings {
		if strings.HasSuffix(*m.FunctionArn, ":function:"+function) {
			n++
		}
	}
	return n
}

// TestExitCodes: the binary's exit status for each outcome, single-dash
// long flags included (scripts written for the flag package use them).
func TestExitCodes(t *testing.T) {
	a := newAccount(t)
	tests := []struct {
		name string
		args []string
		want int
	}{
		{"plan with changes, detailed", []string{"plan", "--detailed-exitcode", a.dir}, 2},
		{"plan with changes, single dash", []string{"plan", "-detailed-exitcode", "-parallel=2", a.dir}, 2},
		{"plan with changes, not detailed", []string{"plan", a.dir}, 0},
		{"flag typo", []string{"plan", "-detailed-exitcod", a.dir}, 1},
		{"unknown command", []string{"plna", a.dir}, 1},
		{"parallel below 1", []string{"apply", "--yes", "--parallel", "0", a.dir}, 1},
		{"help", []string{"plan", "-help"}, 0},
		{"version", []string{"--version"}, 0},
		{"validate", []string{"validate", a.dir}, 0},
		{"apply", []string{"apply", "-yes", a.dir}, 0},
		{"plan without changes, detailed", []string{"plan", "-detailed-exitcode", a.dir}, 0},
		{"destroy", []string{"destroy", "--yes", a.dir}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, nil, a.env, tt.args...)
			if r.code != tt.want {
				t.Errorf("eventwire %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(tt.args, " "), r.code, tt.want, r.stdout, r.stderr)
			}
		})
	}
}

// TestFlagTypo_SuggestsTheFlag: a misspelt flag, as a single-dash word,
// gets a did-you-mean.
func TestFlagTypo_SuggestsTheFlag(t *testing.T) {
	r := run(t, nil, nil, "plan", "-detailed-exitcod", ".")
	if want := "did you mean --detailed-exitcode?"; r.code != 1 || !strings.Contains(r.stderr, want) {
		t.Errorf("exit %d, stderr %q; want 1 and %q", r.code, r.stderr, want)
	}
}

// TestApply_WithoutTerminal_Refuses: apply without --yes refuses when its
// standard input is the null device (a character device, not a terminal)
// or a pipe, and changes nothing.
func TestApply_WithoutTerminal_Refuses(t *testing.T) {
	a := newAccount(t)
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer devnull.Close()
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	fmt.Fprintln(pw, "yes")
	pw.Close()
	for name, stdin := range map[string]*os.File{"null device": devnull, "pipe": pr} {
		t.Run(name, func(t *testing.T) {
			r := run(t, stdin, a.env, "apply", a.dir)
			if want := "not a terminal; pass --yes"; r.code != 1 || !strings.Contains(r.stderr, want) {
				t.Errorf("exit %d, stderr %q; want 1 and %q", r.code, r.stderr, want)
			}
			if strings.Contains(r.stdout, "Only 'yes'") {
				t.Errorf("asked a question nobody can answer:\n%s", r.stdout)
			}
		})
	}
	if n := a.mappings(t); n != 0 {
		t.Errorf("%d mappings created by a refused apply", n)
	}
}

// TestApply_OnTerminal_Asks: on a terminal apply asks, and an answer other
// than "yes" changes nothing.
func TestApply_OnTerminal_Asks(t *testing.T) {
	a := newAccount(t)
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer ptmx.Close()
	defer tty.Close()
	if _, err := ptmx.Write([]byte("no\n")); err != nil {
		t.Fatal(err)
	}
	r := run(t, tty, a.env, "apply", a.dir)
	if r.code != 1 || !strings.Contains(r.stdout, "Only 'yes' will be accepted") || !strings.Contains(r.stdout, "Cancelled") {
		t.Errorf("exit %d\nstdout:\n%s\nstderr:\n%s\nwant 1, the question and Cancelled", r.code, r.stdout, r.stderr)
	}
	if n := a.mappings(t); n != 0 {
		t.Errorf("%d mappings created by a cancelled apply", n)
	}
}

// TestVersion_FromLdflags: -ldflags -X sets the version and commit that
// `--version` and `version` print.
func TestVersion_FromLdflags(t *testing.T) {
	stamped := filepath.Join(t.TempDir(), "eventwire")
	ldflags := "-X github.com/eventwire/eventwire/internal/cli.Version=v1.2.3 -X github.com/eventwire/eventwire/internal/cli.Commit=5c4ef1049f1d27deadbeef"
	if out, err := exec.Command("go", "build", "-ldflags", ldflags, "-o", stamped, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	for _, args := range [][]string{{"--version"}, {"version"}, {"-version"}} {
		out, err := exec.Command(stamped, args...).Output()
		if err != nil {
			t.Fatalf("eventwire %v: %v", args, err)
		}
		if want := "eventwire v1.2.3 (commit 5c4ef1049f1d, go"; !strings.HasPrefix(string(out), want) {
			t.Errorf("eventwire %v = %q, want it to start with %q", args, out, want)
		}
	}
}

// TestCompletion: each shell gets a script, and completion offers the
// values of -o and files for PATH.
func TestCompletion(t *testing.T) {
	for _, shell := range []string{"bash", "zsh", "fish", "powershell"} {
		r := run(t, nil, nil, "completion", shell)
		if r.code != 0 || !strings.Contains(r.stdout, "eventwire") {
			t.Errorf("completion %s: exit %d, %d bytes, stderr %q", shell, r.code, len(r.stdout), r.stderr)
		}
	}
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"__complete", "plan", "-o", ""}, "text\njson\n:4\n"},
		{[]string{"__complete", "validate", "--output", ""}, "text\njson\n:4\n"},
		{[]string{"__complete", "plan", ""}, ":0\n"}, // directive default: file names
		{[]string{"__complete", "schema", ""}, ":4\n"},
	}
	for _, tt := range tests {
		r := run(t, nil, nil, tt.args...)
		if r.stdout != tt.want {
			t.Errorf("eventwire %v = %q, want %q", tt.args, r.stdout, tt.want)
		}
	}
}

// TestPlan_EndpointThatDoesNotAnswer: against a loopback listener that
// accepts and never answers, plan fails after the (shortened) timeout and
// says which endpoint, region and profile.
func TestPlan_EndpointThatDoesNotAnswer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		// held keeps every accepted connection referenced, so open (a
		// net.Conn no longer referenced is closed by its finalizer), until
		// the listener closes at the end of the test.
		var held []net.Conn
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	config := filepath.Join(t.TempDir(), "config")
	os.WriteFile(config, []byte("[profile staging]\nregion = ap-south-1\n"), 0o600)
	env := []string{"AWS_CONFIG_FILE=" + config, "AWS_SHARED_CREDENTIALS_FILE=" + os.DevNull, "AWS_PROFILE=staging",
		"AWS_ACCESS_KEY_ID=testing", "AWS_SECRET_ACCESS_KEY=testing", "AWS_ENDPOINT_URL=http://" + ln.Addr().String(),
		"EVENTWIRE_AWS_TIMEOUT=600ms"}
	r := run(t, nil, env, "plan", filepath.Join("..", "..", "examples", "orders"))
	if r.code != 1 {
		t.Errorf("exit %d, want 1", r.code)
	}
	for _, want := range []string{"no answer from http://" + ln.Addr().String(), `region "ap-south-1"`, `profile "staging"`} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr does not say %s:\n%s", want, r.stderr)
		}
	}
}

// TestApply_JSONOnTerminal_RefusesWithoutYes: apply -o json without --yes
// refuses even on a terminal, asks nothing, and changes nothing.
func TestApply_JSONOnTerminal_RefusesWithoutYes(t *testing.T) {
	a := newAccount(t)
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer ptmx.Close()
	defer tty.Close()
	for _, cmd := range []string{"apply", "destroy"} {
		r := run(t, tty, a.env, cmd, "-o", "json", a.dir)
		if r.code != 1 || !strings.Contains(r.stderr, "-o json needs --yes") || r.stdout != "" {
			t.Errorf("%s: exit %d\nstdout:\n%s\nstderr:\n%s\nwant 1, the refusal and nothing on stdout", cmd, r.code, r.stdout, r.stderr)
		}
	}
	if n := a.mappings(t); n != 0 {
		t.Errorf("%d mappings created by a refused apply", n)
	}
}
