// Package compose assembles the deployer: the core (internal/deployer)
// with its parts registered on it: the S3 source (internal/deployer/bucket)
// for the definitions bucket's notifications, the CodeCommit source
// (internal/deployer/branch) for pushes, the CodePipeline source
// (internal/deployer/pipeline) for jobs, and the sweep
// (internal/deployer/sweep) for the scheduled invocation and the sweep
// queue's batches. It owns no logic of its own, only the wiring and the
// AWS clients of each part; it is the one package that imports the core
// and every part, and neither the core nor a part may import it (tests
// and mains do; internal/layers checks).
package compose

import (
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/eventwire/eventwire/internal/aws/lazy"
	"github.com/eventwire/eventwire/internal/definition"
	"github.com/eventwire/eventwire/internal/deployer"
	"github.com/eventwire/eventwire/internal/deployer/branch"
	"github.com/eventwire/eventwire/internal/deployer/bucket"
	"github.com/eventwire/eventwire/internal/deployer/pipeline"
	"github.com/eventwire/eventwire/internal/deployer/sweep"
	"github.com/eventwire/eventwire/internal/records"
)

// Config is the deployer's configuration: the core's, and each part's.
type Config struct {
	deployer.Config
	// S3 is the S3 source's: its client and the definitions bucket.
	S3 bucket.Config
	// CodeCommit is the CodeCommit source's: its client, the repository
	// and branches accepted.
	CodeCommit branch.Config
	// CodePipeline is the CodePipeline source's: its client, the builder
	// of artifact clients, the artifacts' limits.
	CodePipeline pipeline.Config
	// Sweep is drift detection's: the sweep queue, heal mode, metrics.
	Sweep sweep.Config
}

// Handler is the deployer's handler (Invoke, Handle) with its parts.
type Handler struct {
	*deployer.Handler
	// Sweep is the sweep registered (to pace it, or read its metrics).
	Sweep *sweep.Sweep
}

// New returns the deployer's handler with every part registered.
func New(cfg Config) *Handler {
	h := deployer.New(cfg.Config)
	bk := bucket.New(h, cfg.S3)
	h.On(deployer.EventS3, bk)
	h.AddReader(records.KindS3, bk)
	cc := branch.New(h, cfg.CodeCommit)
	h.On(deployer.EventCodeCommit, deployer.EventFunc(cc.HandleTrigger))
	h.On(deployer.EventCodeCommitChange, deployer.EventFunc(cc.HandleChange))
	h.AddReader(records.KindCodeCommit, cc)
	h.On(deployer.EventCodePipeline, pipeline.New(h, cfg.CodePipeline))
	h.AddReader(records.KindPipeline, deployer.NewStoredReader(h, records.TriggerCodePipeline))
	h.AddReader(records.KindCLI, deployer.NewStoredReader(h, records.TriggerCLI))
	sw := sweep.New(h, cfg.Sweep)
	h.On(deployer.EventSweep, sw)
	h.OnBatch(sw)
	if sw.Defers() {
		h.OnDeferTeardown(sw)
	}
	return &Handler{Handler: h, Sweep: sw}
}

// NewFromConfig builds the deployer's handler on an AWS configuration:
// the SDK clients of every part (each made on its first call), the
// records table of s, and d (the reconciler). s3Opts apply to both S3
// clients (path-style addressing for an emulator, for instance).
func NewFromConfig(cfg aws.Config, d deployer.Deployer, s deployer.Settings, log *slog.Logger, s3Opts ...func(*s3.Options)) *Handler {
	return New(Config{
		Config: deployer.Config{
			Deployer:           d,
			Store:              records.New(lazy.NewDynamoDB(cfg), s.Table, records.Options{}),
			Parse:              definition.Parse,
			Logger:             log,
			LeaseDuration:      s.LeaseDuration,
			FunctionPrefix:     s.FunctionPrefix,
			KeyPrefixFunctions: s.KeyPrefixFunctions,
			Self:               s.Self,
			TeardownGrace:      s.TeardownGrace,
			Policy:             s.Policy(cfg.Region, lazy.NewSTS(cfg)),
		},
		S3:           bucket.Config{API: lazy.NewS3(cfg, s3Opts...), Bucket: s.Bucket},
		CodeCommit:   branch.Config{API: lazy.NewCodeCommit(cfg), Repository: s.Repository, Branches: s.Branches},
		CodePipeline: pipeline.Config{API: lazy.NewCodePipeline(cfg), ArtifactS3: pipeline.NewArtifactS3(cfg, s3Opts...)},
		Sweep: sweep.Config{
			QueueARN: s.SweepQueueARN, QueueURL: s.SweepQueueURL, Heal: s.DriftHeal,
			SQS:      lazy.NewSQS(cfg),
			Mappings: lazy.NewMappings(cfg),
		},
	})
}
