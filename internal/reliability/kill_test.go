package reliability

import (
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/eventwire/eventwire/internal/testkit/faultproxy"
)

// buildCLI builds the eventwire binary.
func buildCLI(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "eventwire")
	if out, err := exec.Command("go", "build", "-o", bin, "../../cmd/eventwire").CombinedOutput(); err != nil {
		t.Fatalf("build eventwire: %v\n%s", err, out)
	}
	return bin
}

// TestKilledMidApply runs the real binary, kills it with SIGKILL once the
// proxy has counted the calls of the plan and a few of the apply's, and
// applies again: the second apply converges, nothing is duplicated, and
// what eventwire does not own is untouched.
func TestKilledMidApply(t *testing.T) {
	bin := buildCLI(t)
	w := newWorld(t, 6)
	p := startProxy(t, w, faultproxy.Config{Latency: 5 * time.Millisecond})
	code, out, errOut := eventwire(t, p, "plan", w.dir)
	if code != 0 {
		t.Fatalf("plan: exit %d:\n%s%s", code, out, errOut)
	}
	killAt := p.Snapshot().Total.Calls + 8
	p.Reset()

	cmd := exec.Command(bin, "apply", "--yes", w.dir)
	cmd.Env = append(append(os.Environ(), w.moto.Env()...), "AWS_ENDPOINT_URL="+p.URL)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	killed := false
	for !killed {
		select {
		case err := <-exited:
			t.Fatalf("eventwire apply ended (%v) before %d calls: %d", err, killAt, p.Snapshot().Total.Calls)
		case <-time.After(time.Millisecond):
			if p.Snapshot().Total.Calls >= killAt {
				must(t, cmd.Process.Signal(syscall.SIGKILL))
				killed = true
			}
		}
	}
	<-exited
	if code, _, _ := eventwire(t, p, "plan", "--detailed-exitcode", w.dir); code != 2 {
		t.Fatalf("plan after the kill: exit %d, want 2 (the apply was cut short)", code)
	}

	again := exec.Command(bin, "apply", "--yes", w.dir)
	again.Env = cmd.Env
	if out, err := again.CombinedOutput(); err != nil {
		t.Fatalf("apply after the kill: %v\n%s", err, out)
	}
	w.checkWired(t, 10)
	w.converged(t, p)
}
