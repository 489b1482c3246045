// Package deployertest is the deployer's test kit: a world on moto (the
// definitions bucket, the records table, functions, queues and target
// groups to wire), a fake reconciler, a log recorder and a fake AWS JSON
// server, a fake CodeCommit repository and the templates of the events AWS
// sends, shared by the tests of internal/deployer and its parts. Only
// tests may import it (internal/layers checks); it may import anything the
// deployer's tests need.
package deployertest

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"text/template"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codecommit"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/eventwire/eventwire/internal/definition"
	"github.com/eventwire/eventwire/internal/deployer"
	"github.com/eventwire/eventwire/internal/deployer/branch"
	"github.com/eventwire/eventwire/internal/deployer/bucket"
	"github.com/eventwire/eventwire/internal/deployer/compose"
	"github.com/eventwire/eventwire/internal/plan"
	"github.com/eventwire/eventwire/internal/records"
	goldenfile "github.com/eventwire/eventwire/internal/testkit/golden"
	"github.com/eventwire/eventwire/internal/testkit/mototest"
)

// Golden compares got with testdata/golden/NAME (in the calling test's
// package), or rewrites it with -update.
func Golden(t *testing.T, name, got string) {
	t.Helper()
	goldenfile.Check(t, filepath.Join("testdata", "golden", name), got)
}

const (
	Bucket = "eventwire-definitions"
	Table  = "eventwire-deployments"
)

// Env is one test's world: moto emptied, a versioned bucket, the table, a
// fake deployer, and a handler over them.
type Env struct {
	T     *testing.T
	AWS   aws.Config
	S3    *s3.Client
	Store *records.Store
	// Table is the store's table (the handlers of worlds use it too).
	Table    string
	Deployer *FakeDeployer
	Log      *LogRecorder
	Config   compose.Config
	// CodeCommitURL, if set, is the fake CodeCommit server the handler of
	// a world talks to.
	CodeCommitURL string
}

// NewEnv makes a test's Env.
func NewEnv(t *testing.T) *Env {
	t.Helper()
	srv := mototest.Fresh(t)
	cfg := srv.Config(t)
	e := &Env{T: t, AWS: cfg, Deployer: NewFakeDeployer(), Log: &LogRecorder{}}
	e.S3 = s3.NewFromConfig(cfg, S3Options)
	ctx := context.Background()
	if _, err := e.S3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(Bucket)}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.S3.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{
		Bucket:                  aws.String(Bucket),
		VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusEnabled},
	}); err != nil {
		t.Fatal(err)
	}
	db := dynamodb.NewFromConfig(cfg)
	if err := records.CreateTable(ctx, db, Table); err != nil {
		t.Fatal(err)
	}
	e.Table = Table
	e.Store = records.New(db, Table, records.Options{})
	e.Config = compose.Config{Config: deployer.Config{
		Deployer:  e.Deployer,
		Store:     e.Store,
		Parse:     definition.Parse,
		Logger:    slog.New(e.Log),
		LeaseWait: time.Minute,
		// The sources the stack would configure: the bucket above, the
		// repository and branch of the CodeCommit events (events/).
	}, S3: bucket.Config{API: e.S3, Bucket: Bucket}, CodeCommit: branch.Config{Repository: "definitions", Branches: []string{"main"}}}
	return e
}

// S3Options point an S3 client at moto (path-style) and silence the SDK's
// note that moto's answers carry no checksum.
func S3Options(o *s3.Options) {
	o.UsePathStyle = true
	o.DisableLogOutputChecksumValidationSkipped = true
}

// NewHandler is the deployer's handler on Config, with every part.
func (e *Env) NewHandler() *compose.Handler { return compose.New(e.Config) }

// CodeCommit is a CodeCommit client of the fake server js.
func (e *Env) CodeCommit(js *JSONServer) *codecommit.Client {
	return codecommit.NewFromConfig(e.AWS, func(o *codecommit.Options) { o.BaseEndpoint = aws.String(js.URL) })
}

// Put uploads an object and returns its version id.
func (e *Env) Put(key, body string) string {
	e.T.Helper()
	out, err := e.S3.PutObject(context.Background(), &s3.PutObjectInput{
		Bucket: aws.String(Bucket), Key: aws.String(key), Body: strings.NewReader(body),
	})
	if err != nil {
		e.T.Fatal(err)
	}
	return aws.ToString(out.VersionId)
}

// Remove deletes a key (a delete marker, in the versioned bucket) and
// returns the marker's version id.
func (e *Env) Remove(key string) string {
	e.T.Helper()
	out, err := e.S3.DeleteObject(context.Background(), &s3.DeleteObjectInput{Bucket: aws.String(Bucket), Key: aws.String(key)})
	if err != nil {
		e.T.Fatal(err)
	}
	return aws.ToString(out.VersionId)
}

// History is the function's records, newest first.
func (e *Env) History(function string) []records.Record {
	e.T.Helper()
	rs, err := e.Store.History(context.Background(), function, 0)
	if err != nil {
		e.T.Fatal(err)
	}
	return rs
}

