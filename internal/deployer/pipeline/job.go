// Package pipeline is the deployer's CodePipeline source: it runs the
// jobs of a pipeline's Lambda invoke action (the job verified with
// CodePipeline, every definition file of its input artifacts validated,
// then each applied or planned under its function's lease) and always
// answers them, with a continuation token when time runs out. Of the
// deployer it imports the core (internal/deployer) only, never another
// source, the sweep or the composition (internal/layers checks).
package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
	cptypes "github.com/aws/aws-sdk-go-v2/service/codepipeline/types"

	"github.com/eventwire/eventwire/internal/contract"
	"github.com/eventwire/eventwire/internal/definition"
	"github.com/eventwire/eventwire/internal/deployer"
	"github.com/eventwire/eventwire/internal/lazyre"
	"github.com/eventwire/eventwire/internal/plan"
	"github.com/eventwire/eventwire/internal/records"
)

// CodePipelineAPI is the slice of the CodePipeline client the deployer
// needs: verifying the job it was invoked for, and answering it.
type CodePipelineAPI interface {
	GetJobDetails(ctx context.Context, in *codepipeline.GetJobDetailsInput, opts ...func(*codepipeline.Options)) (*codepipeline.GetJobDetailsOutput, error)
	PutJobSuccessResult(ctx context.Context, in *codepipeline.PutJobSuccessResultInput, opts ...func(*codepipeline.Options)) (*codepipeline.PutJobSuccessResultOutput, error)
	PutJobFailureResult(ctx context.Context, in *codepipeline.PutJobFailureResultInput, opts ...func(*codepipeline.Options)) (*codepipeline.PutJobFailureResultOutput, error)
}

// Config is the CodePipeline source's configuration.
type Config struct {
	// API answers jobs.
	API CodePipelineAPI
	// ArtifactS3 builds an S3 client that uses a job's artifact
	// credentials (see NewArtifactS3).
	ArtifactS3 func(events.CodePipelineArtifactCredentials) ArtifactAPI
	// ArtifactLimits bound what a pipeline job's input artifacts may hold
	// (zero fields: the defaults).
	ArtifactLimits ArtifactLimits
}

// Source is the CodePipeline source: the handler of its jobs
// (HandleEvent).
type Source struct {
	h   *deployer.Handler
	cfg Config
	log *slog.Logger
}

// New returns the CodePipeline source of h.
func New(h *deployer.Handler, cfg Config) *Source {
	return &Source{h: h, cfg: cfg, log: h.Logger()}
}

// Limits of the CodePipeline job APIs.
const (
	maxSummary           = 2048 // ExecutionDetails.Summary
	maxFailureMessage    = 5000 // FailureDetails.Message
	maxContinuationToken = 2048
)

// HandleEvent runs a CodePipeline job and always answers it. Only
// the job id is read from the event (leniently: a field of the wrong type
// elsewhere in it does not matter); the job itself is CodePipeline's
// answer to GetJobDetails (see verifiedJob).
func (pl *Source) HandleEvent(ctx context.Context, raw json.RawMessage) (err error) {
	id := jobID(raw)
	if id == "" {
		return fmt.Errorf("decode CodePipeline job event: no job id: %s", deployer.Excerpt(raw))
	}
	job, action, log, err := pl.verifiedJob(ctx, id)
	if err != nil || job == nil {
		return err
	}
	j := &pipelineJob{pl: pl, job: *job, action: action, log: log}
	defer j.answerPanic(ctx, &err)
	return j.run(ctx)
}

// jobID is the id of a CodePipeline job event, read without decoding the
// rest; "" if there is none.
func jobID(raw json.RawMessage) string {
	var ev struct {
		Job map[string]json.RawMessage `json:"CodePipeline.job"`
	}
	if json.Unmarshal(raw, &ev) != nil {
		return ""
	}
	var id string
	if json.Unmarshal(ev.Job["id"], &id) != nil {
		return ""
	}
	return id
}

