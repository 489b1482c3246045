package trigger_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"text/template"
	"time"

	goldenfile "github.com/eventwire/eventwire/internal/testkit/golden"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/eventwire/eventwire/internal/definition"
	"github.com/eventwire/eventwire/internal/plan"
	"github.com/eventwire/eventwire/internal/records"
	"github.com/eventwire/eventwire/internal/testkit/mototest"
	"github.com/eventwire/eventwire/internal/trigger"
)

// golden compares got with testdata/golden/NAME, or rewrites it with
// -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	goldenfile.Check(t, filepath.Join("testdata", "golden", name), got)
}

func TestMain(m *testing.M) { mototest.Main(m) }

const (
	bucket = "eventwire-definitions"
	table  = "eventwire-deployments"
)

// env is one test's world: moto emptied, a versioned bucket, the table, a
// fake deployer, and a handler over them.
type env struct {
	t     *testing.T
	cfg   aws.Config
	s3    *s3.Client
	store *records.Store
	// table is the store's table (the handlers of worlds use it too).
	table    string
	deployer *fakeDeployer
	log      *logRecorder
	tcfg     trigger.Config
	// codeCommitURL, if set, is the fake CodeCommit server the handler of
	// a world talks to.
	codeCommitURL string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	srv := mototest.Fresh(t)
	cfg := srv.Config(t)
	e := &env{t: t, cfg: cfg, deployer: newFakeDeployer(), log: &logRecorder{}}
	e.s3 = s3.NewFromConfig(cfg, s3Options)
	ctx := context.Background()
	if _, err := e.s3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s3.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{
		Bucket:                  aws.String(bucket),
		VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusEnabled},
	}); err != nil {
		t.Fatal(err)
	}
	db := dynamodb.NewFromConfig(cfg)
	if err := records.CreateTable(ctx, db, table); err != nil {
		t.Fatal(err)
	}
	e.table = table
	e.store = records.New(db, table, records.Options{})
	e.tcfg = trigger.Config{
		Deployer:  e.deployer,
		Store:     e.store,
		Parse:     definition.Parse,
		S3:        e.s3,
		Logger:    slog.New(e.log),
		LeaseWait: time.Minute,
		// The sources the stack would configure: the bucket above, the
		// repository and branch of testdata's CodeCommit events.
		Bucket:     bucket,
		Repository: "definitions",
		Branches:   []string{"main"},
	}
	return e
}

// s3Options point an S3 client at moto (path-style) and silence the SDK's
// note that moto's answers carry no checksum.
func s3Options(o *s3.Options) {
	o.UsePathStyle = true
	o.DisableLogOutputChecksumValidationSkipped = true
}

func (e *env) handler() *trigger.Handler { return trigger.New(e.tcfg) }

