package cli

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/spf13/cobra"

	"github.com/eventwire/eventwire/internal/aws/quota"
	"github.com/eventwire/eventwire/internal/reconcile"
	"github.com/eventwire/eventwire/internal/reconcile/pull"
	"github.com/eventwire/eventwire/internal/reconcile/push"
)

// DefaultParallel bounds how many functions are planned or applied at once.
// It is high enough that the pacer (--rate-*), which keeps every call under
// AWS's control-plane quotas, bounds a bulk run, not the number of workers:
// a worker mostly waits for a call's answer, and 32 of them keep each
// quota busy at AWS's latencies.
const DefaultParallel = 32

// DefaultWaitTimeout bounds each wait for an event source mapping to leave
// a transitional state.
const DefaultWaitTimeout = 5 * time.Minute

// deployFlags are the flags plan, apply and destroy share.
type deployFlags struct {
	rates         map[string]*string // quota bucket -> --rate-BUCKET
	wait          time.Duration
	parallel      int
	yes           bool
	output        string
	detailed      bool
	verbose       bool
	debug         bool
	allowTakeover bool
	// table and leaseWait: apply and destroy only.
	table     string
	leaseWait time.Duration
	// source is the declaring source's name with a table (declare.go).
	source string
	allow  allowFlags // plan and apply
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
			if err := d.check(name); err != nil {
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
with its kind (create, update, replace, delete, adopt, leave-alone,
conflict), the resource, and for an update the fields that change.
Nothing is changed.

Resources eventwire does not own (an event source mapping made by hand or
by another tool, that the file does not declare) are shown as left alone;
they are information, not changes.

A target group that serves another target, or a route that points at an
integration eventwire did not create for the function, is a conflict
naming its current owner: apply would change nothing for that function,
and plan exits 1. With --allow-takeover the plan takes it over instead
(a replace: the other target deregistered, the route re-pointed).

With -o json the same plan is printed as one JSON document (format_version,
per function the resolved function, each action's kind, resource, id,
reason and changes with typed before and after values, null when absent);
schema/output.schema.json in the repository describes it.

` + allowHelp + `

Examples:
  eventwire plan examples/
  eventwire plan --detailed-exitcode -o json orders/`

const applyHelp = `Validates every definition file first (a bad file changes nothing), plans
each function as 'eventwire plan' does, prints the plan, asks for
confirmation on a terminal, then applies the changes. Functions are
worked on concurrently (--parallel); a failure in one does not stop the
others, and the exit status is 1 if any failed. Applying the same files
again changes nothing.

A function whose plan holds a conflict (a target group or route held by
something eventwire does not own for it) is not applied at all, and counts
as failed; --allow-takeover takes such sources over.

Without a terminal (CI), and with -o json, --yes is required. With -o
json nothing but one JSON document is printed on standard output: the
plan and each function's outcome (applied, failed, no-changes,
not-planned, not-applied, conflict).

` + allowHelp + `

An interrupt (Ctrl-C) starts nothing new: functions being applied are
finished (a second interrupt cancels their calls), the rest are left, the
run says which, and the exit status is 130.

Examples:
  eventwire apply examples/
  eventwire apply --yes orders/_lambdaeventsourcedef.json
  eventwire apply --allow-takeover orders/`

// allowHelp is what plan and apply say of the allowlists.
const allowHelp = `Every file is first checked against the allowlists: the account and
region of every ARN it names (default: those of your credentials, found
with STS GetCallerIdentity), the S3 buckets its destinations name and the
self-managed Kafka hosts and schema registries it names (default: none).
Set them with the flags below or in ` + ConfigFileName + ` (or --config FILE):
  {"allowedAccounts": ["123456789012"], "allowedRegions": ["us-east-1"],
   "allowedBuckets": ["audit-failures"], "kafkaHosts": ["*.kafka.internal:9092"]}
A flag wins over the file. "*" allows anything.`

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
	d.rates = map[string]*string{}
	defaults := quota.Defaults()
	for _, b := range quota.Names {
		q := defaults[b]
		d.rates[b] = fs.String("rate-"+b, "", fmt.Sprintf(
			"pace %s calls at `RATE[:BURST]` requests a second, or off (default %g:%d, or $%s)", b, q.Rate, q.Burst, quota.EnvName(b)))
	}
	fs.BoolVarP(&d.verbose, "verbose", "v", false, "log each AWS change on standard error")
	fs.BoolVar(&d.debug, "debug", false, "print the AWS SDK's whole error chain under each error")
	outputFlag(cmd, &d.output)
	if name != "destroy" {
		d.allow.register(cmd)
		fs.BoolVar(&d.allowTakeover, "allow-takeover", false,
			"take over target groups and routes that eventwire does not own (without it: a conflict, nothing applied)")
	}
	switch name {
	case "plan":
		fs.BoolVar(&d.detailed, "detailed-exitcode", false, "exit 0 when there is nothing to change, 2 when there are changes, 1 on error")
	default:
		fs.BoolVar(&d.yes, "yes", false, "apply without asking for confirmation")
		fs.StringVar(&d.table, "table", "", "DynamoDB table of the deployer: take its per-function lease and record the run (default $"+TableEnv+")")
		fs.DurationVar(&d.leaseWait, "lease-wait", DefaultLeaseWait, "with a table, how long to wait for a function's lease held by someone else")
		fs.StringVar(&d.source, "source", DefaultSource, "with a table, the name under which this run declares its functions: another source declaring one is a conflict, and destroy removes this source's declarations")
		fs.DurationVar(&d.wait, "wait-timeout", DefaultWaitTimeout, "how long to wait for each event source mapping to leave Creating, Updating or Deleting")
	}
}

// check refuses flag values out of range, and a JSON apply or destroy
// that would ask for confirmation: its reader is a program, which cannot
// answer (even on a terminal).
func (d *deployFlags) check(name string) error {
	if name != "plan" && d.output == "json" && !d.yes {
		return fmt.Errorf("-o json needs --yes: a run that prints JSON for a program does not ask for confirmation")
	}
	if d.parallel < 1 {
		return fmt.Errorf("--parallel %d: want 1 or more", d.parallel)
	}
	if name != "plan" && d.source == "" {
		return fmt.Errorf("--source: want a name")
	}
	if d.leaseWait < 0 {
		return fmt.Errorf("--lease-wait %s: want 0 or more", d.leaseWait)
	}
	return checkOutput(d.output)
}

// pacer returns the pacer of the command's calls: AWS's quotas, changed by
// the environment (EVENTWIRE_RATE_*) and then the --rate-* flags.
func (d *deployFlags) pacer(env Env) (*quota.Pacer, error) {
	getenv := env.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	q, err := quota.FromEnv(getenv)
	if err != nil {
		return nil, err
	}
	for _, b := range quota.Names {
		if err := quota.Set(q, b, *d.rates[b]); err != nil {
			return nil, fmt.Errorf("--rate-%s: %w", b, err)
		}
	}
	return quota.NewPacer(q), nil
}

func (d *deployFlags) reconciler(ctx context.Context, env Env) (*reconcile.Reconciler, aws.Config, error) {
	pacer, err := d.pacer(env)
	if err != nil {
		return nil, aws.Config{}, err
	}
	cfg, err := env.AWSConfig(ctx)
	if err != nil {
		return nil, cfg, fmt.Errorf("load AWS configuration: %w", err)
	}
	level := slog.LevelWarn
	if d.verbose {
		level = slog.LevelInfo
	}
	log := slog.New(slog.NewTextHandler(env.Stderr, &slog.HandlerOptions{Level: level}))
	return reconcile.New(cfg, reconcile.Options{Logger: log, Pacer: pacer,
		Pull: pull.Options{WaitTimeout: d.wait}, Push: push.Options{AllowTakeover: d.allowTakeover}}), cfg, nil
}
