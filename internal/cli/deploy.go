package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"

	"github.com/spf13/cobra"

	"github.com/eventwire/eventwire/internal/definition"
	"github.com/eventwire/eventwire/internal/plan"
	"github.com/eventwire/eventwire/internal/reconcile"
)

// DefaultParallel bounds how many functions are planned or applied at once.
// AWS throttles the Lambda control plane at about 15 requests a second per
// account and region, so more would only wait in the SDK's retryer.
const DefaultParallel = 4

// outcome is the result of one function's run.
type outcome struct {
	Source string     `json:"source"`
	Plan   *plan.Plan `json:"plan,omitempty"`
	Error  string     `json:"error,omitempty"`
	err    error      // planning failed
	// applyErr is set when applying the plan failed.
	applyErr error
}

// loadFiles finds and validates every definition file under paths. It
// returns the files, or prints every problem and returns false: nothing is
// sent to AWS unless every file is valid.
func loadFiles(paths []string, stderr io.Writer) ([]*definition.File, bool) {
	c, err := checkFiles(paths)
	if err != nil {
		fmt.Fprintf(stderr, "eventwire: %v\n", err)
		return nil, false
	}
	c.print(stderr)
	if len(c.problems) > 0 {
		fmt.Fprintf(stderr, "%s: nothing was sent to AWS\n", c.summary())
		return nil, false
	}
	return c.files, true
}

// forEach runs fn for every index in [0, n) with at most parallel at once.
// A failure in one does not stop the others.
func forEach(n, parallel int, fn func(i int)) {
	if parallel < 1 {
		parallel = 1
	}
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			fn(i)
		}()
	}
	wg.Wait()
}

// planAll plans every file, concurrently.
func planAll(ctx context.Context, r *reconcile.Reconciler, files []*definition.File, parallel int) []outcome {
	out := make([]outcome, len(files))
	forEach(len(files), parallel, func(i int) {
		p, err := r.Plan(ctx, files[i])
		out[i] = outcome{Source: files[i].Path, Plan: p, err: err}
	})
	return out
}

// planDestroyAll plans the removal of everything eventwire manages for the
// functions the files name.
func planDestroyAll(ctx context.Context, r *reconcile.Reconciler, files []*definition.File, parallel int) []outcome {
	out := make([]outcome, len(files))
	forEach(len(files), parallel, func(i int) {
		p, err := r.PlanDestroy(ctx, files[i].Function, files[i].Push)
		if p != nil {
			p.Source = files[i].Path
		}
		out[i] = outcome{Source: files[i].Path, Plan: p, err: err}
	})
	return out
}

// applyAll applies every plan that has changes, concurrently.
func applyAll(ctx context.Context, r *reconcile.Reconciler, outs []outcome, parallel int) {
	forEach(len(outs), parallel, func(i int) {
		o := &outs[i]
		if o.err != nil || o.Plan == nil || !o.Plan.HasChanges() {
			return
		}
		o.applyErr = r.Apply(ctx, o.Plan)
	})
}

// summary counts changes and failures.
type summary struct {
	functions, changed, failed int
}

func summarize(outs []outcome) summary {
	s := summary{functions: len(outs)}
	for _, o := range outs {
		switch {
		case o.err != nil:
			s.failed++
		case o.Plan != nil && o.Plan.HasChanges():
			s.changed++
		}
	}
	return s
}

// printPlans writes the plans as text (stdout) and their errors (stderr),
// in file order.
func printPlans(outs []outcome, stdout, stderr io.Writer) {
	for _, o := range outs {
		if o.err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", o.Source, o.err)
			continue
		}
		fmt.Fprint(stdout, o.Plan.String())
	}
}