// jobIDPattern is the pattern of a job id in the CodePipeline API.
var jobIDPattern = lazyre.New(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// verifiedJob asks CodePipeline for the job an event names. Only the id is
// taken from the event (anyone allowed to invoke the deployer can send
// one): the artifacts' locations, their credentials, the parameters and
// the continuation token are CodePipeline's answer. A job that is refused
// (a malformed id, a job CodePipeline does not know, one for another
// action) is logged at error level and never answered: nil, nil. Any
// other failure is returned, for Lambda to retry. action names the
// pipeline's action, the declaring source (actionName).
func (pl *Source) verifiedJob(ctx context.Context, id string) (*events.CodePipelineJob, string, *slog.Logger, error) {
	log := pl.log.With("job", id)
	refuse := func(reason string, args ...any) (*events.CodePipelineJob, string, *slog.Logger, error) {
		log.ErrorContext(ctx, "refused CodePipeline job: "+reason, args...)
		return nil, "", nil, nil
	}
	if !jobIDPattern.MatchString(id) {
		return refuse("malformed job id", "want", jobIDPattern.String())
	}
	out, err := pl.cfg.API.GetJobDetails(ctx, &codepipeline.GetJobDetailsInput{JobId: aws.String(id)})
	var nf *cptypes.JobNotFoundException
	if errors.As(err, &nf) {
		return refuse("CodePipeline has no such job in this account", "error", err.Error())
	}
	if err != nil {
		return nil, "", nil, fmt.Errorf("get details of CodePipeline job %s: %w", id, err)
	}
	d := out.JobDetails
	if d == nil || d.Data == nil || aws.ToString(d.Id) != id {
		return nil, "", nil, fmt.Errorf("get details of CodePipeline job %s: the answer has no details of the job", id)
	}
	if t := d.Data.ActionTypeId; t != nil && (t.Category != cptypes.ActionCategoryInvoke || t.Owner != cptypes.ActionOwnerAws || aws.ToString(t.Provider) != "Lambda") {
		return refuse("not a Lambda invoke action", "action_type", fmt.Sprintf("%s/%s/%s", t.Category, t.Owner, aws.ToString(t.Provider)), "want", "Invoke/AWS/Lambda")
	}
	job := jobOf(d)
	if fn := job.Data.ActionConfiguration.Configuration.FunctionName; pl.h.Self() != "" && records.FunctionKey(fn) != pl.h.Self() {
		return refuse("the action invokes another function", "function", fn, "want", pl.h.Self())
	}
	if pc := d.Data.PipelineContext; pc != nil {
		log = log.With("pipeline", aws.ToString(pc.PipelineName))
	}
	return &job, actionName(d.Data.PipelineContext), log, nil
}

// jobOf is a job's details as the job event's shape.
func jobOf(d *cptypes.JobDetails) events.CodePipelineJob {
	job := events.CodePipelineJob{ID: aws.ToString(d.Id), AccountID: aws.ToString(d.AccountId)}
	data := d.Data
	if c := data.ActionConfiguration; c != nil {
		job.Data.ActionConfiguration.Configuration = events.CodePipelineConfiguration{
			FunctionName: c.Configuration["FunctionName"], UserParameters: c.Configuration["UserParameters"],
		}
	}
	if c := data.ArtifactCredentials; c != nil {
		job.Data.ArtifactCredentials = events.CodePipelineArtifactCredentials{
			AccessKeyID: aws.ToString(c.AccessKeyId), SecretAccessKey: aws.ToString(c.SecretAccessKey), SessionToken: aws.ToString(c.SessionToken),
		}
	}
	job.Data.ContinuationToken = aws.ToString(data.ContinuationToken)
	for _, a := range data.InputArtifacts {
		in := events.CodePipelineInputArtifact{Name: aws.ToString(a.Name), Revision: a.Revision}
		if l := a.Location; l != nil {
			in.Location.LocationType = string(l.Type)
			if s3l := l.S3Location; s3l != nil {
				in.Location.S3Location = events.CodePipelineS3Location{BucketName: aws.ToString(s3l.BucketName), ObjectKey: aws.ToString(s3l.ObjectKey)}
			}
		}
		job.Data.InputArtifacts = append(job.Data.InputArtifacts, in)
	}
	return job
}

// pipelineJob is one invocation's part of a CodePipeline job. The job is
// answered once: by the run, by the watchdog near the deadline, or after a
// panic; whichever comes first.
type pipelineJob struct {
	pl  *Source
	job events.CodePipelineJob
	// action is the declaring source: the pipeline's action
	// (actionName); "" if CodePipeline did not say.
	action string
	log    *slog.Logger
	answer jobAnswer

	// progress guards state and total, which the watchdog reads.
	progress sync.Mutex
	// state is where the job is: the files done and failed, in this
	// invocation and (from the continuation token) the earlier ones.
	state continuation
	// total is the number of files of the job, once known.
	total int
}

// run validates every definition file of the input artifacts, then runs
// them from where an earlier invocation stopped, and answers the job.
func (j *pipelineJob) run(ctx context.Context) error {
	mode, err := pipelineMode(j.job.Data.ActionConfiguration.Configuration.UserParameters)
	if err != nil {
		return j.fail(ctx, cptypes.FailureTypeConfigurationError, err.Error())
	}
	// Failures of earlier invocations of this job come back in the token,
	// so that a job whose first part failed does not end in success.
	if t := j.job.Data.ContinuationToken; t != "" {
		if err := json.Unmarshal([]byte(t), &j.state); err != nil {
			return j.fail(ctx, cptypes.FailureTypeJobFailed, fmt.Sprintf("continuation token %q: %v", t, err))
		}
	}

	// Leave time to answer before Lambda's deadline: everything from here
	// on (reading the artifacts too) stops DeadlineReserve before it.
	runCtx, cancel := j.work(ctx)
	defer cancel()
	if d, ok := ctx.Deadline(); ok {
		defer j.watch(ctx, d)()
	}

	files, err := j.pl.artifactFiles(runCtx, j.job)
	if err != nil {
		if runCtx.Err() != nil && ctx.Err() == nil {
			err = fmt.Errorf("reading the input artifacts did not finish within the function's timeout: %w", err)
		}
		return j.fail(ctx, cptypes.FailureTypeJobFailed, err.Error())
	}
	if len(files) == 0 && (mode != records.ModeApply || j.action == "") {
		return j.succeed(ctx, fmt.Sprintf("no %s in the input artifacts", contract.DefinitionFileName))
	}
	invalid, err := j.validate(runCtx, files)
	if err != nil {
		return j.fail(ctx, cptypes.FailureTypeJobFailed, err.Error())
	}
	if len(invalid) > 0 {
		return j.fail(ctx, cptypes.FailureTypeConfigurationError, fmt.Sprintf("%d validation error(s), nothing applied:\n%s", len(invalid), strings.Join(invalid, "\n")))
	}
	if mode == records.ModeApply && j.action != "" {
		return j.runDeclaring(ctx, files)
	}
	return j.runFiles(ctx, files, mode)
}

// work returns the context of the job's work, ctx ending DeadlineReserve
// before the invocation's deadline, so that the job is answered (in ctx)
// in time: a function that works and answers takes ctx and derives this.
func (j *pipelineJob) work(ctx context.Context) (context.Context, context.CancelFunc) {
	if d, ok := ctx.Deadline(); ok {
		return context.WithDeadline(ctx, d.Add(-j.pl.h.DeadlineReserve()))
	}
	return context.WithCancel(ctx)
}

// pipelineParams are the action's UserParameters.
type pipelineParams struct {
	// Mode is "apply" (the default) or "plan".
	Mode string `json:"mode"`
}

// pipelineMode reads the mode from the action's UserParameters, strictly:
// a misspelt key must not turn a plan-only stage into one that applies.
func pipelineMode(userParameters string) (records.Mode, error) {
	var params pipelineParams
	if s := strings.TrimSpace(userParameters); s != "" {
		if err := decodeStrict(s, &params); err != nil {
			return "", fmt.Errorf(`UserParameters: want {"mode":"apply"} or {"mode":"plan"}: %w`, err)
		}
	}
	switch params.Mode {
	case "", "apply":
		return records.ModeApply, nil
	case "plan":
		return records.ModePlan, nil
	}
	return "", fmt.Errorf(`UserParameters: mode %q: want "apply" or "plan"`, params.Mode)
}

// decodeStrict decodes one JSON object into v: no unknown key, no key
// twice (encoding/json would keep the last one silently), nothing after
// the object.
func decodeStrict(s string, v any) error {
	dec := json.NewDecoder(strings.NewReader(s))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return fmt.Errorf("not a JSON object")
	}
	seen := map[string]bool{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return err
		}
		key, _ := t.(string)
		if seen[key] {
			return fmt.Errorf("key %q given twice", key)
		}
		seen[key] = true
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("data after the object at offset %d", dec.InputOffset())
	}
	strict := json.NewDecoder(strings.NewReader(s))
	strict.DisallowUnknownFields()
	return strict.Decode(v)
}

