package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/eventwire/eventwire/internal/contract"
	"github.com/eventwire/eventwire/internal/definition"
)

const validateHelp = `Validates every ` + contract.DefinitionFileName + ` file given, or found
under the folders given (recursively, skipping .git and node_modules;
the current folder when no PATH is given), and the ` + contract.FunctionDefFileName + `
beside each one. A file given by name is checked whatever its name.
Nothing is sent to AWS.

The checks are strict: unknown or misspelt keys (with a suggestion), keys
in the wrong case, duplicate keys, wrong types, trailing data, files over
1 MiB, the ranges, patterns and per-source rules of Lambda's
CreateEventSourceMapping API, which function the file wires, two files
wiring the same function, and a target group or API route given to two
functions.

What files may point at (the accounts and regions of every ARN, S3
buckets as destinations, self-managed Kafka hosts) is checked only when
allowlists are given, by flag or in the config file (` + ConfigFileName + `,
or --config): validate makes no AWS call, so it cannot know your account
and region. Then an account or region list not given is not checked, and
buckets and Kafka hosts not given are refused, as in plan and apply.

Every problem is printed on standard output, one a line, as
FILE:LINE:COLUMN: JSON.PATH: message (columns count bytes; a problem of
the file as a whole, such as its size, has no LINE:COLUMN), then a
summary line. With -o json the same is one JSON document (see
docs/cli.md in the repository), for CI annotations. The exit status is 1
if any file has a problem, 0 if all are valid.

Examples:
  eventwire validate
  eventwire validate examples/
  eventwire validate -o json orders/_lambdaeventsourcedef.json inventory/`

func (a *app) validateCommand() *cobra.Command {
	var output string
	allow := &allowFlags{}
	cmd := &cobra.Command{
		Use:               "validate [PATH...]",
		Short:             "Check definition files without calling AWS",
		Long:              validateHelp,
		ValidArgsFunction: completePaths,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			a.code = runValidate(cmd.Context(), allow, args, output, a.env)
			return nil
		},
	}
	outputFlag(cmd, &output)
	allow.register(cmd)
	return cmd
}

func runValidate(_ context.Context, allow *allowFlags, args []string, output string, env Env) int {
	if len(args) == 0 {
		args = []string{"."}
	}
	policy, err := allow.validatePolicy()
	if err != nil {
		fmt.Fprintf(env.Stderr, "eventwire validate: %v\n", err)
		return ExitError
	}
	c, err := checkFiles(args, policy)
	if err != nil {
		fmt.Fprintf(env.Stderr, "eventwire validate: %v\n", err)
		return ExitError
	}
	if output == "json" {
		if err := writeDocument(env.Stdout, newValidateDocument(c)); err != nil {
			fmt.Fprintf(env.Stderr, "eventwire validate: %v\n", err)
			return ExitError
		}
	} else {
		c.print(env.Stdout)
		fmt.Fprintln(env.Stdout, c.summary())
	}
	if len(c.problems) > 0 {
		return ExitError
	}
	return ExitOK
}

// checked is what checkFiles found.
type checked struct {
	files    []*definition.File  // the valid ones
	names    int                 // files checked
	problems []*definition.Error // every problem, in file order
	bad      int                 // files with a problem
}

func (c checked) summary() string {
	s := fmt.Sprintf("%s checked, ", count(c.names, "file"))
	if len(c.problems) == 0 {
		return s + "all valid"
	}
	return fmt.Sprintf("%s%s in %s", s, count(len(c.problems), "error"), count(c.bad, "file"))
}

// print writes every problem, one a line.
func (c checked) print(w io.Writer) {
	for _, p := range c.problems {
		fmt.Fprintln(w, p)
	}
}

// checkFiles finds the definition files under paths, validates each
// (against policy, when there is one, and that no two wire the same
// function) and collects every problem. The error is for paths that hold
// no definition file.
func checkFiles(paths []string, policy *definition.Policy) (checked, error) {
	names, err := definition.Find(paths...)
	if err != nil {
		return checked{}, err
	}
	if len(names) == 0 {
		return checked{}, fmt.Errorf("no %s found under %s", contract.DefinitionFileName, strings.Join(paths, ", "))
	}
	c := checked{names: len(names)}
	bad := map[string]bool{}
	report := func(e *definition.Error) {
		c.problems = append(c.problems, e)
		bad[e.File] = true
	}
	for _, name := range names {
		load := definition.Load
		if policy != nil {
			load = policy.Load
		}
		f, err := load(name)
		var errs definition.Errors
		switch {
		case errors.As(err, &errs):
			for _, e := range errs {
				report(e)
			}
		case err != nil:
			report(&definition.Error{File: name, Msg: err.Error()})
		default:
			c.files = append(c.files, f)
		}
	}
	for _, e := range definition.Conflicts(c.files) {
		report(e)
	}
	c.bad = len(bad)
	return c, nil
}

func count(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
