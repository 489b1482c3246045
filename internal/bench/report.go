package bench

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/eventwire/eventwire/internal/faultproxy"
	"github.com/eventwire/eventwire/internal/quota"
)

// writes counts the calls of a snapshot that may change AWS.
func writes(s faultproxy.Snapshot) int {
	n := 0
	for c, counts := range s.Calls {
		if !strings.HasPrefix(c.Operation, "Get") && !strings.HasPrefix(c.Operation, "List") && !strings.HasPrefix(c.Operation, "Describe") {
			n += counts.Calls
		}
	}
	return n
}

func secs(d time.Duration) string { return fmt.Sprintf("%.1f s", d.Seconds()) }

// Write writes the report as Markdown tables (BENCHMARKS.md's body, and
// the bench's output); its last line is the bulk apply's ratio.
func (r *Report) Write(w io.Writer) {
	m, o, b := r.Machine, r.Options, r.Bulk
	fmt.Fprintf(w, "Machine: %s, %d cores, %s, %s.\n\n", m.CPU, m.Cores, m.Go, m.OS)
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
	p := r.Parse
	fmt.Fprintf(w, "\n## 2. Parse + validate\n\n%d files (%s), parsed and validated from memory %d times in %s: **%.0f files/s, %.1f MB/s**.\n",
		p.Files, p.CorpusSource, p.Parsed, secs(p.Elapsed), p.FilesPerSec, p.MBPerSec)
	s := r.Startup
	fmt.Fprintf(w, "\n## 3. Start-up\n\nFrom exec to the first request for an event to the Runtime API, median of %d each, interleaved: "+
		"the deployer %.1f ms, a hello-world that loads the same configuration and constructs the same 9 SDK clients %.1f ms: **ratio %.2f**.\n\n",
		o.Starts, ms(s.Deployer), ms(s.SameClients), s.Ratio())
	fmt.Fprintf(w, "bulk-apply ratio-to-quota-bound: %.2f\n", b.Ratio())
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func converged(code int) string {
	if code == 0 {
		return "no changes: converged"
	}
	return "changes left: not converged"
}