// put uploads an object and returns its version id.
func (e *env) put(key, body string) string {
	e.t.Helper()
	out, err := e.s3.PutObject(context.Background(), &s3.PutObjectInput{
		Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader(body),
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return aws.ToString(out.VersionId)
}

// remove deletes a key (a delete marker, in the versioned bucket) and
// returns the marker's version id.
func (e *env) remove(key string) string {
	e.t.Helper()
	out, err := e.s3.DeleteObject(context.Background(), &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		e.t.Fatal(err)
	}
	return aws.ToString(out.VersionId)
}

func (e *env) history(function string) []records.Record {
	e.t.Helper()
	rs, err := e.store.History(context.Background(), function, 0)
	if err != nil {
		e.t.Fatal(err)
	}
	return rs
}

// outcomes lists a function's records as "outcome mode source", newest
// first.
func (e *env) outcomes(function string) []string {
	var out []string
	for _, r := range e.history(function) {
		out = append(out, fmt.Sprintf("%s %s %s", r.Outcome, r.Mode, r.Source))
	}
	return out
}

// event renders testdata/NAME with data and returns the JSON.
func event(t *testing.T, name string, data any) json.RawMessage {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
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
		t.Fatalf("testdata/%s is not valid JSON once rendered:\n%s", name, out.String())
	}
	return out.Bytes()
}

// sqsFile is a definition file wiring function fn to queue q.
func sqsFile(fn, queue string, batch int) string {
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

// fakeDeployer stands in for the reconciler in handler tests: it keeps
// what was applied per function, plans a create when the file differs from
// it (and nothing when it matches), and records every call.
type fakeDeployer struct {
	mu      sync.Mutex
	applied map[string]string // function → desired state applied
	calls   []string
	// applyErr, when set, is returned (once) by the next Apply.
	applyErr error
	// inApply, when set, is called inside Apply, before it changes state;
	// an error it returns is Apply's.
	inApply func(ctx context.Context, fn string) error
	// panicOnPlan makes Plan panic.
	panicOnPlan bool
	inFlight    int
	maxInFlight int
}

func newFakeDeployer() *fakeDeployer { return &fakeDeployer{applied: map[string]string{}} }

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

func (d *fakeDeployer) Plan(ctx context.Context, f *definition.File) (*plan.Plan, error) {
	if d.panicOnPlan {
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

func (d *fakeDeployer) PlanDestroy(ctx context.Context, ref string, former []definition.PushSource) (*plan.Plan, error) {
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

func (d *fakeDeployer) Apply(ctx context.Context, p *plan.Plan) error {
	d.mu.Lock()
	d.calls = append(d.calls, "apply "+p.Function.Ref)
	d.inFlight++
	d.maxInFlight = max(d.maxInFlight, d.inFlight)
	hook := d.inApply
	err := d.applyErr
	d.applyErr = nil
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

func (d *fakeDeployer) Calls() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.calls...)
}

func (d *fakeDeployer) Applied() map[string]string {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := map[string]string{}
	for k, v := range d.applied {
		out[k] = v
	}
	return out
}

// logRecorder is a slog handler that keeps every line as
// "LEVEL msg k=v ...",
// and signals waiters for a message.
type logRecorder struct {
	mu      sync.Mutex
	lines   []string
	waiters map[string]chan struct{}
	attrs   []slog.Attr
	parent  *logRecorder
}

func (l *logRecorder) root() *logRecorder {
	if l.parent != nil {
		return l.parent.root()
	}
	return l
}

func (l *logRecorder) Enabled(context.Context, slog.Level) bool { return true }

func (l *logRecorder) Handle(_ context.Context, r slog.Record) error {
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

func (l *logRecorder) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &logRecorder{parent: l, attrs: append(append([]slog.Attr(nil), l.attrs...), attrs...)}
}

func (l *logRecorder) WithGroup(string) slog.Handler { return l }

// waitFor returns a channel closed when msg is next logged.
func (l *logRecorder) waitFor(msg string) <-chan struct{} {
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

// grep returns the lines that contain s.
func (l *logRecorder) grep(s string) []string {
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

// jsonServer is an httptest server speaking the AWS JSON 1.1 protocol
// (POST /, X-Amz-Target: PREFIX.Operation) for the operations given, and
// recording each request.
type jsonServer struct {
	*httptest.Server
	mu       sync.Mutex
	requests []jsonRequest
}

type jsonRequest struct {
	Op   string
	Body map[string]any
}

// awsError is an error answer of the JSON protocol.
type awsError struct {
	Type, Message string
}

func (e awsError) Error() string { return e.Type + ": " + e.Message }

func newJSONServer(t *testing.T, prefix string, ops map[string]func(in map[string]any) (any, error)) *jsonServer {
	t.Helper()
	js := &jsonServer{}
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
		js.requests = append(js.requests, jsonRequest{Op: op, Body: in})
		js.mu.Unlock()
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		fn, ok := ops[op]
		if !ok {
			w.WriteHeader(http.StatusBadRequest)
			json.NewEncoder(w).Encode(map[string]string{"__type": "UnknownOperationException", "message": op})
			return
		}
		out, err := fn(in)
		var ae awsError
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

func (js *jsonServer) Requests() []jsonRequest {
	js.mu.Lock()
	defer js.mu.Unlock()
	return append([]jsonRequest(nil), js.requests...)
}

// ops lists the operations received, in order.
func (js *jsonServer) ops() []string {
	var out []string
	for _, r := range js.Requests() {
		out = append(out, r.Op)
	}
	return out
}
