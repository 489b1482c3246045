package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/eventwire/eventwire/internal/definition"
	"github.com/eventwire/eventwire/internal/plan"
	"github.com/eventwire/eventwire/internal/reconcile"
)

// outcome is the result of one function's run.
type outcome struct {
	Source   string
	Plan     *plan.Plan
	err      error // planning failed
	applyErr error // applying the plan failed
	applied  bool  // the plan was applied
	// recordErr is set when the lease or the deployment record could not
	// be written back (what was applied is as applyErr and applied say).
	recordErr error
	file      *definition.File
}

// conflict is the error of a plan that holds a conflict (it is not
// applied), or nil.
func (o outcome) conflict() error {
	if o.err != nil || o.Plan == nil {
		return nil
	}
	return o.Plan.ConflictError()
}

// applicable reports whether the outcome's plan is one apply carries out:
// planned, without a conflict, with changes.
func (o outcome) applicable() bool {
	return o.err == nil && o.conflict() == nil && o.Plan.HasChanges()
}

// outcome names what happened to the function in an apply or destroy.
func (o outcome) outcome() string {
	switch {
	case o.err != nil:
		return outcomeNotPlanned
	case o.conflict() != nil:
		return outcomeConflict
	case !o.Plan.HasChanges():
		return outcomeNoChanges
	case o.applyErr != nil:
		return outcomeFailed
	case o.applied:
		return outcomeApplied
	}
	return outcomeNotApplied
}

// loadFiles finds and validates every definition file under paths
// (against policy, if not nil). It returns the files, or prints every
// problem and returns false: nothing is changed in AWS unless every file
// is valid.
func loadFiles(paths []string, policy *definition.Policy, stderr io.Writer) ([]*definition.File, bool) {
	c, err := checkFiles(paths, policy)
	if err != nil {
		fmt.Fprintf(stderr, "eventwire: %v\n", err)
		return nil, false
	}
	c.print(stderr)
	if len(c.problems) > 0 {
		fmt.Fprintf(stderr, "%s: nothing was changed in AWS\n", c.summary())
		return nil, false
	}
	return c.files, true
}

// forEach runs fn for every index in [0, n) with at most parallel at once.
// A failure in one does not stop the others; once stop is closed, no new
// one starts (those running finish).
func forEach(stop <-chan struct{}, n, parallel int, fn func(i int)) {
	sem := make(chan struct{}, max(parallel, 1))
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		select {
		case sem <- struct{}{}:
		case <-stop:
		}
		if closed(stop) {
			break
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			fn(i)
		}()
	}
	wg.Wait()
}

// closed reports whether c is closed.
func closed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// planFiles plans every file with planOne, concurrently.
func planFiles(ctx context.Context, planOne planFunc, files []*definition.File, parallel int) []outcome {
	out := make([]outcome, len(files))
	for i, f := range files {
		out[i] = outcome{Source: f.Path, err: errNotStarted, file: f}
	}
	forEach(ctx.Done(), len(files), parallel, func(i int) {
		p, err := planOne(ctx, files[i])
		out[i] = outcome{Source: files[i].Path, Plan: p, err: err, file: files[i]}
	})
	return out
}

// planner plans a file: what applying it would do, or with destroy what
// removing everything eventwire manages for its function would do (the
// file's push sources searched too, which finds the wiring of a function
// that was deleted).
func planner(r *reconcile.Run, destroy bool) planFunc {
	if !destroy {
		return r.Plan
	}
	return func(ctx context.Context, f *definition.File) (*plan.Plan, error) {
		p, err := r.PlanDestroy(ctx, f.Function, f.Push)
		if p != nil {
			p.Source = f.Path
		}
		return p, err
	}
}

// errNotStarted marks a function that an interrupt kept from being planned.
var errNotStarted = errors.New("not planned: interrupted")