// source names a file of the job in records and logs.
func (j *pipelineJob) source(f *pipelineFile) string {
	return "codepipeline://" + j.job.ID + "/" + f.path
}

// validate parses every file before anything is sent to AWS, so that one
// invalid file fails the job and changes nothing. Files that would undo
// each other are invalid together, as in the CLI. It returns the
// validation errors (recorded), or an error writing their records.
func (j *pipelineJob) validate(ctx context.Context, files []*pipelineFile) ([]string, error) {
	var invalid []string
	var parsed []*definition.File
	for _, f := range files {
		pf, rec, err := j.pl.h.Parse(ctx, j.source(f), deployer.File{Trigger: records.TriggerCodePipeline, Path: f.path, Data: f.data, Sib: f.sib})
		if rec != nil {
			invalid = append(invalid, rec.Errors...)
			continue
		}
		if err != nil {
			return nil, err
		}
		f.parsed = pf
		parsed = append(parsed, pf)
	}
	conflicting := deployer.Conflicts(parsed)
	for _, f := range files {
		errs := conflicting[f.path]
		if len(errs) == 0 || f.parsed == nil {
			continue
		}
		if _, err := j.pl.h.RecordInvalid(ctx, records.TriggerCodePipeline, j.source(f), f.parsed.Function, errs); err != nil {
			return nil, err
		}
		invalid = append(invalid, errs...)
	}
	return invalid, nil
}

