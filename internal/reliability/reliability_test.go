package reliability

import (
	"fmt"
	"strings"
	"testing"

	"github.com/eventwire/eventwire/internal/aws/quota"
	"github.com/eventwire/eventwire/internal/testkit/faultproxy"
)

func startProxy(t *testing.T, w *world, cfg faultproxy.Config) *faultproxy.Proxy {
	t.Helper()
	p, err := faultproxy.Start(w.moto.URL, cfg)
	must(t, err)
	t.Cleanup(func() { p.Close() })
	return p
}

// TestThrottlingStorm: quotas far below AWS's and eventwire's pacer off,
// so that most calls are throttled with AWS's own answers: the SDK's
// adaptive retry carries every function through.
func TestThrottlingStorm(t *testing.T) {
	w := newWorld(t, 6)
	tight := map[string]quota.Quota{}
	for _, b := range quota.Names {
		tight[b] = quota.Quota{Rate: 8, Burst: 2}
	}
	p := startProxy(t, w, faultproxy.Config{Quotas: tight})
	args := []string{"apply", "--yes"}
	for _, b := range quota.Names {
		args = append(args, "--rate-"+b+"=off")
	}
	code, out, errOut := eventwire(t, p, append(args, w.dir)...)
	if code != 0 {
		t.Fatalf("apply under a throttling storm: exit %d:\n%s%s", code, out, errOut)
	}
	if n := p.Snapshot().Total.Throttled; n == 0 {
		t.Errorf("no call was throttled: the storm did not happen")
	}
	w.checkWired(t, 10)
	w.converged(t, p)
}

// TestServerErrorBursts: bursts of 500 and 503 answers from every service,
// then a fifth of the calls at random: retried, every function applied.
func TestServerErrorBursts(t *testing.T) {
	w := newWorld(t, 6)
	p := startProxy(t, w, faultproxy.Config{Quotas: map[string]quota.Quota{},
		Faults: faultproxy.Faults{Error500: 0.1, Error503: 0.1, Seed: 3}})
	p.FailNext(faultproxy.Call{Service: "lambda"}, faultproxy.Error503, 5)
	p.FailNext(faultproxy.Call{Service: "apigateway"}, faultproxy.Error500, 5)
	p.FailNext(faultproxy.Call{Service: "elasticloadbalancing"}, faultproxy.Error503, 5)
	code, out, errOut := eventwire(t, p, "apply", "--yes", w.dir)
	if code != 0 {
		t.Fatalf("apply under 5xx bursts: exit %d:\n%s%s", code, out, errOut)
	}
	if n := p.Snapshot().Total.Errors; n < 15 {
		t.Errorf("%d calls answered 5xx, want at least the 15 of the bursts", n)
	}
	p.SetFaults(faultproxy.Faults{})
	w.checkWired(t, 10)
	w.converged(t, p)
}

// TestDroppedConnections: connections dropped before the call reaches AWS
// and after it took effect (the answer lost). A create whose answer was
// lost and that the SDK sent again makes a duplicate on moto (AWS answers
// it with a conflict, which eventwire adopts); either way, the next apply
// converges, with each function wired once.
func TestDroppedConnections(t *testing.T) {
	w := newWorld(t, 6)
	p := startProxy(t, w, faultproxy.Config{Quotas: map[string]quota.Quota{},
		Faults: faultproxy.Faults{Drop: 0.15, DropAfter: 0.1, Seed: 7}})
	code, out, errOut := eventwire(t, p, "apply", "--yes", w.dir)
	if n := p.Snapshot().Total.Dropped; n == 0 {
		t.Fatalf("no connection was dropped")
	}
	t.Logf("apply with dropped connections: exit %d\n%s%s", code, out, errOut)
	p.SetFaults(faultproxy.Faults{})
	if code, out, errOut := eventwire(t, p, "apply", "--yes", w.dir); code != 0 {
		t.Fatalf("apply after dropped connections: exit %d:\n%s%s", code, out, errOut)
	}
	w.checkWired(t, 10)
	w.converged(t, p)
}

// TestMappingStuckInUpdating: a mapping that reports Updating for longer
// than the wait bound fails its function with an error naming the
// mapping, the bound and its StateTransitionReason; nothing else of the
// function changes, the other functions are applied, and once the mapping
// settles the next apply converges.
func TestMappingStuckInUpdating(t *testing.T) {
	w := newWorld(t, 3)
	p := startProxy(t, w, faultproxy.Config{Quotas: map[string]quota.Quota{}})
	if code, out, errOut := eventwire(t, p, "apply", "--yes", w.dir); code != 0 {
		t.Fatalf("first apply: exit %d:\n%s%s", code, out, errOut)
	}
	for i := range w.fns {
		w.write(t, fmt.Sprintf("f%d", i), w.tgs[i], w.queues[i], w.routes[i], 5)
	}
	stuck := w.mappingOf(t, 1)
	p.SetMappingState(stuck, faultproxy.MappingState{State: "Updating", Reason: "USER_INITIATED", Reads: -1})
	code, out, errOut := eventwire(t, p, "apply", "--yes", "--wait-timeout", "2s", w.dir)
	if code != 1 {
		t.Fatalf("apply with a stuck mapping: exit %d, want 1:\n%s%s", code, out, errOut)
	}
	want := "event source mapping " + stuck + " still Updating after 2s: USER_INITIATED"
	if !strings.Contains(errOut, want) || !strings.Contains(errOut, "f1") {
		t.Errorf("error output does not name f1 and contain %q:\n%s", want, errOut)
	}
	if !strings.Contains(out, "1 failed") {
		t.Errorf("summary does not count one failure:\n%s", out)
	}
	w.checkBatch(t, map[int]int32{0: 5, 1: 10, 2: 5})
	p.ClearMappingState(stuck)
	if code, out, errOut := eventwire(t, p, "apply", "--yes", w.dir); code != 0 {
		t.Fatalf("apply once the mapping settled: exit %d:\n%s%s", code, out, errOut)
	}
	w.checkWired(t, 5)
	w.converged(t, p)
}