// applyOptions are how applyAll applies the plans of an apply or destroy.
type applyOptions struct {
	run *reconcile.Run
	// ledger, if not nil, takes each function's lease, under which the
	// function is planned again with replan and applied, and records
	// every function planned.
	ledger   *ledger
	replan   planFunc
	parallel int
	// stop, once closed (an interrupt), keeps new functions from
	// starting; those started finish.
	stop <-chan struct{}
}

// applyAll applies every plan that has changes and no conflict,
// concurrently, on ctx (the calls of a function started are finished:
// ctx is not the one an interrupt cancels; opts.stop is).
func applyAll(ctx context.Context, outs []outcome, opts applyOptions) {
	var waits sync.WaitGroup
	l := opts.ledger
	forEach(opts.stop, len(outs), opts.parallel, func(i int) {
		o := &outs[i]
		changes := o.applicable()
		switch {
		case l == nil && changes:
			// The waits for its mappings to settle run on their own, so
			// that the worker moves on to the next function. (Under a
			// lease, Apply waits: the lease covers the whole change.)
			wait, err := opts.run.Start(ctx, o.Plan)
			waits.Add(1)
			go func() {
				defer waits.Done()
				o.applyErr = errors.Join(err, wait(ctx))
				o.applied = o.applyErr == nil
			}()
		case l != nil && o.err == nil && o.conflict() == nil:
			// Declared under the lease, with or without changes.
			l.run(ctx, o, opts.replan, opts.run.ApplyFenced)
		case l != nil && !errors.Is(o.err, errNotStarted):
			l.record(ctx, o, time.Now())
		}
	})
	waits.Wait()
}

// summary counts changes, conflicts and failures. A function whose plan
// holds a conflict counts as in conflict, not as changed.
type summary struct {
	functions, changed, conflicts, failed int // planned
	applied, applyFailed                  int
}

func summarize(outs []outcome) summary {
	s := summary{functions: len(outs)}
	for _, o := range outs {
		switch {
		case o.err != nil:
			s.failed++
		case o.conflict() != nil:
			s.conflicts++
		case o.Plan.HasChanges():
			s.changed++
		}
		switch {
		case o.applyErr != nil:
			s.applyFailed++
		case o.applied:
			s.applied++
		}
	}
	return s
}

// notApplied says why nothing is applied: the functions that could not be
// planned, those in conflict.
func (s summary) notApplied() string {
	var why []string
	if s.failed > 0 {
		why = append(why, count(s.failed, "function")+" could not be planned")
	}
	if s.conflicts > 0 {
		why = append(why, count(s.conflicts, "function")+" in conflict")
	}
	return strings.Join(why, ", ")
}

// inConflict is ", N in conflict" when there are conflicts, else "".
func (s summary) inConflict() string {
	if s.conflicts == 0 {
		return ""
	}
	return fmt.Sprintf(", %d in conflict", s.conflicts)
}

// printPlans writes the plans as text (stdout) and their errors (stderr),
// in file order, then why the plans in conflict are not applied (stderr).
func printPlans(outs []outcome, stdout, stderr io.Writer, debug bool) {
	for _, o := range outs {
		if o.err != nil {
			fmt.Fprintln(stderr, o.planProblem(debug))
			continue
		}
		fmt.Fprint(stdout, o.Plan.String())
	}
	for _, o := range outs {
		if err := o.conflict(); err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", o.Source, err)
		}
	}
}

// confirm asks on a terminal; without one it refuses. An interrupt while
// it waits for the answer is ctx's error.
func confirm(ctx context.Context, env Env, w io.Writer, question string) (bool, error) {
	if !env.IsTerminal {
		return false, errors.New("refusing to change AWS without confirmation: standard input is not a terminal; pass --yes to apply non-interactively")
	}
	fmt.Fprintf(w, "\n%s Only 'yes' will be accepted: ", question)
	type answer struct {
		line string
		err  error
	}
	ch := make(chan answer, 1)
	go func() {
		line, err := bufio.NewReader(env.Stdin).ReadString('\n')
		ch <- answer{line, err}
	}()
	select {
	case <-ctx.Done():
		fmt.Fprintln(w)
		return false, ctx.Err()
	case a := <-ch:
		if a.err != nil && a.line == "" {
			return false, fmt.Errorf("read confirmation: %w", a.err)
		}
		return strings.TrimSpace(a.line) == "yes", nil
	}
}