// writeJSON writes the plans as one JSON document, the -o json form:
//
//	{"changes": true, "plans": [{"source": ..., "plan": {...}} | {"source": ..., "error": "..."}]}
func writeJSON(w io.Writer, outs []outcome) error {
	doc := struct {
		Changes bool      `json:"changes"`
		Plans   []outcome `json:"plans"`
	}{Plans: outs}
	for i := range doc.Plans {
		if doc.Plans[i].err != nil {
			doc.Plans[i].Error = doc.Plans[i].err.Error()
		}
		if p := doc.Plans[i].Plan; p != nil && p.HasChanges() {
			doc.Changes = true
		}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}

// confirm asks on a terminal; without one it refuses.
func confirm(env Env, question string) (bool, error) {
	if !env.IsTerminal {
		return false, errors.New("refusing to change AWS without confirmation: standard input is not a terminal; pass --yes to apply non-interactively")
	}
	fmt.Fprintf(env.Stdout, "\n%s Only 'yes' will be accepted: ", question)
	line, err := bufio.NewReader(env.Stdin).ReadString('\n')
	if err != nil && line == "" {
		return false, fmt.Errorf("read confirmation: %w", err)
	}
	return strings.TrimSpace(line) == "yes", nil
}

// deployFlags are the flags plan, apply and destroy share.
type deployFlags struct {
	parallel int
	yes      bool
	output   string
	detailed bool
	verbose  bool
}

// deployCommand is plan, apply or destroy: a command over definition files
// and folders (at least one) with the deploy flags.
func (a *app) deployCommand(name string) *cobra.Command {
	d := &deployFlags{}
	cmd := &cobra.Command{
		Use:               name + " PATH...",
		Short:             deploySummary[name],
		Long:              deployHelp[name],
		Args:              pathArgs,
		ValidArgsFunction: completePaths,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := d.check(); err != nil {
				return err
			}
			switch name {
			case "plan":
				a.code = runPlan(cmd.Context(), d, args, a.env)
			default:
				a.code = runApply(cmd.Context(), d, args, a.env, name == "destroy")
			}
			return nil
		},
	}
	d.register(cmd, name)
	return cmd
}

var deploySummary = map[string]string{
	"plan":    "Show what apply would change in AWS, without changing it",
	"apply":   "Make AWS match the definition files",
	"destroy": "Remove everything eventwire manages for the functions the files name",
}

var deployHelp = map[string]string{"plan": planHelp, "apply": applyHelp, "destroy": destroyHelp}

const planHelp = `Reads what AWS has for the function of every definition file given, or
found under the folders given, and prints the difference: each action
with its kind (create, update, replace, delete, adopt, leave-alone), the
resource, and for an update the fields that change. Nothing is changed.

Resources eventwire does not own (an event source mapping made by hand or
by another tool, that the file does not declare) are shown as left alone;
they are information, not changes.

With -o json the same plan is printed as one JSON document:
  {"changes": BOOL, "plans": [{"source": FILE, "plan": {"source", "function",
  "actions": [{"action", "resource", "id", "reason", "changes": [{"field",
  "from", "to"}]}]}} | {"source": FILE, "error": MESSAGE}]}

Examples:
  eventwire plan examples/
  eventwire plan --detailed-exitcode -o json orders/`

const applyHelp = `Validates every definition file first (a bad file changes nothing), plans
each function as 'eventwire plan' does, prints the plan, asks for
confirmation on a terminal, then applies the changes. Functions are
worked on concurrently (--parallel); a failure in one does not stop the
others, and the exit status is 1 if any failed. Applying the same files
again changes nothing.

Without a terminal (CI), --yes is required.

Examples:
  eventwire apply examples/
  eventwire apply --yes orders/_lambdaeventsourcedef.json`

const destroyHelp = `For the function of every definition file given, removes the event
source mappings eventwire created or adopted, deregisters the function
from the target groups it wired, detaches the API Gateway routes and
deletes the integrations it created, and removes its permission
statements. Mappings, statements and integrations eventwire does not own
are left alone; routes and APIs are never deleted.

Examples:
  eventwire destroy orders/
  eventwire destroy --yes examples/`

func (d *deployFlags) register(cmd *cobra.Command, name string) {
	fs := cmd.Flags()
	fs.IntVar(&d.parallel, "parallel", DefaultParallel, "how many functions to work on at once")
	fs.BoolVarP(&d.verbose, "verbose", "v", false, "log each AWS change on standard error")
	switch name {
	case "plan":
		outputFlag(cmd, &d.output)
		fs.BoolVar(&d.detailed, "detailed-exitcode", false, "exit 0 when there is nothing to change, 2 when there are changes, 1 on error")
	default:
		fs.BoolVar(&d.yes, "yes", false, "apply without asking for confirmation")
		d.output = "text"
	}
}

