package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/eventwire/eventwire/internal/plan"
	"github.com/eventwire/eventwire/internal/records"
)

const driftHelp = `Lists the result of the latest drift sweep from the deployer's table: for
each function the sweep checked, whether AWS matches its live definition
file (in-sync), differs from it (drifted, with the plan of what would be
changed), or still has resources eventwire manages although no live file
declares the function (orphaned, with what pruning would remove). With the
stack's driftHeal on, the sweep applies those plans itself: healed and
pruned. A check that failed (it is retried) or whose file no longer
validates shows as failed or invalid, with its errors.

The deployer starts a sweep on the stack's schedule (driftSchedule, once a
day by default) and checks one function per message of its sweep queue, so
a sweep in progress shows the checks still pending, and a function not
checked yet by the latest sweep shows its earlier result, marked so.

--detailed-exitcode exits 0 when everything checked is in sync (healed and
pruned included: AWS matches the files again), 2 when a function drifted or
has orphaned resources, 1 on error (a failed or invalid check, no sweep
recorded yet, or the table cannot be read). -o json prints one document
(format_version, as plan's). The table is --table, or $` + TableEnv + `.

Examples:
  eventwire drift --table eventwire-deployments
  eventwire drift --detailed-exitcode -o json | jq '.functions[] | select(.status == "drifted")'`

func (a *app) driftCommand() *cobra.Command {
	var (
		table, output string
		detailed      bool
	)
	cmd := &cobra.Command{
		Use:   "drift",
		Short: "Show the latest drift sweep: in sync, drifted or orphaned",
		Long:  driftHelp,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 0 {
				return fmt.Errorf("takes no arguments (got %q): it lists every function the latest sweep checked", args[0])
			}
			return nil
		},
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, args []string) error {
			a.code = runDrift(cmd.Context(), a.env, table, output, detailed)
			return nil
		},
	}
	cmd.Flags().StringVar(&table, "table", "", "DynamoDB table of the deployer (default $"+TableEnv+")")
	cmd.Flags().BoolVar(&detailed, "detailed-exitcode", false, "exit 0 when in sync, 2 when drifted or orphaned, 1 on error")
	outputFlag(cmd, &output)
	return cmd
}

// driftReport is what `eventwire drift` shows: the latest sweep and the
// latest result of every function.
type driftReport struct {
	table   string
	sweep   *records.Sweep
	results []records.DriftResult
}

// current reports whether r comes from the latest sweep.
func (d driftReport) current(r records.DriftResult) bool {
	return d.sweep != nil && r.SweepID == d.sweep.ID
}

// checked counts the latest sweep's results.
func (d driftReport) checked() int {
	n := 0
	for _, r := range d.results {
		if d.current(r) {
			n++
		}
	}
	return n
}

// status is the exit status --detailed-exitcode asks for.
func (d driftReport) status() int {
	if d.sweep == nil {
		return ExitError
	}
	code := ExitOK
	for _, r := range d.results {
		switch r.Outcome {
		case records.Failed, records.Invalid:
			return ExitError
		case records.Drifted, records.Orphaned:
			code = ExitChanges
		}
	}
	return code
}

func runDrift(ctx context.Context, env Env, table, output string, detailed bool) int {
	if output != "text" && output != "json" {
		return UsageError(env, "drift", fmt.Sprintf("-o %s: want text or json", output))
	}
	if table == "" {
		table = os.Getenv(TableEnv)
	}
	if table == "" {
		return UsageError(env, "drift", "no table: give --table or set "+TableEnv)
	}
	rep, err := readDrift(ctx, env, table)
	if err != nil {
		fmt.Fprintf(env.Stderr, "eventwire drift: %v\n", err)
		return ExitError
	}
	if output == "json" {
		if err := writeDriftJSON(env.Stdout, rep); err != nil {
			return ExitError
		}
	} else {
		writeDriftText(env.Stdout, rep)
	}
	if rep.sweep == nil {
		fmt.Fprintf(env.Stderr, "eventwire drift: no sweep recorded in table %s yet (the deployer runs one on the stack's driftSchedule)\n", table)
	}
	if !detailed {
		return ExitOK
	}
	return rep.status()
}

// readDrift reads the latest sweep and the latest results from table.
func readDrift(ctx context.Context, env Env, table string) (driftReport, error) {
	rep := driftReport{table: table}
	err := readTable(ctx, env, table, func(store *records.Store) (err error) {
		if rep.sweep, err = store.LatestSweep(ctx); err != nil {
			return err
		}
		rep.results, err = store.DriftResults(ctx)
		return err
	})
	return rep, err
}