// runPlan is `eventwire plan`.
func runPlan(ctx context.Context, d *deployFlags, paths []string, env Env) int {
	files, ok := d.allow.loadFiles(ctx, paths, env, "plan")
	if !ok {
		return ExitError
	}
	rec, _, err := d.reconciler(ctx, env)
	if err != nil {
		fmt.Fprintf(env.Stderr, "eventwire plan: %v\n", err)
		return ExitError
	}
	r := rec.NewRun(nil)
	r.Prefetch(files)
	outs := planFiles(ctx, r.Plan, files, d.parallel)
	if ctx.Err() != nil {
		fmt.Fprintln(env.Stderr, "eventwire plan: interrupted")
		return ExitInterrupted
	}
	s := summarize(outs)
	if d.output == "json" {
		if err := writeDocument(env.Stdout, newDeployDocument(outs, deployOptions{command: "plan", debug: d.debug})); err != nil {
			fmt.Fprintf(env.Stderr, "eventwire plan: %v\n", err)
			return ExitError
		}
		printPlans(outs, io.Discard, env.Stderr, d.debug)
	} else {
		printPlans(outs, env.Stdout, env.Stderr, d.debug)
		fmt.Fprintf(env.Stdout, "\nPlan: %s, %d with changes%s, %d failed.\n", count(s.functions, "function"), s.changed, s.inConflict(), s.failed)
	}
	switch {
	case s.failed > 0 || s.conflicts > 0:
		return ExitError
	case d.detailed && s.changed > 0:
		return ExitChanges
	}
	return ExitOK
}

// deployRun is one apply or destroy: its settings and where it writes.
type deployRun struct {
	name string // apply or destroy
	d    *deployFlags
	env  Env
	out  io.Writer // the text report: stdout, or nowhere with -o json
}

// runApply is `eventwire apply` and, with destroy set, `eventwire destroy`.
func runApply(ctx context.Context, d *deployFlags, paths []string, env Env, destroy bool) int {
	// Everything written to stderr goes through the progress view, so
	// that its live lines stay below.
	view := newProgressView(env, time.Now)
	env.Stderr = view
	run := deployRun{name: "apply", d: d, env: env, out: env.Stdout}
	if destroy {
		run.name = "destroy"
	}
	if d.output == "json" {
		run.out = io.Discard
	}
	var files []*definition.File
	var ok bool
	if destroy {
		// The files are read only for their functions: no allowlist.
		files, ok = loadFiles(paths, nil, env.Stderr)
	} else {
		files, ok = d.allow.loadFiles(ctx, paths, env, run.name)
	}
	if !ok {
		return ExitError
	}
	rec, cfg, err := d.reconciler(ctx, env)
	if err != nil {
		fmt.Fprintf(env.Stderr, "eventwire %s: %v\n", run.name, err)
		return ExitError
	}
	// The progress of the run's actions goes to the view.
	r := rec.NewRun(view.event)
	r.Prefetch(files)
	planOne := planner(r, destroy)
	apply := applyOptions{run: r, replan: planOne, parallel: d.parallel, stop: ctx.Done(),
		ledger: run.openLedger(ctx, cfg)}
	outs := planFiles(ctx, planOne, files, d.parallel)
	if ctx.Err() != nil {
		return run.finish(outs, true)
	}
	printPlans(outs, run.out, env.Stderr, d.debug)
	if s := summarize(outs); s.changed == 0 {
		applyAll(ctx, outs, apply) // records only
		return run.finish(outs, false)
	}
	if !d.yes { // only with text output: -o json needs --yes
		s := summarize(outs)
		yes, err := confirm(ctx, env, env.Stdout, fmt.Sprintf("eventwire will %s the changes above for %s.", run.name, count(s.changed, "function")))
		switch {
		case ctx.Err() != nil:
			return run.finish(outs, true)
		case err != nil:
			fmt.Fprintf(env.Stderr, "eventwire %s: %v\n", run.name, err)
			return ExitError
		case !yes:
			fmt.Fprintf(env.Stdout, "Cancelled: nothing was changed.\n")
			return ExitError
		}
	}
	work, cancel := workContext(ctx, env.Abort)
	defer cancel()
	stop := view.start()
	applyAll(work, outs, apply)
	stop()
	return run.finish(outs, ctx.Err() != nil)
}

