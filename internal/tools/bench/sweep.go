package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"golang.org/x/sync/errgroup"

	"github.com/eventwire/eventwire/internal/aws/quota"
	"github.com/eventwire/eventwire/internal/contract"
	"github.com/eventwire/eventwire/internal/deployer"
	"github.com/eventwire/eventwire/internal/deployer/bucket"
	"github.com/eventwire/eventwire/internal/deployer/compose"
	deployersweep "github.com/eventwire/eventwire/internal/deployer/sweep"
	"github.com/eventwire/eventwire/internal/reconcile"
	"github.com/eventwire/eventwire/internal/records"
	"github.com/eventwire/eventwire/internal/testkit/faultproxy"
)

// Sweep is part 4: a drift sweep of functions that are all in sync, run
// as the stack runs it: the schedule's invocation enqueues one message per
// function, and Concurrency invocations (the deployer mapping's
// MaximumConcurrency) receive the queue's batches, each pacing its checks
// at Share / Concurrency of every bucket.
type Sweep struct {
	Functions, Concurrency int
	Share                  float64
	// Quotas are the sweep's share of each bucket, its invocations
	// together: what its calls are bounded by.
	Quotas  map[string]quota.Quota
	Setup   time.Duration // the files applied through their S3 events, straight to moto
	Enqueue run           // the schedule's invocation
	Checks  run           // every check, until the queue is empty
	Batches int           // invocations with a batch of checks
	// Fewest are the fewest calls of the checks per bucket: each function
	// planned alone, at the no-op minimum of one function.
	Fewest      map[string]int
	Bound       float64 // the quota bound of Fewest under Quotas, in seconds
	BoundBucket string
	Metrics     sweepMetrics   // summed from the checks' Embedded Metric Format lines
	Status      map[string]int // `eventwire drift -o json`: functions per status
	DriftExit   int            // `eventwire drift --detailed-exitcode`: 0 in sync
}

// Wall is the sweep's wall time, from the schedule's invocation to the
// last check.
func (s Sweep) Wall() time.Duration { return s.Enqueue.wall + s.Checks.wall }

// Ratio is the sweep's wall time over the quota bound at its share.
func (s Sweep) Ratio() float64 { return s.Wall().Seconds() / s.Bound }

// sweepMetrics are the sums of the metric lines' values.
type sweepMetrics struct {
	FunctionsChecked, DriftedFunctions, OrphanedResources float64
	SweepDurationSeconds                                  float64 // the largest
}

// sweepRoutesPerAPI is how many functions share an HTTP API in the
// sweep's world (each is checked alone, so it reads its API's routes and
// integrations: fewer per API keeps moto quick).
const sweepRoutesPerAPI = 20

// The bench's stack: its definitions bucket, records table and sweep
// queue.
const (
	sweepBucket = "eventwire-bench-definitions"
	sweepTable  = "eventwire-bench"
	sweepQueue  = "eventwire-bench-sweep"
)

func sweep(ctx context.Context, o Options, tmp string, progress func(string)) (Sweep, error) {
	s := Sweep{Functions: o.SweepFunctions, Share: o.SweepShare, Concurrency: o.SweepConcurrency}
	l, err := startLab(ctx, o)
	if err != nil {
		return s, err
	}
	defer l.stop()
	p, direct := l.proxy, patient(l.direct)
	progress(fmt.Sprintf("sweep: creating %d functions, queues, target groups and routes on moto", s.Functions))
	w, err := createWorld(ctx, direct, s.Functions, sweepRoutesPerAPI, filepath.Join(tmp, "sweep"))
	if err != nil {
		return s, err
	}
	st, err := newSweepStack(ctx, direct)
	if err != nil {
		return s, err
	}
	progress(fmt.Sprintf("sweep: applying the %d files through their S3 events (straight to moto, unpaced)", s.Functions))
	start := time.Now()
	if err := st.fill(ctx, direct, w, progress); err != nil {
		return s, err
	}
	s.Setup = time.Since(start)
	time.Sleep(refill)
	proxied, err := sdkConfig(ctx, p.URL)
	if err != nil {
		return s, err
	}
	proxied = patient(proxied)
	progress(fmt.Sprintf("sweep: the schedule's invocation, then %d invocations checking at %g of the quotas", s.Concurrency, s.Share))
	if err := st.sweep(ctx, proxied, p, &s); err != nil {
		return s, err
	}
	return s, st.drift(ctx, direct, &s)
}