// runFiles runs the files from state.Next on in the job's work context,
// and answers the job in ctx: with its result once every file ran, or
// with a continuation token when the work's time ends first or a function
// is being deployed by another run.
func (j *pipelineJob) runFiles(ctx context.Context, files []*pipelineFile, mode records.Mode) error {
	runCtx, cancel := j.work(ctx)
	defer cancel()
	j.progress.Lock()
	j.total = len(files)
	next := j.state.Next
	j.progress.Unlock()
	for i := next; i < len(files); i++ {
		j.progress.Lock()
		j.state.Next = i
		j.progress.Unlock()
		if j.answer.answered() {
			return nil // by the watchdog
		}
		if runCtx.Err() != nil {
			return j.continueFromHere(ctx)
		}
		f := files[i]
		res := j.runFile(runCtx, f, mode)
		if res.Err != nil && (errors.Is(res.Err, records.ErrLeaseHeld) || (runCtx.Err() != nil && ctx.Err() == nil)) {
			// Cut short by the reserve, or the function is being deployed
			// by another run: apply is idempotent, so the next invocation
			// runs this file again.
			return j.continueFromHere(ctx)
		}
		j.progress.Lock()
		if res.Err != nil {
			j.state.Failed = append(j.state.Failed, fmt.Sprintf("%s: %v", f.path, res.Err))
			j.state.Done = append(j.state.Done, f.path+": failed")
		} else {
			j.state.Done = append(j.state.Done, fileSummary(f.path, res.Plan, mode))
		}
		j.progress.Unlock()
	}
	return j.finish(ctx)
}