// Outcomes lists a function's records as "outcome mode source", newest
// first.
func (e *Env) Outcomes(function string) []string {
	var out []string
	for _, r := range e.History(function) {
		out = append(out, fmt.Sprintf("%s %s %s", r.Outcome, r.Mode, r.Source))
	}
	return out
}

// events are the templates of the events AWS sends the deployer.
//
//go:embed events/*.json
var events embed.FS

// Event renders the event template events/NAME with data and returns the
// JSON.
func Event(t *testing.T, name string, data any) json.RawMessage {
	t.Helper()
	b, err := events.ReadFile("events/" + name)
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := template.New(name).Option("missingkey=error").Parse(string(b))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := tmpl.Execute(&out, data); err != nil {
		t.Fatal(err)
	}
	if !json.Valid(out.Bytes()) {
		t.Fatalf("events/%s is not valid JSON once rendered:\n%s", name, out.String())
	}
	return out.Bytes()
}

// SQSFile is a definition file wiring function fn to queue q.
func SQSFile(fn, queue string, batch int) string {
	return fmt.Sprintf(`{
  "FunctionName": %q,
  "PullEventSources": {
    "EventSourceMapping": {
      "EventSourceArn": "arn:aws:sqs:us-east-1:123456789012:%s",
      "BatchSize": %d
    }
  }
}
`, fn, queue, batch)
}

// FakeDeployer stands in for the reconciler in handler tests: it keeps
// what was applied per function, plans a create when the file differs from
// it (and nothing when it matches), and records every call.
type FakeDeployer struct {
	mu      sync.Mutex
	applied map[string]string // function → desired state applied
	calls   []string
	// ApplyErr, when set, is returned (once) by the next Apply.
	ApplyErr error
	// InApply, when set, is called inside Apply, before it changes state;
	// an error it returns is Apply's.
	InApply func(ctx context.Context, fn string) error
	// PanicOnPlan makes Plan panic.
	PanicOnPlan bool
	inFlight    int
	MaxInFlight int
}

// NewFakeDeployer returns a FakeDeployer with nothing applied.
func NewFakeDeployer() *FakeDeployer { return &FakeDeployer{applied: map[string]string{}} }

type fakeOp struct {
	fn, state string
	destroy   bool
}

func desired(f *definition.File) string {
	b, _ := json.Marshal(struct {
		Pull []definition.Mapping
		Push []definition.PushSource
	}{f.Pull, f.Push})
	return string(b)
}

func (d *FakeDeployer) Plan(ctx context.Context, f *definition.File) (*plan.Plan, error) {
	if d.PanicOnPlan {
		panic("deployer exploded")
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	fn := records.FunctionKey(f.Function)
	d.calls = append(d.calls, "plan "+f.Function)
	p := &plan.Plan{Source: f.Path, Function: plan.Function{Ref: f.Function, Name: fn}}
	want := desired(f)
	if d.applied[fn] != want {
		kind := plan.Create
		if d.applied[fn] != "" {
			kind = plan.Update
		}
		p.Actions = append(p.Actions, plan.Action{Kind: kind, Resource: plan.ResourceMapping, ID: "arn:aws:sqs:us-east-1:123456789012:" + fn, Op: fakeOp{fn: fn, state: want}})
	}
	return p, nil
}

func (d *FakeDeployer) PlanDestroy(ctx context.Context, ref string, former []definition.PushSource) (*plan.Plan, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	fn := records.FunctionKey(ref)
	d.calls = append(d.calls, "plan-destroy "+ref)
	p := &plan.Plan{Function: plan.Function{Ref: ref, Name: fn}}
	if d.applied[fn] != "" {
		p.Actions = append(p.Actions, plan.Action{Kind: plan.Delete, Resource: plan.ResourceMapping, ID: "arn:aws:sqs:us-east-1:123456789012:" + fn, Op: fakeOp{fn: fn, destroy: true}})
	}
	return p, nil
}

func (d *FakeDeployer) Apply(ctx context.Context, p *plan.Plan) error {
	d.mu.Lock()
	d.calls = append(d.calls, "apply "+p.Function.Ref)
	d.inFlight++
	d.MaxInFlight = max(d.MaxInFlight, d.inFlight)
	hook := d.InApply
	err := d.ApplyErr
	d.ApplyErr = nil
	d.mu.Unlock()
	defer func() {
		d.mu.Lock()
		d.inFlight--
		d.mu.Unlock()
	}()
	if hook != nil && err == nil {
		err = hook(ctx, p.Function.Name)
	}
	if err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, a := range p.Actions {
		op := a.Op.(fakeOp)
		if op.destroy {
			delete(d.applied, op.fn)
		} else {
			d.applied[op.fn] = op.state
		}
	}
	return nil
}

// Seed sets what is applied for function fn, as if an earlier run had
// applied state.
func (d *FakeDeployer) Seed(fn, state string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.applied[fn] = state
}

// Calls are the calls made so far ("plan FN", "plan-destroy FN", "apply FN").
func (d *FakeDeployer) Calls() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.calls...)
}

func (d *FakeDeployer) Applied() map[string]string {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := map[string]string{}
	for k, v := range d.applied {
		out[k] = v
	}
	return out
}