// workContext is the context of calls already started: an interrupt (ctx
// done) lets them finish; abort (a second interrupt) cancels them.
func workContext(ctx context.Context, abort <-chan struct{}) (context.Context, context.CancelFunc) {
	work, cancel := context.WithCancel(context.WithoutCancel(ctx))
	go func() {
		select {
		case <-abort:
			cancel()
		case <-work.Done():
		}
	}()
	return work, cancel
}

// finish reports what was applied and returns the exit status.
func (run deployRun) finish(outs []outcome, interrupted bool) int {
	s := summarize(outs)
	code := ExitOK
	switch {
	case interrupted:
		code = ExitInterrupted
	case s.failed+s.conflicts+s.applyFailed > 0:
		code = ExitError
	}
	if run.d.output == "json" {
		doc := newDeployDocument(outs, deployOptions{command: run.name, applied: true, interrupted: interrupted, debug: run.d.debug})
		if err := writeDocument(run.env.Stdout, doc); err != nil {
			fmt.Fprintf(run.env.Stderr, "eventwire %s: %v\n", run.name, err)
			return ExitError
		}
	}
	for _, o := range outs {
		switch {
		case o.applyErr != nil:
			fmt.Fprintln(run.env.Stderr, o.applyProblem(run.name, run.d.debug))
		case o.applied:
			fmt.Fprintf(run.out, "%s: %s: done\n", o.Source, o.Plan.Function.Ref)
		}
		if o.recordErr != nil {
			fmt.Fprintf(run.env.Stderr, "%s: deployment record: %v\n", o.Source, o.recordErr)
		}
	}
	run.summaryLine(s, interrupted, outs)
	return code
}

// summaryLine is the last line of an apply or destroy.
func (run deployRun) summaryLine(s summary, interrupted bool, outs []outcome) {
	switch {
	case interrupted:
		var not []string
		for _, o := range outs {
			if o.outcome() == outcomeNotApplied || errors.Is(o.err, errNotStarted) {
				not = append(not, o.Source)
			}
		}
		fmt.Fprintf(run.env.Stderr, "\nInterrupted: %s applied, %s failed, %s not applied", count(s.applied, "function"), count(s.applyFailed, "function"), count(len(not), "function"))
		if len(not) > 0 {
			fmt.Fprintf(run.env.Stderr, " (%s)", strings.Join(not, ", "))
		}
		fmt.Fprintf(run.env.Stderr, ". Run %s again to finish.\n", run.name)
	case s.changed == 0 && s.failed+s.conflicts > 0:
		fmt.Fprintf(run.out, "\nNothing applied: %s.\n", s.notApplied())
	case s.changed == 0:
		fmt.Fprintf(run.out, "\nNo changes: AWS matches the definitions of %s.\n", count(s.functions, "function"))
	default:
		fmt.Fprintf(run.out, "\n%s: %s, %d changed, %d failed%s.\n", capitalize(run.name), count(s.functions, "function"), s.applied, s.failed+s.applyFailed, s.inConflict())
	}
}

func capitalize(s string) string { return strings.ToUpper(s[:1]) + s[1:] }
