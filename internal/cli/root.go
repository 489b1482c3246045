package cli

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/eventwire/eventwire/internal/definition"
)

// app is one run of the command line: the command tree and the exit
// status the command that ran chose.
type app struct {
	env  Env
	root *cobra.Command
	code int
}

const intro = `eventwire wires AWS Lambda functions to their event sources (SQS, Kinesis,
DynamoDB streams, Kafka, MQ, DocumentDB, API Gateway routes, load balancer
target groups) from declarative _lambdaeventsourcedef.json files.`

const footer = `Run 'eventwire help COMMAND' for a command's flags and examples.

AWS settings come from the SDK's standard chain: AWS_PROFILE, AWS_REGION,
AWS_ENDPOINT_URL, shared config and credentials files, ...

Exit status: 0 on success, 1 on any error (usage errors too), 2 only for
'plan --detailed-exitcode' when there are changes and 'drift
--detailed-exitcode' when there is drift, 130 when interrupted.`

func newApp(env Env) *app {
	a := &app{env: env}
	root := &cobra.Command{
		Use:           "eventwire",
		Short:         "Wire AWS Lambda functions to their event sources",
		Version:       readVersion().String(),
		SilenceErrors: true,
		SilenceUsage:  true,
		// Arguments that name no command come here, so that the message
		// and its suggestion are eventwire's.
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			a.code = a.unknownCommand("eventwire", args)
			return nil
		},
		ValidArgsFunction: cobra.NoFileCompletions,
	}
	root.SetIn(env.Stdin)
	root.SetOut(env.Stdout)
	root.SetErr(env.Stderr)
	root.Flags().Bool("version", false, "print eventwire's version")
	root.SetVersionTemplate("{{.Version}}\n")
	root.SetHelpFunc(func(cmd *cobra.Command, _ []string) { writeHelp(cmd.OutOrStdout(), cmd) })
	root.SetFlagErrorFunc(flagError)
	root.SetHelpCommand(a.helpCommand())
	root.AddCommand(a.validateCommand(), a.schemaCommand(), a.historyCommand(), a.driftCommand(), a.versionCommand(),
		a.deployCommand("plan"), a.deployCommand("apply"), a.deployCommand("destroy"), a.iamPolicyCommand())
	a.root = root
	return a
}

// usageError reports an error cobra found on the command line (a flag, an
// argument count) for cmd.
func (a *app) usageError(cmd *cobra.Command, err error) int {
	if cmd == nil || cmd == a.root {
		fmt.Fprintf(a.env.Stderr, "eventwire: %v\nRun 'eventwire --help' for usage.\n", err)
		return ExitError
	}
	return UsageError(a.env, strings.TrimPrefix(cmd.CommandPath(), "eventwire "), err.Error())
}

// unknownCommand handles the root's arguments: none prints the help on
// stderr; anything else is a command that does not exist.
func (a *app) unknownCommand(prefix string, args []string) int {
	if len(args) == 0 {
		writeHelp(a.env.Stderr, a.root)
		return ExitError
	}
	msg := fmt.Sprintf("%s: unknown command %q", prefix, args[0])
	var names []string
	for _, c := range a.root.Commands() {
		if c.IsAvailableCommand() || c.Name() == "help" {
			names = append(names, c.Name())
		}
	}
	if sug := closest(args[0], names); sug != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", sug)
	}
	fmt.Fprintf(a.env.Stderr, "%s\nRun 'eventwire --help' for the list of commands.\n", msg)
	return ExitError
}

// helpCommand is `eventwire help [COMMAND...]`.
func (a *app) helpCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "help [COMMAND]",
		Short: "Show help for a command",
		ValidArgsFunction: func(cmd *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
			var names []cobra.Completion
			for _, c := range a.root.Commands() {
				if c.IsAvailableCommand() {
					names = append(names, cobra.CompletionWithDesc(c.Name(), c.Short))
				}
			}
			return names, cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			target, rest, err := a.root.Find(args)
			if err != nil || target == a.root && len(rest) > 0 {
				a.code = a.unknownCommand("eventwire help", args)
				return nil
			}
			writeHelp(a.env.Stdout, target)
			return nil
		},
	}
}

// writeHelp writes a command's help: for the root the command list, for a
// command its summary, synopsis, description and flags.
func writeHelp(w io.Writer, cmd *cobra.Command) {
	if !cmd.HasParent() {
		writeRootHelp(w, cmd)
		return
	}
	synopsis := cmd.CommandPath()
	flags := visibleFlags(cmd)
	if flags != "" {
		synopsis += " [flags]"
	}
	if f := strings.Fields(cmd.Use); len(f) > 1 {
		synopsis += " " + strings.Join(f[1:], " ")
	}
	if cmd.HasAvailableSubCommands() {
		synopsis += " COMMAND"
	}
	fmt.Fprintf(w, "%s\n\nUsage:\n  %s\n", cmd.Short, synopsis)
	if long := strings.TrimSpace(cmd.Long); long != "" {
		fmt.Fprintf(w, "\n%s\n", long)
	}
	if cmd.HasAvailableSubCommands() {
		fmt.Fprintf(w, "\nCommands:\n%s", commandList(cmd))
	}
	if flags != "" {
		fmt.Fprintf(w, "\nFlags:\n%s", flags)
	}
}

