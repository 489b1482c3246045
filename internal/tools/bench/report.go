package bench

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/eventwire/eventwire/internal/aws/quota"
	"github.com/eventwire/eventwire/internal/testkit/faultproxy"
)

// writes counts the calls of a snapshot that may change what eventwire
// wires: those in a quota bucket (the deployer's own table, bucket and
// queue are not).
func writes(s faultproxy.Snapshot) int {
	n := 0
	for c, counts := range s.Calls {
		if faultproxy.DefaultBucket(c) == "" {
			continue
		}
		if !strings.HasPrefix(c.Operation, "Get") && !strings.HasPrefix(c.Operation, "List") && !strings.HasPrefix(c.Operation, "Describe") {
			n += counts.Calls
		}
	}
	return n
}

func secs(d time.Duration) string { return fmt.Sprintf("%.1f s", d.Seconds()) }

// Write writes the report as Markdown tables (BENCHMARKS.md's body, and
// the bench's output), the parts that ran; its last line is the bulk
// apply's ratio.
func (r *Report) Write(w io.Writer) {
	m := r.Machine
	fmt.Fprintf(w, "Machine: %s, %d cores, %s, %s.\n\n", m.CPU, m.Cores, m.Go, m.OS)
	if r.Bulk.First.wall > 0 {
		r.writeBulk(w)
	}
	if p := r.Parse; p.Files > 0 {
		fmt.Fprintf(w, "\n## 2. Parse + validate\n\n%d files (%s), parsed and validated from memory %d times in %s: **%.0f files/s, %.1f MB/s**.\n",
			p.Files, p.CorpusSource, p.Parsed, secs(p.Elapsed), p.FilesPerSec, p.MBPerSec)
	}
	if s := r.Startup; s.Deployer > 0 {
		fmt.Fprintf(w, "\n## 3. Start-up\n\nFrom exec to the first request for an event to the Runtime API, median of %d each, interleaved: "+
			"the deployer %.1f ms, a hello-world that loads the same configuration and constructs the same 9 SDK clients %.1f ms: **ratio %.2f**.\n",
			r.Options.Starts, ms(s.Deployer), ms(s.SameClients), s.Ratio())
	}
	if r.Sweep.Checks.wall > 0 {
		r.writeSweep(w)
	}
	fmt.Fprintln(w)
	if r.Sweep.Checks.wall > 0 {
		fmt.Fprintf(w, "sweep ratio-to-quota-bound: %.2f\n", r.Sweep.Ratio())
	}
	if r.Bulk.First.wall > 0 {
		fmt.Fprintf(w, "bulk-apply ratio-to-quota-bound: %.2f\n", r.Bulk.Ratio())
	}
}

func (r *Report) writeBulk(w io.Writer) {
	o, b := r.Options, r.Bulk
	fmt.Fprintf(w, "## 1. Bulk apply\n\n%d functions, each with one SQS mapping, one target group and one route of one shared HTTP API, "+
		"through a proxy in front of moto that enforces AWS's quota buckets with AWS's throttling answers and adds %v to every call.\n\n",
		o.Functions, o.Latency)
	fmt.Fprintln(w, "| bucket | quota (rate/s:burst) | fewest calls | first apply: calls | throttled | no-op: calls |")
	fmt.Fprintln(w, "| --- | --- | ---: | ---: | ---: | ---: |")
	q := quotasUsed()
	for _, name := range quota.Names {
		first, noop := b.First.counts.Buckets[name], b.NoOp.counts.Buckets[name]
		fmt.Fprintf(w, "| %s | %g:%d | %d | %d | %d | %d |\n", name, q[name].Rate, q[name].Burst, b.Fewest[name], first.Calls, first.Throttled, noop.Calls)
	}
	actual, actualBucket := bound(buckets(b.First.counts), q)
	noopPer := float64(b.NoOp.counts.Total.Calls) / float64(o.Functions)
	fmt.Fprintf(w, "\n| run | wall time | result |\n| --- | ---: | --- |\n")
	fmt.Fprintf(w, "| first apply | %s | %s; quota bound of the fewest calls %.1f s (%s), of the calls made %.1f s (%s); **ratio %.2f** |\n",
		secs(b.First.wall), b.First.summary, b.Bound, b.BoundBucket, actual, actualBucket, b.Ratio())
	fmt.Fprintf(w, "| no-op apply | %s | %d calls, %.2f per function (minimum %.2f), %d writes |\n",
		secs(b.NoOp.wall), b.NoOp.counts.Total.Calls, noopPer, float64(b.NoOpFewest)/float64(o.Functions), writes(b.NoOp.counts))
	f := b.Faulty.counts.Total
	fmt.Fprintf(w, "| apply with faults | %s | %s; %.0f%% of calls faulted: %d answered 500/503, %d connections dropped, %d throttled; %.2f× the first apply's time |\n",
		secs(b.Faulty.wall), b.Faulty.summary, 100*o.FaultRate, f.Errors, f.Dropped, f.Throttled, b.Faulty.wall.Seconds()/b.First.wall.Seconds())
	fmt.Fprintf(w, "| plan after the faults | %s | %s (exit %d: %s); %d mappings for %d functions |\n",
		secs(b.After.wall), b.After.summary, b.After.code, converged(b.After.code), b.Mappings, o.Functions)
}

