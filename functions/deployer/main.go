// Command deployer is eventwire's Lambda function: it applies definition
// files uploaded to S3, pushed to CodeCommit or handed over by a
// CodePipeline Invoke action (see internal/deployer, its parts under it,
// and internal/deployer/compose, which assembles them).
//
// Settings come from the environment: EVENTWIRE_TABLE (required),
// EVENTWIRE_LEASE_SECONDS, EVENTWIRE_FUNCTION_PREFIX,
// EVENTWIRE_ALLOW_TAKEOVER, and what files may point at:
// EVENTWIRE_ALLOWED_ACCOUNTS, EVENTWIRE_ALLOWED_REGIONS,
// EVENTWIRE_ALLOWED_BUCKETS, EVENTWIRE_KAFKA_HOSTS; the drift sweep's:
// EVENTWIRE_SWEEP_QUEUE_ARN, EVENTWIRE_SWEEP_QUEUE_URL, EVENTWIRE_DRIFT_HEAL,
// EVENTWIRE_SWEEP_SHARE, EVENTWIRE_SWEEP_CONCURRENCY; the pacing of AWS
// calls: EVENTWIRE_RATE_* (internal/aws/quota); AWS settings from the SDK's
// standard chain.
//
// A thin main: it imports the deployer's composition and the AWS
// configuration, never the CLI, a tool or a test kit (internal/layers
// checks).
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/eventwire/eventwire/internal/aws/awsconfig"
	"github.com/eventwire/eventwire/internal/aws/quota"
	"github.com/eventwire/eventwire/internal/deployer"
	"github.com/eventwire/eventwire/internal/deployer/compose"
	"github.com/eventwire/eventwire/internal/reconcile"
)

func main() {
	// JSON with the request id when the function's log format is JSON.
	log := lambdacontext.NewLogger()
	slog.SetDefault(log)

	settings, err := deployer.SettingsFromEnv(os.Getenv)
	if err != nil {
		log.Error("deployer settings", "error", err.Error())
		os.Exit(1)
	}
	quotas, err := quota.FromEnv(os.Getenv)
	if err != nil {
		log.Error("deployer settings", "error", err.Error())
		os.Exit(1)
	}
	cfg, err := awsconfig.Load(context.Background())
	if err != nil {
		log.Error("load AWS configuration", "error", err.Error())
		os.Exit(1)
	}
	log.Info("deployer starting", "table", settings.Table, "function_prefix", settings.FunctionPrefix,
		"lease", settings.LeaseDuration.String(), "allow_takeover", settings.AllowTakeover)
	opts := settings.ReconcileOptions(log)
	opts.Pacer = quota.NewPacer(quotas)
	// One run per invocation: shared reads are not kept across events.
	h := compose.NewFromConfig(cfg, reconcile.New(cfg, opts).Runs(), settings, log)
	// The sweep: its own clients, paced at its share of each bucket, so
	// that deployments keep the rest.
	h.Sweep.Pace(cfg, settings.ReconcileOptions(log), quota.NewPacer(settings.SweepQuotas(quotas)))
	lambda.Start(h.Invoke)
}
