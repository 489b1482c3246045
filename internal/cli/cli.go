// Package cli is the eventwire command line: a table of commands, each in
// its own file, registered from that file's init function with Register.
//
// Exit status of every command: 0 on success (and for help), 1 on any
// error, usage errors included, and 2 only for `plan --detailed-exitcode`
// when there are changes (so 2 never means a mistake on the command line).
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/eventwire/eventwire/internal/definition"
)

// Exit statuses.
const (
	ExitOK      = 0
	ExitError   = 1
	ExitChanges = 2 // plan --detailed-exitcode: there are changes
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
}

// RunFunc runs a command with the arguments left after its flags.
type RunFunc func(ctx context.Context, args []string, env Env) int

// Command is one eventwire subcommand.
type Command struct {
	// Name is the word typed after eventwire.
	Name string
	// Summary is one line for the command list.
	Summary string
	// Args is the synopsis of the arguments, e.g. "PATH...".
	Args string
	// Help is shown by `eventwire help NAME` and `eventwire NAME -h`:
	// what the command does, then examples. Plain text, no trailing
	// newline needed.
	Help string
	// Setup defines the command's flags on fs and returns the function
	// that runs it. It is called once per run.
	Setup func(fs *flag.FlagSet) RunFunc
}

var commands = map[string]*Command{}

// Register adds a command to the table. Each command's file calls it from
// its init function. Registering a name twice panics (a programming error).
func Register(c *Command) {
	if _, dup := commands[c.Name]; dup {
		panic("cli: command registered twice: " + c.Name)
	}
	commands[c.Name] = c
}

func sortedCommands() []*Command {
	list := make([]*Command, 0, len(commands))
	for _, c := range commands {
		list = append(list, c)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Name < list[j].Name })
	return list
}

const intro = `eventwire wires AWS Lambda functions to their event sources (SQS, Kinesis,
DynamoDB streams, Kafka, MQ, DocumentDB, API Gateway routes, load balancer
target groups) from declarative _lambdaeventsourcedef.json files.`

const footer = `Run 'eventwire help COMMAND' for a command's flags and examples.

AWS settings come from the SDK's standard chain: AWS_PROFILE, AWS_REGION,
AWS_ENDPOINT_URL, shared config and credentials files, ...

Exit status: 0 on success, 1 on any error (usage errors too), 2 only for
'plan --detailed-exitcode' when there are changes.`

// usage writes the top-level help.
func usage(w io.Writer) {
	fmt.Fprintf(w, "%s\n\nUsage:\n  eventwire COMMAND [flags] [arguments]\n\nCommands:\n", intro)
	width := 0
	for _, c := range sortedCommands() {
		width = max(width, len(c.Name))
	}
	for _, c := range sortedCommands() {
		fmt.Fprintf(w, "  %-*s  %s\n", width, c.Name, c.Summary)
	}
	fmt.Fprintf(w, "  %-*s  %s\n\n%s\n", width, "help", "Show help for a command", footer)
}

// commandUsage writes a command's help, flags included.
func commandUsage(w io.Writer, c *Command, fs *flag.FlagSet) {
	synopsis := "eventwire " + c.Name
	nflags := 0
	fs.VisitAll(func(*flag.Flag) { nflags++ })
	if nflags > 0 {
		synopsis += " [flags]"
	}
	if c.Args != "" {
		synopsis += " " + c.Args
	}
	fmt.Fprintf(w, "%s\n\nUsage:\n  %s\n", c.Summary, synopsis)
	if help := strings.TrimSpace(c.Help); help != "" {
		fmt.Fprintf(w, "\n%s\n", help)
	}
	if nflags > 0 {
		fmt.Fprintf(w, "\nFlags:\n")
		fs.SetOutput(w)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
}

// Run runs eventwire with args (without the program name) and returns the
// exit status.
func Run(ctx context.Context, args []string, env Env) int {
	if len(args) == 0 {
		usage(env.Stderr)
		return ExitError
	}
	name := args[0]
	switch name {
	case "-h", "-help", "--help":
		usage(env.Stdout)
		return ExitOK
	case "help":
		return runHelp(args[1:], env)
	}
	c, ok := commands[name]
	if !ok {
		msg := fmt.Sprintf("eventwire: unknown command %q", name)
		if strings.HasPrefix(name, "-") {
			msg = fmt.Sprintf("eventwire: unknown flag %q: flags go after the command", name)
		} else if sug := closestCommand(name); sug != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", sug)
		}
		fmt.Fprintf(env.Stderr, "%s\nRun 'eventwire --help' for the list of commands.\n", msg)
		return ExitError
	}
	fs := newFlagSet(c)
	run := c.Setup(fs)
	rest, err := parseInterspersed(fs, args[1:])
	if errors.Is(err, flag.ErrHelp) {
		commandUsage(env.Stdout, c, fs)
		return ExitOK
	}
	if err != nil {
		return UsageError(env, c.Name, err.Error())
	}
	return run(ctx, rest, env)
}

// UsageError reports a mistake on the command line and returns ExitError.
func UsageError(env Env, command, msg string) int {
	fmt.Fprintf(env.Stderr, "eventwire %s: %s\nRun 'eventwire help %s' for usage.\n", command, msg, command)
	return ExitError
}

func newFlagSet(c *Command) *flag.FlagSet {
	fs := flag.NewFlagSet("eventwire "+c.Name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// parseInterspersed parses flags anywhere among the arguments
// (`eventwire plan examples/ -o json`); everything after "--" is an
// argument.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var rest []string
	for len(args) > 0 {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		remaining := fs.Args()
		// Parse stops at the first non-flag, or just after "--".
		if consumed := len(args) - len(remaining); consumed > 0 && args[consumed-1] == "--" {
			return append(rest, remaining...), nil
		}
		if len(remaining) == 0 {
			break
		}
		rest = append(rest, remaining[0])
		args = remaining[1:]
	}
	return rest, nil
}

func runHelp(args []string, env Env) int {
	if len(args) == 0 {
		usage(env.Stdout)
		return ExitOK
	}
	c, ok := commands[args[0]]
	if !ok {
		msg := fmt.Sprintf("eventwire help: unknown command %q", args[0])
		if sug := closestCommand(args[0]); sug != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", sug)
		}
		fmt.Fprintf(env.Stderr, "%s\nRun 'eventwire --help' for the list of commands.\n", msg)
		return ExitError
	}
	fs := newFlagSet(c)
	c.Setup(fs)
	commandUsage(env.Stdout, c, fs)
	return ExitOK
}

// closestCommand suggests a command for a typo (one or two edits).
func closestCommand(name string) string {
	best, bestD := "", 3
	for _, c := range sortedCommands() {
		if d := definition.EditDistance(name, c.Name); d < bestD {
			best, bestD = c.Name, d
		}
	}
	return best
}