// writeDriftText writes the sweep, a table of the results (each plan and
// errors below its row), and a summary.
func writeDriftText(w io.Writer, d driftReport) {
	if d.sweep != nil {
		s := d.sweep
		fmt.Fprintf(w, "Sweep %s started %s: %d functions to check (%d declared by a live file, %d no longer declared), %d checked",
			s.ID, s.Started.UTC().Format(time.RFC3339), s.Functions, s.Declared, s.Orphans, d.checked())
		if pending := s.Functions - d.checked(); pending > 0 {
			fmt.Fprintf(w, ", %d pending", pending)
		}
		fmt.Fprintln(w)
	}
	if len(d.results) == 0 {
		fmt.Fprintf(w, "no drift results in table %s\n", d.table)
		return
	}
	rows := [][]string{{"FUNCTION", "STATUS", "CHANGES", "CHECKED", "SOURCE"}}
	details := [][]string{nil}
	for _, r := range d.results {
		checked := r.CheckedAt.UTC().Format(time.RFC3339)
		if !d.current(r) {
			checked += " (earlier sweep)"
		}
		rows = append(rows, []string{r.Function, string(r.Outcome), fmt.Sprint(r.Changes), checked, r.Source})
		var lines []string
		for _, e := range r.Errors {
			lines = append(lines, "  error: "+e)
		}
		if r.Outcome != records.InSync && r.Plan != "" {
			for _, l := range strings.Split(strings.TrimRight(r.Plan, "\n"), "\n") {
				lines = append(lines, "  "+l)
			}
		}
		details = append(details, lines)
	}
	writeColumns(w, rows, details)
	fmt.Fprintln(w, driftSummary(d.results))
}

// driftSummary counts the results by status, in a fixed order.
func driftSummary(results []records.DriftResult) string {
	n := map[records.Outcome]int{}
	for _, r := range results {
		n[r.Outcome]++
	}
	parts := []string{fmt.Sprintf("%d in sync", n[records.InSync]), fmt.Sprintf("%d drifted", n[records.Drifted]),
		fmt.Sprintf("%d orphaned", n[records.Orphaned])}
	for _, o := range []records.Outcome{records.Healed, records.Pruned, records.Invalid, records.Failed} {
		if n[o] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n[o], o))
		}
	}
	return fmt.Sprintf("\nDrift: %d functions, %s.", len(results), strings.Join(parts, ", "))
}

// writeColumns writes rows with aligned columns (the last one as is), and
// under each row its detail lines, outside the columns.
func writeColumns(w io.Writer, rows [][]string, details [][]string) {
	width := make([]int, len(rows[0]))
	for _, row := range rows {
		for i, c := range row {
			width[i] = max(width[i], len(c))
		}
	}
	for i, row := range rows {
		var b strings.Builder
		for j, c := range row {
			if j == len(row)-1 {
				b.WriteString(c)
				break
			}
			fmt.Fprintf(&b, "%-*s  ", width[j], c)
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
		for _, l := range details[i] {
			fmt.Fprintln(w, l)
		}
	}
}

// driftDocument is `drift -o json`.
type driftDocument struct {
	FormatVersion string `json:"format_version"`
	Command       string `json:"command"`
	// Drift tells whether a function drifted or has orphaned resources.
	Drift     bool                 `json:"drift"`
	Sweep     *sweepDocument       `json:"sweep"` // null before the first sweep
	Functions []driftFunctionEntry `json:"functions"`
}

type sweepDocument struct {
	ID        string    `json:"id"`
	Started   time.Time `json:"started"`
	Functions int       `json:"functions"`
	Declared  int       `json:"declared"`
	Orphans   int       `json:"orphans"`
	Checked   int       `json:"checked"`
}

// driftFunctionEntry is one function's latest check.
type driftFunctionEntry struct {
	Function string `json:"function"`
	// Kind is declared or orphan; Status the check's outcome.
	Kind   string `json:"kind"`
	Status string `json:"status"`
	// Current tells whether the check is the latest sweep's.
	Current   bool             `json:"current"`
	SweepID   string           `json:"sweep_id"`
	CheckedAt time.Time        `json:"checked_at"`
	Source    *string          `json:"source"`
	Changes   int              `json:"changes"`
	Actions   []actionDocument `json:"actions"`
	Errors    []string         `json:"errors"`
	RecordID  *string          `json:"record_id"`
}

func writeDriftJSON(w io.Writer, d driftReport) error {
	doc := driftDocument{FormatVersion: FormatVersion, Command: "drift", Functions: make([]driftFunctionEntry, 0, len(d.results))}
	if s := d.sweep; s != nil {
		doc.Sweep = &sweepDocument{ID: s.ID, Started: s.Started.UTC(), Functions: s.Functions, Declared: s.Declared,
			Orphans: s.Orphans, Checked: d.checked()}
	}
	for _, r := range d.results {
		e := driftFunctionEntry{Function: r.Function, Kind: r.Kind, Status: string(r.Outcome), Current: d.current(r),
			SweepID: r.SweepID, CheckedAt: r.CheckedAt.UTC(), Changes: r.Changes, Actions: []actionDocument{}, Errors: []string{}}
		if r.Source != "" {
			e.Source = ptr(r.Source)
		}
		if r.RecordID != "" {
			e.RecordID = ptr(r.RecordID)
		}
		e.Errors = append(e.Errors, r.Errors...)
		var p plan.Plan
		if json.Unmarshal([]byte(r.PlanJSON), &p) == nil {
			for _, a := range p.Actions {
				e.Actions = append(e.Actions, newActionDocument(a))
			}
		}
		doc.Drift = doc.Drift || r.Outcome == records.Drifted || r.Outcome == records.Orphaned
		doc.Functions = append(doc.Functions, e)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}
