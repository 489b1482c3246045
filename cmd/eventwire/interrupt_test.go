package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eventwire/eventwire/internal/testkit/awsfixture"
	"github.com/eventwire/eventwire/internal/testkit/mototest"
)

// gate is a loopback proxy in front of moto that holds the first
// CreateEventSourceMapping call until release is closed, and says on
// arrived when it came.
type gate struct {
	*httptest.Server
	arrived, release chan struct{}
	once             sync.Once
}

func newGate(t *testing.T, upstream string) *gate {
	t.Helper()
	u, err := url.Parse(upstream)
	if err != nil {
		t.Fatal(err)
	}
	g := &gate{arrived: make(chan struct{}), release: make(chan struct{})}
	proxy := httputil.NewSingleHostReverseProxy(u)
	g.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && strings.HasSuffix(strings.TrimSuffix(r.URL.Path, "/"), "/event-source-mappings") {
			first := false
			g.once.Do(func() { first = true })
			if first {
				close(g.arrived)
				<-g.release
			}
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(g.Close)
	return g
}

// waitFor fails the test if ch is not closed within a generous bound (a
// guard against a hang, not a timed assertion).
func waitFor(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(2 * time.Minute):
		t.Fatalf("gave up waiting for %s", what)
	}
}

// TestApply_Interrupt_FinishesInFlightStartsNothingNew: SIGINT while the
// first of two functions is being applied lets that one finish, does not
// start the second, says so, and exits 130.
func TestApply_Interrupt_FinishesInFlightStartsNothingNew(t *testing.T) {
	srv := mototest.Fresh(t)
	fx := awsfixture.New(srv.Config(t))
	ctx := context.Background()
	dir := t.TempDir()
	for _, fn := range []string{"orders", "refunds"} {
		if _, err := fx.Function(ctx, fn); err != nil {
			t.Fatal(err)
		}
		queue, err := fx.Queue(ctx, fn)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, fn, "_lambdaeventsourcedef.json")
		os.MkdirAll(filepath.Dir(path), 0o755)
		os.WriteFile(path, []byte(fmt.Sprintf(`{"FunctionName": %q, "PullEventSources": {"EventSourceMapping": {"EventSourceArn": %q}}}`, fn, queue)), 0o644)
	}
	g := newGate(t, srv.URL)
	env := append(srv.Env(), "AWS_ENDPOINT_URL="+g.URL)

	cmd := exec.Command(bin, "apply", "--yes", "--parallel", "1", dir)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}, env...)
	var stdout strings.Builder
	cmd.Stdout = &stdout
	stderrPipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	noticed := make(chan struct{})
	var stderr strings.Builder
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(stderrPipe)
		once := sync.Once{}
		for sc.Scan() {
			stderr.WriteString(sc.Text() + "\n")
			if strings.Contains(sc.Text(), "interrupted: starting nothing new") {
				once.Do(func() { close(noticed) })
			}
		}
		io.Copy(io.Discard, stderrPipe)
	}()

	waitFor(t, g.arrived, "the first CreateEventSourceMapping")
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	waitFor(t, noticed, "eventwire to notice the interrupt")
	close(g.release)
	<-done
	cmd.Wait()

	if code := cmd.ProcessState.ExitCode(); code != 130 {
		t.Errorf("exit %d, want 130\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
	}
	want := "Interrupted: 1 function applied, 0 functions failed, 1 function not applied (" + filepath.Join(dir, "refunds", "_lambdaeventsourcedef.json") + ")"
	if !strings.Contains(stderr.String(), want) {
		t.Errorf("stderr does not say %q:\n%s", want, stderr.String())
	}
	if !strings.Contains(stdout.String(), "orders: done") {
		t.Errorf("stdout does not report orders done:\n%s", stdout.String())
	}
	for fn, want := range map[string]int{"orders": 1, "refunds": 0} {
		if n := countMappings(t, srv, fn); n != want {
			t.Errorf("%s has %d mappings, want %d", fn, n, want)
		}
	}
}