// finish answers a job whose every file ran: a failure if any file failed
// in any invocation, else a success with one line per file.
func (j *pipelineJob) finish(ctx context.Context) error {
	c, total := j.snapshot()
	if n := c.failures(); n > 0 {
		failed := strings.Join(c.Failed, "\n")
		if c.Dropped > 0 {
			failed += fmt.Sprintf("\n(%d more failure(s) of earlier invocations not kept)", c.Dropped)
		}
		return j.fail(ctx, cptypes.FailureTypeJobFailed, fmt.Sprintf("%d of %d file(s) failed:\n%s\n\n%s", n, total, failed, strings.Join(c.Done, "\n")))
	}
	return j.succeed(ctx, strings.Join(c.Done, "\n"))
}

// fileSummary is one line of a job's summary.
func fileSummary(p string, pl *plan.Plan, mode records.Mode) string {
	n := pl.Counts()
	verb := "applied"
	if mode == records.ModePlan {
		verb = "planned"
	}
	if !pl.HasChanges() {
		return fmt.Sprintf("%s: %s: no changes", p, pl.Function.Name)
	}
	return fmt.Sprintf("%s: %s: %s %d create, %d update, %d replace, %d delete, %d adopt",
		p, pl.Function.Name, verb, n[plan.Create], n[plan.Update], n[plan.Replace], n[plan.Delete], n[plan.Adopt])
}

// snapshot is a copy of where the job is, and its number of files.
func (j *pipelineJob) snapshot() (continuation, int) {
	j.progress.Lock()
	defer j.progress.Unlock()
	s := j.state
	return continuation{Next: s.Next, Done: slices.Clone(s.Done), Failed: slices.Clone(s.Failed), Dropped: s.Dropped}, j.total
}

// watch starts the watchdog: should the work still run (a call that does
// not heed its context) halfway through the reserve before deadline, the
// job is answered with a continuation token from where the run is, so
// that it is never left unanswered when Lambda stops at its deadline. The
// next invocation runs the current file again. stop ends the watchdog.
func (j *pipelineJob) watch(ctx context.Context, deadline time.Time) (stop func()) {
	done := make(chan struct{})
	go func() {
		t := time.NewTimer(time.Until(deadline.Add(-j.pl.h.DeadlineReserve() / 2)))
		defer t.Stop()
		select {
		case <-done:
			return
		case <-t.C:
		}
		c, total := j.snapshot()
		j.log.WarnContext(ctx, "job still running near the deadline: answered with a continuation token", "next", c.Next)
		if err := j.continueLater(ctx, c, total); err != nil {
			j.log.ErrorContext(ctx, "answer job", "error", err.Error())
		}
	}()
	return func() { close(done) }
}

// answerPanic, deferred, fails the job on a panic of its run.
func (j *pipelineJob) answerPanic(ctx context.Context, err *error) {
	if p := recover(); p != nil {
		j.log.ErrorContext(ctx, "panic", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
		*err = j.fail(ctx, cptypes.FailureTypeJobFailed, fmt.Sprintf("eventwire deployer: internal error: %v", p))
	}
}

// jobAnswer makes sure a job is answered once.
type jobAnswer struct {
	mu   sync.Mutex
	done bool
}

// once sends an answer unless the job was answered already. The lock is
// held while answering, so that a concurrent answer waits for it.
func (a *jobAnswer) once(ctx context.Context, log *slog.Logger, send func() error) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.done {
		log.InfoContext(ctx, "job already answered; this result is not sent")
		return nil
	}
	a.done = true
	return send()
}

func (a *jobAnswer) answered() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.done
}

// fail answers the job with a failure, unless it was answered.
func (j *pipelineJob) fail(ctx context.Context, kind cptypes.FailureType, msg string) error {
	return j.answer.once(ctx, j.log, func() error {
		j.log.ErrorContext(ctx, "job failed", "reason", msg)
		_, err := j.pl.cfg.API.PutJobFailureResult(context.WithoutCancel(ctx), &codepipeline.PutJobFailureResultInput{
			JobId:          aws.String(j.job.ID),
			FailureDetails: &cptypes.FailureDetails{Type: kind, Message: aws.String(clip(msg, maxFailureMessage))},
		})
		if err != nil {
			return fmt.Errorf("answer job %s with failure: %w", j.job.ID, err)
		}
		return nil
	})
}