// patient is cfg without the deployer's answer timeout. moto is not AWS:
// it copies the whole table for each item of a transaction, so with a
// thousand functions indexed one TransactWriteItems takes seconds, and
// calls queued behind it (or behind its garbage collection) can wait past
// the timeout. No faults are injected in the sweep, so nothing waits
// forever for an answer that never comes.
func patient(cfg aws.Config) aws.Config {
	cfg = cfg.Copy()
	cfg.HTTPClient = awshttp.NewBuildableClient()
	return cfg
}

// sweepStack is what the stack deploys for a sweep, on moto.
type sweepStack struct {
	sqs      *sqs.Client
	queueURL string
	queueARN string
	logs     *lockedBuffer // the handlers' warnings and errors
}

func newSweepStack(ctx context.Context, cfg aws.Config) (*sweepStack, error) {
	s3c := s3.NewFromConfig(cfg, pathStyle)
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(sweepBucket)}); err != nil {
		return nil, fmt.Errorf("create bucket %s: %w", sweepBucket, err)
	}
	if _, err := s3c.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String(sweepBucket),
		VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusEnabled}}); err != nil {
		return nil, fmt.Errorf("enable versioning of %s: %w", sweepBucket, err)
	}
	if err := records.CreateTable(ctx, dynamodb.NewFromConfig(cfg), sweepTable); err != nil {
		return nil, err
	}
	st := &sweepStack{sqs: sqs.NewFromConfig(cfg), logs: &lockedBuffer{}}
	q, err := st.sqs.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(sweepQueue)})
	if err != nil {
		return nil, fmt.Errorf("create queue %s: %w", sweepQueue, err)
	}
	st.queueURL = aws.ToString(q.QueueUrl)
	attrs, err := st.sqs.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: q.QueueUrl,
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	if err != nil {
		return nil, fmt.Errorf("get the ARN of queue %s: %w", sweepQueue, err)
	}
	st.queueARN = attrs.Attributes[string(sqstypes.QueueAttributeNameQueueArn)]
	return st, nil
}

// pathStyle: moto serves buckets by path and sends no response checksums.
func pathStyle(o *s3.Options) {
	o.UsePathStyle = true
	o.DisableLogOutputChecksumValidationSkipped = true
}

// settings are the deployer's settings in the bench's stack.
func (st *sweepStack) settings(s Sweep) deployer.Settings {
	return deployer.Settings{Table: sweepTable, Bucket: sweepBucket, FunctionPrefix: "bench-",
		SweepQueueURL: st.queueURL, SweepQueueARN: st.queueARN, SweepShare: s.Share, SweepConcurrency: s.Concurrency}
}