// LogRecorder is a slog handler that keeps every line as
// "LEVEL msg k=v ...",
// and signals waiters for a message.
type LogRecorder struct {
	mu      sync.Mutex
	lines   []string
	waiters map[string]chan struct{}
	attrs   []slog.Attr
	parent  *LogRecorder
}

func (l *LogRecorder) root() *LogRecorder {
	if l.parent != nil {
		return l.parent.root()
	}
	return l
}

func (l *LogRecorder) Enabled(context.Context, slog.Level) bool { return true }

func (l *LogRecorder) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Level.String() + " " + r.Message)
	for _, a := range l.attrs {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
	}
	r.Attrs(func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
		return true
	})
	root := l.root()
	root.mu.Lock()
	defer root.mu.Unlock()
	root.lines = append(root.lines, b.String())
	if ch, ok := root.waiters[r.Message]; ok {
		close(ch)
		delete(root.waiters, r.Message)
	}
	return nil
}

func (l *LogRecorder) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &LogRecorder{parent: l, attrs: append(append([]slog.Attr(nil), l.attrs...), attrs...)}
}

func (l *LogRecorder) WithGroup(string) slog.Handler { return l }

// WaitFor returns a channel closed when msg is next logged.
func (l *LogRecorder) WaitFor(msg string) <-chan struct{} {
	root := l.root()
	root.mu.Lock()
	defer root.mu.Unlock()
	if root.waiters == nil {
		root.waiters = map[string]chan struct{}{}
	}
	ch := make(chan struct{})
	root.waiters[msg] = ch
	return ch
}

// Grep returns the lines that contain s.
func (l *LogRecorder) Grep(s string) []string {
	root := l.root()
	root.mu.Lock()
	defer root.mu.Unlock()
	var out []string
	for _, line := range root.lines {
		if strings.Contains(line, s) {
			out = append(out, line)
		}
	}
	return out
}

// JSONServer is an httptest server speaking the AWS JSON 1.1 protocol
// (POST /, X-Amz-Target: PREFIX.Operation) for the operations given, and
// recording each request.
type JSONServer struct {
	*httptest.Server
	mu       sync.Mutex
	requests []JSONRequest
}

type JSONRequest struct {
	Op   string
	Body map[string]any
}

// AWSError is an error answer of the JSON protocol.
type AWSError struct {
	Type, Message string
}

func (e AWSError) Error() string { return e.Type + ": " + e.Message }

// NewJSONServer serves ops (by operation name) for X-Amz-Target PREFIX.*.
func NewJSONServer(t *testing.T, prefix string, ops map[string]func(in map[string]any) (any, error)) *JSONServer {
	t.Helper()
	js := &JSONServer{}
	js.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		target := r.Header.Get("X-Amz-Target")
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/x-amz-json-1.1" || !strings.HasPrefix(target, prefix+".") {
			http.Error(w, "want a JSON 1.1 POST with X-Amz-Target "+prefix+".*", http.StatusBadRequest)
			return
		}
		op := strings.TrimPrefix(target, prefix+".")
		body, _ := io.ReadAll(r.Body)
		var in map[string]any
		if err := json.Unmarshal(body, &in); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		js.mu.Lock()
		js.requests = append(js.requests, JSONRequest{Op: op, Body: in})
		js.mu.Unlock()
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		fn, ok := ops[op]
		if !ok {
			w.WriteHeader(http.StatusBadRequest)
			json.NewEncoder(w).Encode(map[string]string{"__type": "UnknownOperationException", "message": op})
			return
		}
		out, err := fn(in)
		var ae AWSError
		if errors.As(err, &ae) {
			w.WriteHeader(http.StatusBadRequest)
			json.NewEncoder(w).Encode(map[string]string{"__type": ae.Type, "message": ae.Message})
			return
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		if out == nil {
			out = map[string]any{}
		}
		json.NewEncoder(w).Encode(out)
	}))
	t.Cleanup(js.Close)
	return js
}

func (js *JSONServer) Requests() []JSONRequest {
	js.mu.Lock()
	defer js.mu.Unlock()
	return append([]JSONRequest(nil), js.requests...)
}

// Ops lists the operations received, in order.
func (js *JSONServer) Ops() []string {
	var out []string
	for _, r := range js.Requests() {
		out = append(out, r.Op)
	}
	return out
}

// CheckRefusals checks that there are refusal log lines, each one
// starting with want.
func CheckRefusals(t *testing.T, lines []string, want string) {
	t.Helper()
	if len(lines) == 0 {
		t.Errorf("no refusal logged, want %q", want)
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, want) {
			t.Errorf("refusal logged as\n%s\nwant\n%s", l, want)
		}
	}
}

// Replace returns ev with old replaced by new, failing if old is absent.
func Replace(t *testing.T, ev json.RawMessage, old, new string) json.RawMessage {
	t.Helper()
	if !strings.Contains(string(ev), old) {
		t.Fatalf("event lacks %q", old)
	}
	return json.RawMessage(strings.ReplaceAll(string(ev), old, new))
}

// JSONString is v in JSON.
func JSONString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