// succeed answers the job with a success, unless it was answered.
func (j *pipelineJob) succeed(ctx context.Context, summary string) error {
	return j.answer.once(ctx, j.log, func() error { return j.putSuccess(ctx, summary, "") })
}

// continueLater answers the job, unless it was answered, with a
// continuation token: CodePipeline invokes the function again with it,
// and the run resumes at c.Next.
func (j *pipelineJob) continueLater(ctx context.Context, c continuation, total int) error {
	return j.answer.once(ctx, j.log, func() error {
		c, token := c.token()
		return j.putSuccess(ctx, c.summary(total), token)
	})
}

// continueFromHere answers the job with a continuation token from where
// the run is.
func (j *pipelineJob) continueFromHere(ctx context.Context) error {
	c, total := j.snapshot()
	return j.continueLater(ctx, c, total)
}

// putSuccess sends PutJobSuccessResult: with a continuation token, or
// complete.
func (j *pipelineJob) putSuccess(ctx context.Context, summary, token string) error {
	in := &codepipeline.PutJobSuccessResultInput{
		JobId:            aws.String(j.job.ID),
		ExecutionDetails: &cptypes.ExecutionDetails{Summary: aws.String(clip(summary, maxSummary))},
	}
	if token != "" {
		in.ContinuationToken = aws.String(token)
	} else {
		in.ExecutionDetails.PercentComplete = aws.Int32(100)
	}
	if _, err := j.pl.cfg.API.PutJobSuccessResult(context.WithoutCancel(ctx), in); err != nil {
		return fmt.Errorf("answer job %s with success: %w", j.job.ID, err)
	}
	j.log.InfoContext(ctx, "job answered", "summary", summary, "continuation", token != "")
	return nil
}

// continuation is the state carried from one invocation of a job to the
// next in the continuation token.
type continuation struct {
	// Next is the index of the next file to run, in the job's order.
	Next int `json:"next"`
	// Done summarises the files already run.
	Done []string `json:"done,omitempty"`
	// Failed holds the failures of the files already run ("PATH: error"),
	// so that the job still fails at its end; Dropped counts those left
	// out to keep the token within its limit.
	Failed  []string `json:"failed,omitempty"`
	Dropped int      `json:"dropped,omitempty"`
}

// failures is how many files of the job failed so far.
func (c continuation) failures() int { return len(c.Failed) + c.Dropped }

// maxFailureInToken bounds one failure's text in a continuation token.
const maxFailureInToken = 300

// token returns c as a continuation token within its limit, and what of c
// it holds: failures are kept shortened, then the oldest summary lines are
// dropped, then failures (counted in Dropped).
func (c continuation) token() (continuation, string) {
	c.Failed = append([]string(nil), c.Failed...)
	for i, f := range c.Failed {
		c.Failed[i] = clip(f, maxFailureInToken)
	}
	b, _ := json.Marshal(c)
	for len(b) > maxContinuationToken && len(c.Done) > 0 {
		c.Done = c.Done[1:]
		b, _ = json.Marshal(c)
	}
	for len(b) > maxContinuationToken && len(c.Failed) > 0 {
		c.Failed = c.Failed[:len(c.Failed)-1]
		c.Dropped++
		b, _ = json.Marshal(c)
	}
	return c, string(b)
}

// summary is the summary of an answer with a continuation token.
func (c continuation) summary(total int) string {
	s := fmt.Sprintf("%d of %d file(s) done, continuing", c.Next, total)
	if n := c.failures(); n > 0 {
		s = fmt.Sprintf("%d of %d file(s) done (%d failed), continuing", c.Next, total, n)
	}
	if len(c.Done) > 0 {
		s += ":\n" + strings.Join(c.Done, "\n")
	}
	return s
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const more = "\n..."
	return s[:n-len(more)] + more
}