// handler is one execution environment of the deployer on cfg, as
// functions/deployer builds it: deployments paced at the quotas, the
// sweep's checks at its share of them. Its log keeps warnings and errors.
func (st *sweepStack) handler(cfg aws.Config, set deployer.Settings, metrics *lockedBuffer) *compose.Handler {
	log := slog.New(slog.NewTextHandler(st.logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	opts := set.ReconcileOptions(log)
	opts.Pacer = quota.NewPacer(quotasUsed())
	h := compose.NewFromConfig(cfg, reconcile.New(cfg, opts), set, log, pathStyle)
	h.Sweep.Pace(cfg, set.ReconcileOptions(log), quota.NewPacer(set.SweepQuotas(quotasUsed())))
	if metrics != nil {
		h.Sweep.SetMetrics(metrics)
	}
	return h
}

// fill uploads every file of w and delivers its S3 event to a deployer
// that calls moto straight, unpaced: the functions are wired and the index
// declares them, as if each file had been uploaded once.
func (st *sweepStack) fill(ctx context.Context, cfg aws.Config, w *world, progress func(string)) error {
	var done atomic.Int64
	h := compose.NewFromConfig(cfg, reconcile.New(cfg, reconcile.Options{Logger: slog.New(slog.DiscardHandler)}),
		deployer.Settings{Table: sweepTable, Bucket: sweepBucket, FunctionPrefix: "bench-"},
		slog.New(slog.NewTextHandler(st.logs, &slog.HandlerOptions{Level: slog.LevelWarn})), pathStyle)
	s3c := s3.NewFromConfig(cfg, pathStyle)
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(2)
	for i, name := range w.names {
		if ctx.Err() != nil {
			break // a file failed: start no more
		}
		g.Go(func() error {
			key := name + "/" + contract.DefinitionFileName
			body, err := os.ReadFile(filepath.Join(w.dir, key))
			if err != nil {
				return err
			}
			put, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(sweepBucket), Key: aws.String(key), Body: bytes.NewReader(body)})
			if err != nil {
				return fmt.Errorf("put %s: %w", key, err)
			}
			ev, err := json.Marshal(bucket.S3PutEvent(sweepBucket, key, aws.ToString(put.VersionId), "0062F0A1B2C3D4E5F6"))
			if err != nil {
				return err
			}
			if err := h.Handle(invocation(ctx, "fill", i), ev); err != nil {
				return fmt.Errorf("apply %s: %w%s", key, err, st.logs.tail())
			}
			if n := done.Add(1); n%100 == 0 {
				progress(fmt.Sprintf("sweep: %d files applied", n))
			}
			return nil
		})
	}
	return g.Wait()
}

// invocation is ctx as the Lambda runtime hands it to an invocation: with
// a request id of its own (a lease is held by its acquisition's).
func invocation(ctx context.Context, kind string, i int) context.Context {
	return lambdacontext.NewContext(ctx, &lambdacontext.LambdaContext{AwsRequestID: fmt.Sprintf("bench-%s-%d", kind, i)})
}

// lockedBuffer is a buffer that several handlers write to at once.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.buf.Bytes())
}

// tail is the end of what was written, as the end of an error message.
func (b *lockedBuffer) tail() string {
	if s := tail(string(b.Bytes())); s != "" {
		return "; the deployer logged:\n" + s
	}
	return ""
}

// sweep runs the sweep through the proxy: the schedule's invocation, then
// s.Concurrency invocations receiving batches of up to 10 messages until
// the queue is empty, and counts the calls of each.
func (st *sweepStack) sweep(ctx context.Context, cfg aws.Config, p *faultproxy.Proxy, s *Sweep) error {
	set := st.settings(*s)
	metrics := &lockedBuffer{}
	p.Reset()
	start := time.Now()
	if _, err := st.handler(cfg, set, metrics).Invoke(invocation(ctx, "schedule", 0), json.RawMessage(contract.SweepInput)); err != nil {
		return fmt.Errorf("scheduled sweep: %w%s", err, st.logs.tail())
	}
	s.Enqueue = run{wall: time.Since(start), counts: p.Snapshot()}
	p.Reset()
	start = time.Now()
	var batches atomic.Int64
	g, gctx := errgroup.WithContext(ctx)
	for i := range s.Concurrency {
		g.Go(func() error { return st.consume(gctx, st.handler(cfg, set, metrics), i, &batches) })
	}
	err := g.Wait()
	s.Checks = run{wall: time.Since(start), counts: p.Snapshot()}
	s.Batches = int(batches.Load())
	if err != nil {
		return err
	}
	s.Quotas = map[string]quota.Quota{}
	for name, q := range set.SweepQuotas(quotasUsed()) {
		s.Quotas[name] = quota.Quota{Rate: q.Rate * float64(s.Concurrency), Burst: q.Burst * s.Concurrency}
	}
	s.Fewest = map[string]int{}
	for b, n := range noOpCalls(1, 1) {
		s.Fewest[b] = n * s.Functions
	}
	s.Bound, s.BoundBucket = bound(s.Fewest, s.Quotas)
	s.Metrics, err = sumMetrics(metrics.Bytes())
	return err
}