func (r *Report) writeSweep(w io.Writer) {
	s := r.Sweep
	fmt.Fprintf(w, "\n## 4. Drift sweep\n\n%d functions, each with one SQS mapping, one target group and one route of an HTTP API shared by %d functions, all in sync (their files applied through their S3 events beforehand, "+
		"straight to moto, in %s), swept through the same proxy as the stack sweeps: the schedule's invocation enqueues one message per function, "+
		"then %d invocations at once (the deployer mapping's MaximumConcurrency) receive batches of up to 10 and check each function alone, "+
		"each pacing its calls at %g / %d of every bucket: together at most %g of AWS's quotas.\n\n",
		s.Functions, sweepRoutesPerAPI, secs(s.Setup), s.Concurrency, s.Share, s.Concurrency, s.Share)
	fmt.Fprintln(w, "| bucket | sweep's share (rate/s:burst) | fewest calls | calls | per function (no-op minimum) | throttled |")
	fmt.Fprintln(w, "| --- | --- | ---: | ---: | ---: | ---: |")
	made, fewest := 0, 0
	for _, name := range quota.Names {
		c, q := s.Checks.counts.Buckets[name], s.Quotas[name]
		made, fewest = made+c.Calls, fewest+s.Fewest[name]
		fmt.Fprintf(w, "| %s | %g:%d | %d | %d | %.2f (%.2f) | %d |\n", name, q.Rate, q.Burst, s.Fewest[name], c.Calls,
			float64(c.Calls)/float64(s.Functions), float64(s.Fewest[name])/float64(s.Functions), c.Throttled)
	}
	e := buckets(s.Enqueue.counts)
	fmt.Fprintf(w, "\n| step | wall time | result |\n| --- | ---: | --- |\n")
	fmt.Fprintf(w, "| the schedule's invocation | %s | the bucket's files compared with the index (to catch up missed events), then %d messages enqueued; calls in Lambda's bucket: %d (the managed mappings listed, to find orphans) |\n",
		secs(s.Enqueue.wall), s.Functions, e[quota.Lambda])
	fmt.Fprintf(w, "| the checks | %s | %d batches; %d calls in quota buckets, %.2f per function (no-op minimum %.2f), %d writes; "+
		"metric lines: FunctionsChecked %g, DriftedFunctions %g, OrphanedResources %g; `eventwire drift`: %s, exit %d |\n",
		secs(s.Checks.wall), s.Batches, made, float64(made)/float64(s.Functions), float64(fewest)/float64(s.Functions), writes(s.Checks.counts),
		s.Metrics.FunctionsChecked, s.Metrics.DriftedFunctions, s.Metrics.OrphanedResources, statuses(s.Status), s.DriftExit)
	fmt.Fprintf(w, "| the sweep | %s | quota bound of the fewest calls at the sweep's share %.1f s (%s); **ratio %.2f** |\n",
		secs(s.Wall()), s.Bound, s.BoundBucket, s.Ratio())
}

// statuses is "N in-sync, M drifted", sorted by status.
func statuses(n map[string]int) string {
	var parts []string
	for _, st := range slices.Sorted(maps.Keys(n)) {
		parts = append(parts, fmt.Sprintf("%d %s", n[st], st))
	}
	if len(parts) == 0 {
		return "no functions"
	}
	return strings.Join(parts, ", ")
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func converged(code int) string {
	if code == 0 {
		return "no changes: converged"
	}
	return "changes left: not converged"
}
