// Package cli is the eventwire command line, built on spf13/cobra: a root
// command (root.go) and one file per subcommand, each with a constructor
// that returns its *cobra.Command.
//
// Exit status of every command: 0 on success (and for help), 1 on any
// error, usage errors included, 2 only for `plan --detailed-exitcode` when
// there are changes (so 2 never means a mistake on the command line), and
// 130 when an interrupt (Ctrl-C) stopped the run.
//
// An entry point: it may import the reconciler, the adapters, the records
// and plain data, never the deployer, a tool or a test kit
// (internal/layers checks).
package cli

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// Exit statuses.
const (
	ExitOK          = 0
	ExitError       = 1
	ExitChanges     = 2   // plan --detailed-exitcode: there are changes
	ExitInterrupted = 130 // stopped by an interrupt (128 + SIGINT)
)

// Env is what commands use of the outside world, so that tests can run
// them in-process.
type Env struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// IsTerminal tells whether Stdin is a terminal a person can answer on.
	IsTerminal bool
	// AWSConfig loads the AWS configuration (the SDK's default chain in
	// the real binary); only commands that call AWS use it.
	AWSConfig func(ctx context.Context) (aws.Config, error)
	// StderrTerminal tells whether Stderr is a terminal, Width its width
	// (0: unknown): the progress of a run is then shown as live lines.
	StderrTerminal bool
	Width          int
	// ProgressInterval is how often, without a terminal, a function still
	// in flight is reported (0: DefaultProgressInterval).
	ProgressInterval time.Duration
	// Abort is closed on a second interrupt: calls in flight, which the
	// first interrupt (Run's context) lets finish, are cancelled. Nil:
	// never.
	Abort <-chan struct{}
	// Getenv reads the environment (EVENTWIRE_RATE_*); os.Getenv if nil.
	Getenv func(string) string
}

// Run runs eventwire with args (without the program name) and returns the
// exit status.
func Run(ctx context.Context, args []string, env Env) int {
	a := newApp(env)
	a.root.SetArgs(normalizeArgs(a.root, args))
	cmd, err := a.root.ExecuteContextC(ctx)
	if err != nil {
		return a.usageError(cmd, err)
	}
	return a.code
}

// UsageError reports a mistake on the command line and returns ExitError.
func UsageError(env Env, command, msg string) int {
	fmt.Fprintf(env.Stderr, "eventwire %s: %s\nRun 'eventwire help %s' for usage.\n", command, msg, command)
	return ExitError
}