// consume is one invocation environment of the deployer: it receives the
// sweep queue's batches as the deployer's mapping does (up to 10
// messages), invokes the handler with each and deletes its messages. It
// stops when the queue has none left; a failed check stops the bench (the
// figures of a sweep that fails are not the figures of a sweep).
func (st *sweepStack) consume(ctx context.Context, h *compose.Handler, worker int, batches *atomic.Int64) error {
	for {
		out, err := st.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(st.queueURL),
			MaxNumberOfMessages: 10, VisibilityTimeout: 300})
		if err != nil {
			return fmt.Errorf("receive from %s: %w", st.queueURL, err)
		}
		if len(out.Messages) == 0 {
			return nil
		}
		raw, err := json.Marshal(deployersweep.SQSEventFor(st.queueARN, region, out.Messages))
		if err != nil {
			return err
		}
		n := batches.Add(1)
		resp, err := h.Invoke(invocation(ctx, fmt.Sprintf("check-%d", worker), int(n)), raw)
		if err != nil {
			return fmt.Errorf("sweep batch: %w%s", err, st.logs.tail())
		}
		if len(resp.BatchItemFailures) > 0 {
			return fmt.Errorf("sweep batch: %d of %d checks failed%s", len(resp.BatchItemFailures), len(out.Messages), st.logs.tail())
		}
		entries := make([]sqstypes.DeleteMessageBatchRequestEntry, len(out.Messages))
		for i, m := range out.Messages {
			entries[i] = sqstypes.DeleteMessageBatchRequestEntry{Id: aws.String(fmt.Sprint(i)), ReceiptHandle: m.ReceiptHandle}
		}
		del, err := st.sqs.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(st.queueURL), Entries: entries})
		if err == nil && len(del.Failed) > 0 {
			err = fmt.Errorf("%d not deleted: %s", len(del.Failed), aws.ToString(del.Failed[0].Message))
		}
		if err != nil {
			return fmt.Errorf("delete a batch of sweep messages: %w", err)
		}
	}
}

// sumMetrics sums the values of the metric lines the checks wrote.
func sumMetrics(lines []byte) (sweepMetrics, error) {
	var m sweepMetrics
	dec := json.NewDecoder(bytes.NewReader(lines))
	for dec.More() {
		var l struct {
			FunctionsChecked, DriftedFunctions, OrphanedResources float64
			SweepDurationSeconds                                  float64
		}
		if err := dec.Decode(&l); err != nil {
			return m, fmt.Errorf("a metric line: %w", err)
		}
		m.FunctionsChecked += l.FunctionsChecked
		m.DriftedFunctions += l.DriftedFunctions
		m.OrphanedResources += l.OrphanedResources
		m.SweepDurationSeconds = max(m.SweepDurationSeconds, l.SweepDurationSeconds)
	}
	return m, nil
}

// drift reads the sweep's result as a user does: `eventwire drift
// --detailed-exitcode -o json`, counting the functions per status.
func (st *sweepStack) drift(ctx context.Context, cfg aws.Config, s *Sweep) error {
	out, errOut, code := cliOutput(ctx, cfg, "drift", "--table", sweepTable, "--detailed-exitcode", "-o", "json")
	if code == 1 {
		return fmt.Errorf("eventwire drift: exit 1: %s", errOut)
	}
	s.DriftExit = code
	var doc struct {
		Functions []struct {
			Status  string
			Current bool
		}
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		return fmt.Errorf("eventwire drift -o json: %w", err)
	}
	s.Status = map[string]int{}
	for _, f := range doc.Functions {
		if !f.Current {
			f.Status += " (an earlier sweep)"
		}
		s.Status[f.Status]++
	}
	return nil
}
