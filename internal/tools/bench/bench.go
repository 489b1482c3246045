// Package bench is `make bench` (cmd/eventwire-bench): eventwire's speed
// measured against the physical limit of a run, AWS's control-plane
// quotas. Every figure comes from the same run:
//
//  1. A bulk apply of n functions (each: one SQS mapping, one target group,
//     one route of one shared HTTP API) through internal/testkit/faultproxy in
//     front of moto, with AWS's quota buckets and a latency per call: the
//     calls per bucket, the wall time, the quota bound of the fewest calls
//     the job needs (for each bucket (calls − burst) / rate, the largest)
//     and the ratio; the same files again (no-op): calls per function
//     against the minimum; then a fresh world with injected 5xx answers
//     and dropped connections: whether it converges, and how much slower.
//  2. Parse + validate throughput.
//  3. The deployer's start-up against a hello-world that links and
//     constructs the same SDK clients (internal/tools/bench/sameclients).
//  4. A drift sweep of functions all in sync, through the deployer's
//     handler as the stack runs it (sweep.go): the calls per function
//     against the no-op minimum, and the wall time against the quota
//     bound at the sweep's share.
//
// A tool, not part of the product: it may import the test kits and every
// product package; nothing but cmd/eventwire-bench imports it.
package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/eventwire/eventwire/internal/testkit/faultproxy"
)

// Options are the bench's settings.
type Options struct {
	Functions int           // functions of the bulk apply
	Latency   time.Duration // added by the proxy to every call
	FaultRate float64       // calls answered 500/503 or dropped, in the faulty apply
	Repo      string        // the repository's root, to build the binaries
	Starts    int           // start-ups measured per binary
	// The sweep's functions, share of the quotas and invocations at once.
	SweepFunctions, SweepConcurrency int
	SweepShare                       float64
	// Only, if not empty, runs one part: "bulk", "parse", "startup" or
	// "sweep".
	Only string
}

// Report is every figure of one run.
type Report struct {
	Machine Machine
	Options Options
	Bulk    Bulk
	Parse   Parse
	Startup Startup
	Sweep   Sweep
}

// Run runs the three parts.
func Run(ctx context.Context, o Options, progress func(string)) (*Report, error) {
	rep := &Report{Machine: machine(), Options: o}
	tmp, err := os.MkdirTemp("", "eventwire-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	part := func(name string) bool { return o.Only == "" || o.Only == name }
	if part("bulk") {
		progress("bulk apply: starting moto and the proxy")
		if rep.Bulk, err = bulk(ctx, o, tmp, progress); err != nil {
			return nil, fmt.Errorf("bulk apply: %w", err)
		}
	}
	if part("parse") {
		progress("parse + validate")
		if rep.Parse, err = parseThroughput(filepath.Join(tmp, "first"), filepath.Join(o.Repo, "examples")); err != nil {
			return nil, fmt.Errorf("parse: %w", err)
		}
	}
	if part("startup") {
		progress("start-up: building the deployer and the same-clients hello-world")
		if rep.Startup, err = startup(ctx, o, tmp); err != nil {
			return nil, fmt.Errorf("start-up: %w", err)
		}
	}
	if part("sweep") {
		progress("sweep: starting moto and the proxy")
		if rep.Sweep, err = sweep(ctx, o, tmp, progress); err != nil {
			return nil, fmt.Errorf("sweep: %w", err)
		}
	}
	return rep, nil
}

// Bulk is part 1.
type Bulk struct {
	First, NoOp, Faulty, After run
	Fewest                     map[string]int // fewest calls of the first apply, per bucket
	Bound                      float64        // their quota bound, in seconds
	BoundBucket                string
	NoOpFewest                 int // fewest calls of the no-op apply
	Mappings                   int // mappings after the faulty apply (want Functions)
}

// Ratio is the first apply's wall time over the quota bound.
func (b Bulk) Ratio() float64 { return b.First.wall.Seconds() / b.Bound }

func bulk(ctx context.Context, o Options, tmp string, progress func(string)) (Bulk, error) {
	var b Bulk
	l, err := startLab(ctx, o)
	if err != nil {
		return b, err
	}
	defer l.stop()
	p, direct := l.proxy, l.direct
	progress(fmt.Sprintf("bulk apply: creating %d functions, queues, target groups and routes on moto", o.Functions))
	w, err := createWorld(ctx, direct, o.Functions, o.Functions, filepath.Join(tmp, "first"))
	if err != nil {
		return b, err
	}
	b.Fewest, b.NoOpFewest = fewestFirstApply(o.Functions), fewestNoOp(o.Functions)
	b.Bound, b.BoundBucket = bound(b.Fewest, quotasUsed())
	progress("bulk apply: first apply")
	if b.First, err = cliRun(ctx, p, "apply", "--yes", w.dir); err != nil {
		return b, err
	}
	time.Sleep(refill)
	progress("bulk apply: the same files again (no-op)")
	if b.NoOp, err = cliRun(ctx, p, "apply", "--yes", w.dir); err != nil {
		return b, err
	}
	return b, faulty(ctx, o, &b, p, l.moto.URL, direct, tmp, progress)
}

// refill is the pause between two runs, long enough for every quota
// bucket to refill (the largest burst / rate is 4 s), as between two CI
// jobs.
const refill = 4 * time.Second

// faulty applies a fresh world with faults injected, then plans it again
// without faults: it converged if that plan has no changes and moto holds
// one mapping per function.
func faulty(ctx context.Context, o Options, b *Bulk, p *faultproxy.Proxy, motoURL string, direct aws.Config, tmp string, progress func(string)) error {
	if err := resetMoto(motoURL); err != nil {
		return err
	}
	progress("bulk apply: a fresh world for the apply with faults")
	w, err := createWorld(ctx, direct, o.Functions, o.Functions, filepath.Join(tmp, "faulty"))
	if err != nil {
		return err
	}
	time.Sleep(refill)
	share := o.FaultRate / 3
	p.SetFaults(faultproxy.Faults{Error500: share, Error503: share, Drop: share, Seed: 10})
	progress(fmt.Sprintf("bulk apply: apply with %.0f%% of calls answered 500 or 503 or dropped", 100*o.FaultRate))
	b.Faulty, err = cliRun(ctx, p, "apply", "--yes", w.dir)
	p.SetFaults(faultproxy.Faults{})
	if err != nil {
		return err
	}
	time.Sleep(refill)
	progress("bulk apply: plan after the apply with faults (no faults)")
	if b.After, err = cliRun(ctx, p, "plan", "--detailed-exitcode", w.dir); err != nil {
		return err
	}
	b.Mappings, err = countMappings(ctx, motoURL)
	return err
}
