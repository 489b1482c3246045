// Package deployer is the core of the deployer Lambda: it recognises the
// event it was invoked with and hands it to the part registered for its
// kind (the sources: internal/deployer/bucket for S3, branch for
// CodeCommit, pipeline for CodePipeline; the sweep:
// internal/deployer/sweep), and gives the parts what they share: runs
// under a function's lease with their records, the convergence of a
// function to its winning declaration, the validation of files and the
// records of invalid and refused ones, and the settings from the
// environment. It reaches a source's files only through the Reader the
// source registers. It must not import its parts nor the composition
// (internal/deployer/compose), which registers them (internal/layers
// checks).
//
// Validation errors are final: they are recorded and logged, and the
// handler returns nil so that Lambda does not retry. So is AWS refusing
// what the deployer's role may not do (a registration in a target group
// without the tag its policy asks for): recorded as refused, with what the
// operator must do. Other AWS failures are returned, so that Lambda's
// asynchronous retries and the on-failure destination keep the event.
// CodePipeline jobs are always answered.
package deployer

import (
	"context"
	"log/slog"
	"time"

	"github.com/eventwire/eventwire/internal/definition"
	"github.com/eventwire/eventwire/internal/plan"
	"github.com/eventwire/eventwire/internal/records"
)

// Deployer plans and applies definition files (internal/reconcile's
// Reconciler).
type Deployer interface {
	Plan(ctx context.Context, f *definition.File) (*plan.Plan, error)
	// PlanDestroy plans the removal of what eventwire manages for the
	// function; former are the push sources of the last file applied for
	// it (nil when unknown), checked even when the function is gone.
	PlanDestroy(ctx context.Context, ref string, former []definition.PushSource) (*plan.Plan, error)
	Apply(ctx context.Context, p *plan.Plan) error
}

// ParseFunc parses and validates a definition file (definition.Parse).
// It makes no AWS call, so every error it returns is about the file and
// final.
type ParseFunc func(path string, data, functionDef []byte) (*definition.File, error)

// Defaults of Config.
const (
	DefaultLeaseWait       = 60 * time.Second
	DefaultDeadlineReserve = 10 * time.Second
)

// Config is what a Handler needs. Deployer, Store and Parse are required.
// The sources' and the sweep's configurations are theirs (see
// internal/deployer/compose).
type Config struct {
	Deployer Deployer
	Store    *records.Store
	Parse    ParseFunc

	Logger *slog.Logger
	// LeaseDuration is how long a function's lease lasts unless released,
	// and never less than until the invocation's deadline (plus a few
	// seconds), so that it cannot expire under a running apply. If zero:
	// until that deadline, or records.DefaultLeaseDuration without one.
	LeaseDuration time.Duration
	// LeaseWait bounds how long a run waits for a function's lease held by
	// another run before it fails (to be retried).
	LeaseWait time.Duration
	// DeadlineReserve is the time kept before the Lambda deadline to answer
	// a CodePipeline job (with a continuation token if work remains), or
	// to record a run cut short and return its error.
	DeadlineReserve time.Duration
	// Now is the clock; time.Now if nil.
	Now func() time.Time
	// FunctionPrefix, if set, is the name prefix of the functions the
	// deployer may wire (the stack scopes its IAM policy to it); Self is
	// the deployer's own name. A file naming a function outside the
	// prefix, or the deployer, is invalid: final, not an AccessDenied to
	// retry.
	FunctionPrefix string
	Self           string
	// Policy, if set, gives what definition files may point at: files are
	// then parsed with it (definition.Policy.Parse) instead of Parse. An
	// error getting it (the deployer's own account, from STS) is an AWS
	// failure, retried.
	Policy func(ctx context.Context) (*definition.Policy, error)
	// KeyPrefixFunctions maps key prefixes of the definitions bucket to
	// function name prefixes (EnvKeyPrefixFunctions): an S3 file under a
	// mapped prefix naming a function outside the prefix it maps to is
	// invalid, like one outside FunctionPrefix.
	KeyPrefixFunctions map[string]string
	// TeardownGrace is how long a function that a removal left undeclared
	// stays wired before it is torn down (EnvTeardownGraceSeconds), when a
	// TeardownDeferrer is registered (OnDeferTeardown); zero, or without
	// one: at once (see teardown.go).
	TeardownGrace time.Duration
}

// leaseMargin is added to the time left in an invocation to make the
// default lease length: clocks of Lambda and DynamoDB differ a little.
const leaseMargin = 5 * time.Second

// Handler handles the deployer's invocations.
type Handler struct {
	cfg Config
	log *slog.Logger
	now func() time.Time
	// The parts registered (parts.go).
	events      map[Event]EventHandler
	batch       BatchHandler
	readers     map[string]Reader
	readerOrder []Reader
	deferrer    TeardownDeferrer
}

// New returns a Handler, with no part registered yet (see On, OnBatch,
// AddReader).
func New(cfg Config) *Handler {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.LeaseWait <= 0 {
		cfg.LeaseWait = DefaultLeaseWait
	}
	if cfg.DeadlineReserve <= 0 {
		cfg.DeadlineReserve = DefaultDeadlineReserve
	}
	return &Handler{cfg: cfg, log: cfg.Logger, now: cfg.Now, events: map[Event]EventHandler{}, readers: map[string]Reader{}}
}
