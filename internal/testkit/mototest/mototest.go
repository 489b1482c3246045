// Package mototest starts moto_server, an independent AWS implementation,
// on a free loopback port for integration tests, and gives tests an AWS SDK
// configuration that talks to it.
//
// One server serves a whole test binary. It starts lazily: a test that
// needs it calls Shared (or Fresh, for an empty account), so the tests that
// need no AWS run without moto installed. TestMain calls Main, which stops
// the server, if one was started, when the tests end.
//
// A test kit: only tests, internal/tools and their mains import it
// (internal/layers checks).
package mototest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/smithy-go/middleware"
)

// Region and Account are those of moto's default account.
const (
	Region  = "us-east-1"
	Account = "123456789012"
)

// InstallHint says how to get moto_server.
const InstallHint = "moto_server not found: install it with `pip install 'moto[server]'` (moto 5.x), or set MOTO_SERVER to its path"

// Server is a running moto_server, behind a loopback proxy that makes
// its DynamoDB atomic (see guard).
type Server struct {
	// URL is the proxy's: every client talks to moto through it.
	URL string
	cmd *exec.Cmd
	// proxy serves URL; dynamo runs its DynamoDB requests one at a time.
	proxy  *http.Server
	dynamo sync.Mutex
}

// lazyServer starts a server on first use and keeps it, or the error.
type lazyServer struct {
	once  sync.Once
	start func() (*Server, error)
	srv   *Server
	err   error
}

// get returns the server, starting it on the first call, and fails tb with
// the start's error (the first call's, on every call).
func (l *lazyServer) get(tb testing.TB) *Server {
	tb.Helper()
	l.once.Do(func() { l.srv, l.err = l.start() })
	if l.err != nil {
		tb.Fatal(l.err)
	}
	return l.srv
}

// stop stops the server if it was started; later calls of get start none.
func (l *lazyServer) stop() {
	l.once.Do(func() { l.err = errors.New("mototest: the tests have ended") })
	if l.srv != nil {
		l.srv.Stop()
	}
}

var (
	shared = &lazyServer{start: Start} // the test binary's server
	inMain atomic.Bool                 // Main runs the tests, so it will stop the server
)

// Main runs a test binary's tests and stops the shared server if a test
// started it. Use it as: func TestMain(m *testing.M) { mototest.Main(m) }.
func Main(m *testing.M) {
	os.Exit(Run(m))
}

// Run is Main without the exit, for a TestMain that has more to clean up:
// it runs the tests, stops the shared server and returns the exit code.
func Run(m *testing.M) int {
	inMain.Store(true)
	code := m.Run()
	shared.stop()
	return code
}

// Shared returns the test binary's moto_server, starting it on the first
// call. When moto_server cannot be started it fails tb with the reason and
// how to install moto, on every call, without trying again.
func Shared(tb testing.TB) *Server {
	tb.Helper()
	if !inMain.Load() {
		tb.Fatal("mototest: the package's TestMain must call mototest.Main(m), which stops the server")
	}
	return shared.get(tb)
}

// Fresh returns the test binary's moto_server (see Shared), emptied.
func Fresh(tb testing.TB) *Server {
	tb.Helper()
	s := Shared(tb)
	s.Reset(tb)
	return s
}

// command finds moto_server, or python3 -m moto.server.
func command() ([]string, error) {
	if p := os.Getenv("MOTO_SERVER"); p != "" {
		return []string{p}, nil
	}
	if p, err := exec.LookPath("moto_server"); err == nil {
		return []string{p}, nil
	}
	if p, err := exec.LookPath("python3"); err == nil {
		if exec.Command(p, "-c", "import moto.server").Run() == nil {
			return []string{p, "-m", "moto.server"}, nil
		}
	}
	return nil, fmt.Errorf("%s", InstallHint)
}

