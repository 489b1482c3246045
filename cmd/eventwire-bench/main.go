// Command eventwire-bench is `make bench`: it measures eventwire against
// AWS's quotas (see internal/tools/bench), prints the figures, and writes them to
// BENCHMARKS.md. Run it from the repository's root; moto_server must be
// installed.
//
// A thin main over internal/tools/bench, which it imports with the
// contract; nothing imports it.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/eventwire/eventwire/internal/contract"
	"github.com/eventwire/eventwire/internal/tools/bench"
)

const header = `# Benchmarks

Written by ` + "`make bench`" + ` (cmd/eventwire-bench, internal/tools/bench); every figure
below comes from the same run. See docs/speed.md for what they show.

`

func main() {
	o := bench.Options{}
	flag.IntVar(&o.Functions, "functions", 200, "functions of the bulk apply")
	flag.DurationVar(&o.Latency, "latency", 20*time.Millisecond, "latency the proxy adds to every call")
	flag.Float64Var(&o.FaultRate, "faults", 0.10, "fraction of calls answered 500/503 or dropped in the apply with faults")
	flag.StringVar(&o.Repo, "repo", ".", "the repository's root")
	flag.IntVar(&o.Starts, "starts", 21, "start-ups measured per binary")
	flag.IntVar(&o.SweepFunctions, "sweep-functions", 1000, "functions of the drift sweep")
	flag.Float64Var(&o.SweepShare, "sweep-share", contract.DefaultSweepShare, "the sweep's share of each quota bucket (the stack's sweepShare)")
	flag.IntVar(&o.SweepConcurrency, "sweep-concurrency", contract.DefaultSweepConcurrency, "sweep invocations at once (the stack's sweepConcurrency)")
	flag.StringVar(&o.Only, "only", "", "run one part only: bulk, parse, startup or sweep (for a quick look; the report needs all four)")
	out := flag.String("o", "BENCHMARKS.md", "the file to write (empty: none)")
	flag.Parse()
	rep, err := bench.Run(context.Background(), o, func(s string) { fmt.Fprintln(os.Stderr, "bench:", s) })
	if err != nil {
		fmt.Fprintln(os.Stderr, "eventwire-bench:", err)
		os.Exit(1)
	}
	var buf bytes.Buffer
	rep.Write(&buf)
	os.Stdout.Write(buf.Bytes())
	if *out != "" {
		if err := os.WriteFile(*out, append([]byte(header), buf.Bytes()...), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "eventwire-bench:", err)
			os.Exit(1)
		}
	}
}