// check refuses flag values out of range.
func (d *deployFlags) check() error {
	if d.parallel < 1 {
		return fmt.Errorf("--parallel %d: want 1 or more", d.parallel)
	}
	return checkOutput(d.output)
}

func (d *deployFlags) reconciler(ctx context.Context, env Env) (*reconcile.Reconciler, error) {
	cfg, err := env.AWSConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("load AWS configuration: %w", err)
	}
	level := slog.LevelWarn
	if d.verbose {
		level = slog.LevelInfo
	}
	log := slog.New(slog.NewTextHandler(env.Stderr, &slog.HandlerOptions{Level: level}))
	return reconcile.New(cfg, reconcile.Options{Logger: log}), nil
}

// runPlan is `eventwire plan`.
func runPlan(ctx context.Context, d *deployFlags, paths []string, env Env) int {
	files, ok := loadFiles(paths, env.Stderr)
	if !ok {
		return 1
	}
	r, err := d.reconciler(ctx, env)
	if err != nil {
		fmt.Fprintf(env.Stderr, "eventwire plan: %v\n", err)
		return 1
	}
	outs := planAll(ctx, r, files, d.parallel)
	s := summarize(outs)
	if d.output == "json" {
		if err := writeJSON(env.Stdout, outs); err != nil {
			fmt.Fprintf(env.Stderr, "eventwire plan: %v\n", err)
			return 1
		}
		for _, o := range outs {
			if o.err != nil {
				fmt.Fprintf(env.Stderr, "%s: %v\n", o.Source, o.err)
			}
		}
	} else {
		printPlans(outs, env.Stdout, env.Stderr)
		fmt.Fprintf(env.Stdout, "\nPlan: %s, %d with changes, %d failed.\n", count(s.functions, "function"), s.changed, s.failed)
	}
	switch {
	case s.failed > 0:
		return 1
	case d.detailed && s.changed > 0:
		return 2
	}
	return 0
}

// runApply is `eventwire apply` and, with destroy set, `eventwire destroy`.
func runApply(ctx context.Context, d *deployFlags, paths []string, env Env, destroy bool) int {
	name := "apply"
	if destroy {
		name = "destroy"
	}
	files, ok := loadFiles(paths, env.Stderr)
	if !ok {
		return 1
	}
	r, err := d.reconciler(ctx, env)
	if err != nil {
		fmt.Fprintf(env.Stderr, "eventwire %s: %v\n", name, err)
		return 1
	}
	var outs []outcome
	if destroy {
		outs = planDestroyAll(ctx, r, files, d.parallel)
	} else {
		outs = planAll(ctx, r, files, d.parallel)
	}
	printPlans(outs, env.Stdout, env.Stderr)
	s := summarize(outs)
	if s.changed == 0 {
		if s.failed > 0 {
			fmt.Fprintf(env.Stdout, "\nNothing applied: %s could not be planned.\n", count(s.failed, "function"))
			return 1
		}
		fmt.Fprintf(env.Stdout, "\nNo changes: AWS matches the definitions of %s.\n", count(s.functions, "function"))
		return 0
	}
	if !d.yes {
		yes, err := confirm(env, fmt.Sprintf("eventwire will %s the changes above for %s.", name, count(s.changed, "function")))
		if err != nil {
			fmt.Fprintf(env.Stderr, "eventwire %s: %v\n", name, err)
			return 1
		}
		if !yes {
			fmt.Fprintf(env.Stdout, "Cancelled: nothing was changed.\n")
			return 1
		}
	}
	applyAll(ctx, r, outs, d.parallel)
	fmt.Fprintln(env.Stdout)
	failed, done := s.failed, 0
	for _, o := range outs {
		switch {
		case o.applyErr != nil:
			failed++
			fmt.Fprintf(env.Stderr, "%s: %s %s: %v\n", o.Source, name, o.Plan.Function.Ref, o.applyErr)
		case o.err == nil && o.Plan.HasChanges():
			done++
			fmt.Fprintf(env.Stdout, "%s: %s: done\n", o.Source, o.Plan.Function.Ref)
		}
	}
	fmt.Fprintf(env.Stdout, "\n%s: %s, %d changed, %d failed.\n", capitalize(name), count(s.functions, "function"), done, failed)
	if failed > 0 {
		return 1
	}
	return 0
}

func capitalize(s string) string { return strings.ToUpper(s[:1]) + s[1:] }