// Start starts moto_server on a free loopback port and waits until it
// answers.
func Start() (*Server, error) {
	argv, err := command()
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	argv = append(argv, "-H", "127.0.0.1", "-p", fmt.Sprint(port))
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), "MOTO_ALLOW_NONEXISTENT_REGION=false")
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start moto_server: %w (%s)", err, InstallHint)
	}
	s := &Server{cmd: cmd}
	motoURL := fmt.Sprintf("http://127.0.0.1:%d", port)
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(motoURL + "/moto-api/")
		if err == nil {
			resp.Body.Close()
			if err := s.guard(motoURL); err != nil {
				s.Stop()
				return nil, err
			}
			return s, nil
		}
		if time.Now().After(deadline) {
			s.Stop()
			return nil, fmt.Errorf("moto_server did not answer on %s within 60s: %s", s.URL, out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// guard puts a loopback proxy in front of moto_server at motoURL and
// points s.URL at it. The proxy runs DynamoDB requests one at a time, for
// every client (configurations from Config, clients built from Env in
// another process, any other): moto is not DynamoDB there. It serves
// requests on threads, and its conditional writes read the item, check
// the condition and write in steps, so two conditional PutItems at once
// can both succeed (two holders of one lease); a transaction that fails
// a condition restores a copy of the whole table taken when it started,
// undoing every write that other requests made meanwhile; an UpdateItem
// changes the item in place, under a concurrent read. DynamoDB writes
// each item atomically and cancels only the transaction.
func (s *Server) guard(motoURL string) error {
	target, err := url.Parse(motoURL)
	if err != nil {
		return err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("mototest: listen for the proxy: %w", err)
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.Proxy = nil
	transport.MaxIdleConnsPerHost = 64
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(target)
			r.Out.Host = r.In.Host // as the client signed it
		},
		Transport: transport,
		// A client that gave up (a cancelled test) is not worth a log line.
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, _ error) { w.WriteHeader(http.StatusBadGateway) },
	}
	s.proxy = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.Header.Get("X-Amz-Target"), "DynamoDB") {
			s.dynamo.Lock()
			defer s.dynamo.Unlock()
		}
		rp.ServeHTTP(w, r)
	})}
	go s.proxy.Serve(l)
	s.URL = "http://" + l.Addr().String()
	return nil
}

// Stop stops the server.
func (s *Server) Stop() {
	if s.proxy != nil {
		_ = s.proxy.Close()
	}
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Kill()
		_ = s.cmd.Wait()
	}
}

// Reset empties every service of the server.
func (s *Server) Reset(tb testing.TB) {
	tb.Helper()
	resp, err := http.Post(s.URL+"/moto-api/reset", "application/json", nil)
	if err != nil {
		tb.Fatalf("reset moto: %v", err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		tb.Fatalf("reset moto: %s", resp.Status)
	}
}

// Env is the environment that points the SDK's standard chain (and so the
// eventwire CLI) at the server.
func (s *Server) Env() []string {
	return []string{
		"AWS_ENDPOINT_URL=" + s.URL,
		"AWS_REGION=" + Region,
		"AWS_ACCESS_KEY_ID=testing",
		"AWS_SECRET_ACCESS_KEY=testing",
		"AWS_SESSION_TOKEN=",
		"AWS_PROFILE=",
		"AWS_CONFIG_FILE=" + os.DevNull,
		"AWS_SHARED_CREDENTIALS_FILE=" + os.DevNull,
	}
}

// Config returns an SDK configuration for the server. S3 clients built from
// it must set UsePathStyle.
func (s *Server) Config(tb testing.TB, opts ...func(*config.LoadOptions) error) aws.Config {
	tb.Helper()
	base := []func(*config.LoadOptions) error{
		config.WithRegion(Region),
		config.WithBaseEndpoint(s.URL),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("testing", "testing", "")),
		config.WithSharedConfigFiles([]string{}),
		config.WithSharedCredentialsFiles([]string{}),
	}
	cfg, err := config.LoadDefaultConfig(context.Background(), append(base, opts...)...)
	if err != nil {
		tb.Fatalf("load aws config: %v", err)
	}
	return cfg
}

// Calls records the operations an SDK configuration sends.
type Calls struct {
	mu  sync.Mutex
	ops []string
}

// Record adds a middleware to cfg that records every operation as
// "Service.Operation", and returns the record.
func Record(cfg *aws.Config) *Calls {
	c := &Calls{}
	cfg.APIOptions = append(cfg.APIOptions, func(st *middleware.Stack) error {
		return st.Initialize.Add(middleware.InitializeMiddlewareFunc("mototest.Record",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				c.mu.Lock()
				c.ops = append(c.ops, middleware.GetServiceID(ctx)+"."+middleware.GetOperationName(ctx))
				c.mu.Unlock()
				return next.HandleInitialize(ctx, in)
			}), middleware.After)
	})
	return c
}

// All returns the operations recorded so far, in order.
func (c *Calls) All() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.ops...)
}

// Writes returns the recorded operations that may change AWS: everything
// but Get*, List*, Describe* and Head*.
func (c *Calls) Writes() []string {
	var w []string
	for _, op := range c.All() {
		name := op[strings.LastIndex(op, ".")+1:]
		switch {
		case strings.HasPrefix(name, "Get"), strings.HasPrefix(name, "List"),
			strings.HasPrefix(name, "Describe"), strings.HasPrefix(name, "Head"):
		default:
			w = append(w, op)
		}
	}
	return w
}

// Reset forgets the recorded operations.
func (c *Calls) Reset() {
	c.mu.Lock()
	c.ops = nil
	c.mu.Unlock()
}
