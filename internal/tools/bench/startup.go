package bench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"time"
)

// Startup is part 3: the time from exec to the first request for an event
// (GET /runtime/invocation/next), the median of Starts runs each.
type Startup struct {
	Deployer, SameClients time.Duration
}

// Ratio is the deployer's start-up over the hello-world's.
func (s Startup) Ratio() float64 { return s.Deployer.Seconds() / s.SameClients.Seconds() }

func startup(ctx context.Context, o Options, tmp string) (Startup, error) {
	bins := map[string]string{"deployer": "./functions/deployer", "sameclients": "./internal/tools/bench/sameclients"}
	for name, pkg := range bins {
		out := filepath.Join(tmp, name)
		cmd := exec.CommandContext(ctx, goCommand(), "build", "-trimpath", "-tags", "lambda.norpc", "-ldflags=-s -w", "-o", out, pkg)
		cmd.Dir = o.Repo
		if b, err := cmd.CombinedOutput(); err != nil {
			return Startup{}, fmt.Errorf("build %s: %w: %s", pkg, err, b)
		}
		bins[name] = out
	}
	rt, err := startRuntimeAPI()
	if err != nil {
		return Startup{}, err
	}
	defer rt.close()
	var dep, hello []time.Duration
	for range o.Starts { // interleaved, so that both see the same load
		d, err := rt.time(ctx, bins["deployer"])
		if err != nil {
			return Startup{}, fmt.Errorf("deployer: %w", err)
		}
		h, err := rt.time(ctx, bins["sameclients"])
		if err != nil {
			return Startup{}, fmt.Errorf("same-clients hello-world: %w", err)
		}
		dep, hello = append(dep, d), append(hello, h)
	}
	return Startup{Deployer: median(dep), SameClients: median(hello)}, nil
}

func goCommand() string {
	if g := os.Getenv("GO"); g != "" {
		return g
	}
	return "go"
}

func median(d []time.Duration) time.Duration {
	slices.Sort(d)
	return d[len(d)/2]
}

// runtimeAPI is a stand-in for Lambda's Runtime API that reports when a
// process first asks for an event, and never gives it one.
type runtimeAPI struct {
	srv  *http.Server
	addr string
	next chan time.Time
}

func startRuntimeAPI() (*runtimeAPI, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	rt := &runtimeAPI{addr: ln.Addr().String(), next: make(chan time.Time, 1)}
	rt.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/2018-06-01/runtime/invocation/next" {
			select {
			case rt.next <- time.Now():
			default:
			}
			<-r.Context().Done()
			return
		}
		w.WriteHeader(http.StatusAccepted)
	})}
	go rt.srv.Serve(ln)
	return rt, nil
}

func (rt *runtimeAPI) close() { rt.srv.Close() }

// time runs bin as Lambda would and returns how long it took to ask for
// its first event.
func (rt *runtimeAPI) time(ctx context.Context, bin string) (time.Duration, error) {
	cmd := exec.Command(bin)
	cmd.Env = []string{
		"AWS_LAMBDA_RUNTIME_API=" + rt.addr, "AWS_REGION=" + region, "AWS_ACCESS_KEY_ID=testing",
		"AWS_SECRET_ACCESS_KEY=testing", "AWS_CONFIG_FILE=" + os.DevNull, "AWS_SHARED_CREDENTIALS_FILE=" + os.DevNull,
		"AWS_LAMBDA_FUNCTION_NAME=eventwire-deployer", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE=256",
		"EVENTWIRE_TABLE=eventwire-bench",
	}
	exited := make(chan error, 1)
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	go func() { exited <- cmd.Wait() }()
	defer func() { cmd.Process.Kill(); <-exited }()
	select {
	case t := <-rt.next:
		return t.Sub(start), nil
	case err := <-exited:
		exited <- err
		return 0, fmt.Errorf("%s exited before asking for an event: %v", bin, err)
	case <-time.After(30 * time.Second):
		return 0, errors.New(bin + " did not ask for an event within 30s")
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}
