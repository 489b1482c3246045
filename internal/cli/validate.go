package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"

	"github.com/eventwire/eventwire/internal/definition"
)

func init() {
	Register(&Command{
		Name:    "validate",
		Summary: "Check definition files without calling AWS",
		Args:    "PATH...",
		Help: `Validates every ` + definition.FileName + ` file given, or found
under the folders given (recursively), and the ` + definition.FunctionDefFileName + `
beside each one. Nothing is sent to AWS.

The checks are strict: unknown or misspelt keys (with a suggestion), keys
in the wrong case, duplicate keys, wrong types, the ranges, patterns and
per-source rules of Lambda's CreateEventSourceMapping API, which function
the file wires, and two files wiring the same function.

Every problem is printed on standard output, one a line, as
FILE:LINE:COLUMN: JSON.PATH: message (columns count bytes), then a
summary line. The exit status is 1 if any file has a problem, 0 if all
are valid.

Examples:
  eventwire validate examples/
  eventwire validate orders/_lambdaeventsourcedef.json inventory/`,
		Setup: func(fs *flag.FlagSet) RunFunc { return runValidate },
	})
}

func runValidate(ctx context.Context, args []string, env Env) int {
	if len(args) == 0 {
		return UsageError(env, "validate", "no PATH given: name definition files or folders to search")
	}
	names, err := definition.Find(args...)
	if err != nil {
		fmt.Fprintf(env.Stderr, "eventwire validate: %v\n", err)
		return ExitError
	}
	if len(names) == 0 {
		fmt.Fprintf(env.Stderr, "eventwire validate: no %s found under %s\n", definition.FileName, strings.Join(args, ", "))
		return ExitError
	}
	bad := map[string]bool{}
	nerrs := 0
	var files []*definition.File
	for _, name := range names {
		f, err := definition.Load(name)
		if err != nil {
			var errs definition.Errors
			if errors.As(err, &errs) {
				for _, e := range errs {
					fmt.Fprintln(env.Stdout, e)
					bad[e.File] = true
				}
				nerrs += len(errs)
			} else {
				fmt.Fprintf(env.Stdout, "%s: %v\n", name, err)
				bad[name] = true
				nerrs++
			}
			continue
		}
		files = append(files, f)
	}
	for _, e := range definition.Conflicts(files) {
		fmt.Fprintln(env.Stdout, e)
		bad[e.File] = true
		nerrs++
	}
	summary := fmt.Sprintf("%s checked, ", count(len(names), "file"))
	if nerrs == 0 {
		fmt.Fprintln(env.Stdout, summary+"all valid")
		return ExitOK
	}
	fmt.Fprintf(env.Stdout, "%s%s in %s\n", summary, count(nerrs, "error"), count(len(bad), "file"))
	return ExitError
}

func count(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
