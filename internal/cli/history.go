package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/spf13/cobra"

	"github.com/eventwire/eventwire/internal/records"
)

// TableEnv names the deployer's DynamoDB table when --table is not given;
// the deployer Lambda reads the same variable.
const TableEnv = "EVENTWIRE_TABLE"

const historyHelp = `Lists the deployment records the eventwire deployer Lambda wrote for a
function, newest first, with those of 'eventwire apply' and 'eventwire
destroy' runs given the same table: when each run started, how long it
took, what triggered it (s3, codecommit, codepipeline, cli, or sweep: a
drift check), what it did (apply, plan, destroy, or check: a drift check
that changed nothing), how it ended (succeeded, planned, invalid, conflict,
refused, failed; a drift check: in-sync, drifted, orphaned, healed, pruned), how many
changes it made (or found), and the file it came from. Errors are
shown under their run, and who ran a CLI run (the AWS caller's ARN); -v
shows each run's plan too.

FUNCTION is a name, an ARN or a qualified name: records are kept per
function name, so "orders", "orders:live" and the function's ARN share one
history. Runs of files too broken to name a function, or naming one the
Lambda API would refuse (too long, characters outside its pattern), are
listed with FUNCTION "-". The table is --table, or $` + TableEnv + ` (the table name is
the TableName output of the eventwire stack).

Examples:
  eventwire history --table eventwire-deployments orders
  EVENTWIRE_TABLE=eventwire-deployments eventwire history -n 5 -v orders
  eventwire history -o json orders | jq '.records[0].plan'`

// historyFlags are the flags of `eventwire history`.
type historyFlags struct {
	table, output string
	limit         int
	verbose       bool
}

func (a *app) historyCommand() *cobra.Command {
	var f historyFlags
	cmd := &cobra.Command{
		Use:               "history FUNCTION",
		Short:             "List a function's deployments, newest first",
		Long:              historyHelp,
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, args []string) error {
			a.code = runHistory(cmd.Context(), args, a.env, f)
			return nil
		},
	}
	cmd.Flags().StringVar(&f.table, "table", "", "DynamoDB table of the deployer (default $"+TableEnv+")")
	cmd.Flags().IntVarP(&f.limit, "limit", "n", 20, "show at most this many records (0: all)")
	outputFlag(cmd, &f.output)
	cmd.Flags().BoolVarP(&f.verbose, "verbose", "v", false, "show each run's plan")
	return cmd
}

func runHistory(ctx context.Context, args []string, env Env, f historyFlags) int {
	table, problem := historyArgs(args, f)
	if problem != "" {
		return UsageError(env, "history", problem)
	}
	recs, err := readHistory(ctx, env, table, args[0], f.limit)
	if err != nil {
		fmt.Fprintf(env.Stderr, "eventwire history: %v\n", err)
		return ExitError
	}
	switch {
	case f.output == "json":
		if err := writeDocument(env.Stdout, newHistoryDocument(args[0], table, recs)); err != nil {
			fmt.Fprintf(env.Stderr, "eventwire history: %v\n", err)
			return ExitError
		}
	case len(recs) == 0:
		fmt.Fprintf(env.Stdout, "no deployments of %s recorded in table %s\n", records.FunctionKey(args[0]), table)
	default:
		writeHistoryTable(env.Stdout, recs, f.verbose)
	}
	return ExitOK
}

// historyArgs checks history's arguments and flags, and finds the table.
// It returns the table, or what is wrong with them.
func historyArgs(args []string, f historyFlags) (table, problem string) {
	switch {
	case len(args) != 1:
		return "", "want exactly one FUNCTION"
	case strings.TrimSpace(args[0]) == "":
		return "", `FUNCTION is empty (runs of files that named no function are under "-")`
	case args[0] != "-" && records.FunctionKey(args[0]) == "":
		return "", fmt.Sprintf(`FUNCTION %.80q is not a function name or ARN (runs of files that named none, or an invalid one, are under "-")`, args[0])
	case f.limit < 0:
		return "", fmt.Sprintf("-n %d: want 0 (all) or more", f.limit)
	case f.output != "text" && f.output != "json":
		return "", fmt.Sprintf("-o %s: want text or json", f.output)
	}
	table = f.table
	if table == "" {
		table = os.Getenv(TableEnv)
	}
	if table == "" {
		return "", "no table: give --table or set " + TableEnv
	}
	return table, ""
}

// readHistory reads at most limit records of function from table, newest
// first.
func readHistory(ctx context.Context, env Env, table, function string, limit int) ([]records.Record, error) {
	var recs []records.Record
	err := readTable(ctx, env, table, func(store *records.Store) (err error) {
		recs, err = store.History(ctx, function, limit)
		return err
	})
	return recs, err
}

// readTable runs read on the records table; a missing table is reported
// with where to find its name.
func readTable(ctx context.Context, env Env, table string, read func(*records.Store) error) error {
	cfg, err := env.AWSConfig(ctx)
	if err != nil {
		return fmt.Errorf("load AWS configuration: %w", err)
	}
	err = read(records.New(dynamodb.NewFromConfig(cfg), table, records.Options{}))
	var nf *dbtypes.ResourceNotFoundException
	if errors.As(err, &nf) {
		return fmt.Errorf("no table %s in region %s (give the stack's TableName output with --table or $%s): %w", table, cfg.Region, TableEnv, err)
	}
	return err
}

// writeHistoryTable writes the records as a table. Columns are aligned
// over all rows; errors (and with verbose, plans) go below their row,
// outside the columns.
func writeHistoryTable(w io.Writer, recs []records.Record, verbose bool) {
	rows := [][]string{{"STARTED", "DURATION", "TRIGGER", "MODE", "OUTCOME", "CHANGES", "SOURCE"}}
	details := [][]string{nil}
	for _, r := range recs {
		rows = append(rows, []string{
			r.Start.UTC().Format(time.RFC3339), r.Duration.Round(time.Millisecond).String(), string(r.Trigger),
			string(r.Mode), string(r.Outcome), fmt.Sprint(r.Changes), r.Source,
		})
		var d []string
		if r.Caller != "" {
			d = append(d, "  by: "+r.Caller)
		}
		for _, e := range r.Errors {
			d = append(d, "  error: "+e)
		}
		if verbose && r.Plan != "" {
			for _, l := range strings.Split(strings.TrimRight(r.Plan, "\n"), "\n") {
				d = append(d, "  "+l)
			}
		}
		details = append(details, d)
	}
	writeColumns(w, rows, details)
}