func writeRootHelp(w io.Writer, root *cobra.Command) {
	fmt.Fprintf(w, "%s\n\nUsage:\n  eventwire COMMAND [flags] [arguments]\n\nCommands:\n%s\nFlags:\n%s\n%s\n",
		intro, commandList(root), visibleFlags(root), footer)
}

// commandList lists cmd's subcommands, one a line, help last.
func commandList(cmd *cobra.Command) string {
	var list []*cobra.Command
	width := 0
	for _, c := range cmd.Commands() {
		if c.IsAvailableCommand() && c.Name() != "help" {
			list = append(list, c)
			width = max(width, len(c.Name()))
		}
	}
	if !cmd.HasParent() {
		list = append(list, &cobra.Command{Use: "help", Short: "Show help for a command"})
	}
	var b strings.Builder
	for _, c := range list {
		fmt.Fprintf(&b, "  %-*s  %s\n", width, c.Name(), c.Short)
	}
	return b.String()
}

// visibleFlags is the flag table of cmd, without -h.
func visibleFlags(cmd *cobra.Command) string {
	fs := pflag.NewFlagSet(cmd.Name(), pflag.ContinueOnError)
	cmd.LocalFlags().VisitAll(func(f *pflag.Flag) {
		if f.Name != "help" && !f.Hidden {
			fs.AddFlag(f)
		}
	})
	return fs.FlagUsages()
}

// flagError turns a flag parsing error into one that suggests the flag
// meant, when a flag of the command is a likely typo of the one given.
func flagError(cmd *cobra.Command, err error) error {
	var ne *pflag.NotExistError
	if !errors.As(err, &ne) {
		return err
	}
	name := ne.GetSpecifiedName()
	msg := fmt.Sprintf("unknown flag --%s", name)
	if ne.GetSpecifiedShortnames() != "" {
		msg = fmt.Sprintf("unknown flag -%s", name)
	}
	if !cmd.HasParent() {
		return fmt.Errorf("%s: flags go after the command", msg)
	}
	var names []string
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if !f.Hidden {
			names = append(names, f.Name)
		}
	})
	if sug := closest(name, names); sug != "" && len(name) > 1 {
		msg += fmt.Sprintf(" (did you mean --%s?)", sug)
	}
	return errors.New(msg)
}

// closest is the candidate nearest to word by the definition package's edit
// distance, if it is close enough to be a typo (at most a third of the
// word, at least 1, at most 3 edits); "" if none is.
func closest(word string, candidates []string) string {
	best, bestD := "", max(1, min(3, len(word)/3))+1
	for _, c := range candidates {
		if d := definition.EditDistance(strings.ToLower(word), c); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

// normalizeArgs keeps single-dash long flags working (`-yes`,
// `-detailed-exitcode`, `-parallel=2`: the spelling of Go's flag package,
// which eventwire used before cobra) by rewriting them to their double-dash
// form, and `--o json` to `-o json`. A single-dash word that is neither a
// long flag nor starts with a shorthand of the command is taken as a long
// flag, so that its error names it and suggests the flag meant. Values of
// flags and everything after "--" are left alone.
func normalizeArgs(root *cobra.Command, args []string) []string {
	cmd, _, err := root.Find(args)
	if err != nil || cmd == nil {
		cmd = root
	}
	cmd.InitDefaultHelpFlag()
	fs := cmd.Flags()
	out := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		arg := args[i]
		if arg == "--" {
			return append(out, args[i:]...)
		}
		if len(arg) < 2 || arg[0] != '-' {
			out = append(out, arg)
			continue
		}
		name, hasValue := strings.TrimLeft(arg, "-"), strings.Contains(arg, "=")
		name, _, _ = strings.Cut(name, "=")
		arg, f := normalizeFlag(fs, arg, name)
		out = append(out, arg)
		if f != nil && !hasValue && f.NoOptDefVal == "" && i+1 < len(args) {
			i++
			out = append(out, args[i]) // the flag's value, whatever it looks like
		}
	}
	return out
}

// normalizeFlag rewrites one flag argument and returns the flag it sets,
// if known.
func normalizeFlag(fs *pflag.FlagSet, arg, name string) (string, *pflag.Flag) {
	dashes := len(arg) - len(strings.TrimLeft(arg, "-"))
	if f := fs.Lookup(name); f != nil && len(name) > 1 {
		return "--" + arg[dashes:], f
	}
	if dashes == 2 && len(name) == 1 {
		if f := fs.ShorthandLookup(name); f != nil {
			return "-" + arg[2:], f
		}
	}
	if dashes == 1 && len(name) >= 1 {
		// -o json, -ojson, -vo json: shorthands, the last one may take a value.
		if f := fs.ShorthandLookup(name[:1]); f != nil {
			if len(name) == 1 {
				return arg, f
			}
			return arg, nil
		}
		if len(name) > 1 {
			return "--" + arg[1:], nil
		}
	}
	return arg, nil
}

// noArgs refuses arguments, in eventwire's words.
func noArgs(_ *cobra.Command, args []string) error {
	if len(args) > 0 {
		return errors.New("takes no arguments")
	}
	return nil
}

// pathArgs wants at least one PATH.
func pathArgs(_ *cobra.Command, args []string) error {
	if len(args) == 0 {
		return errors.New("no PATH given: name definition files or folders to search")
	}
	return nil
}
