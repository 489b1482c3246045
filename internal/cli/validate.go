package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/eventwire/eventwire/internal/definition"
)

func init() {
	Register(&Command{
		Name:    "validate",
		Summary: "Check definition files without calling AWS",
		Args:    "PATH...",
		Help: `Validates every ` + definition.FileName + ` file given, or found
under the folders given (recursively, skipping .git and node_modules),
and the ` + definition.FunctionDefFileName + ` beside each one. A file given by name is
checked whatever its name. Nothing is sent to AWS.

The checks are strict: unknown or misspelt keys (with a suggestion), keys
in the wrong case, duplicate keys, wrong types, trailing data, files over
1 MiB, the ranges, patterns and per-source rules of Lambda's
CreateEventSourceMapping API, which function the file wires, two files
wiring the same function, and a target group or API route given to two
functions.

Every problem is printed on standard output, one a line, as
FILE:LINE:COLUMN: JSON.PATH: message (columns count bytes; a problem of
the file as a whole, such as its size, has no LINE:COLUMN), then a
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
	c, err := checkFiles(args, env.Stdout)
	if err != nil {
		fmt.Fprintf(env.Stderr, "eventwire validate: %v\n", err)
		return ExitError
	}
	fmt.Fprintln(env.Stdout, c.summary())
	if c.errors > 0 {
		return ExitError
	}
	return ExitOK
}

// checked is what checkFiles found.
type checked struct {
	files  []*definition.File // the valid ones
	names  int                // files checked
	errors int                // problems found
	bad    int                // files with a problem
}

func (c checked) summary() string {
	s := fmt.Sprintf("%s checked, ", count(c.names, "file"))
	if c.errors == 0 {
		return s + "all valid"
	}
	return fmt.Sprintf("%s%s in %s", s, count(c.errors, "error"), count(c.bad, "file"))
}

// checkFiles finds the definition files under paths, validates each (and
// that no two wire the same function) and writes every problem to w, one a
// line. The error is for paths that hold no definition file.
func checkFiles(paths []string, w io.Writer) (checked, error) {
	names, err := definition.Find(paths...)
	if err != nil {
		return checked{}, err
	}
	if len(names) == 0 {
		return checked{}, fmt.Errorf("no %s found under %s", definition.FileName, strings.Join(paths, ", "))
	}
	c := checked{names: len(names)}
	bad := map[string]bool{}
	report := func(file string, msg any) {
		fmt.Fprintln(w, msg)
		bad[file] = true
		c.errors++
	}
	for _, name := range names {
		f, err := definition.Load(name)
		var errs definition.Errors
		switch {
		case errors.As(err, &errs):
			for _, e := range errs {
				report(e.File, e)
			}
		case err != nil:
			report(name, fmt.Sprintf("%s: %v", name, err))
		default:
			c.files = append(c.files, f)
		}
	}
	for _, e := range definition.Conflicts(c.files) {
		report(e.File, e)
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
