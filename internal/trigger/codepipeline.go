package trigger

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path"
	"runtime/debug"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
	cptypes "github.com/aws/aws-sdk-go-v2/service/codepipeline/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/eventwire/eventwire/internal/definition"
	"github.com/eventwire/eventwire/internal/plan"
	"github.com/eventwire/eventwire/internal/records"
)

// CodePipelineAPI is the slice of the CodePipeline client the deployer
// needs: answering the job it was invoked for.
type CodePipelineAPI interface {
	PutJobSuccessResult(ctx context.Context, in *codepipeline.PutJobSuccessResultInput, opts ...func(*codepipeline.Options)) (*codepipeline.PutJobSuccessResultOutput, error)
	PutJobFailureResult(ctx context.Context, in *codepipeline.PutJobFailureResultInput, opts ...func(*codepipeline.Options)) (*codepipeline.PutJobFailureResultOutput, error)
}

// NewArtifactS3 returns a builder of S3 clients that read pipeline
// artifacts with a job's own artifact credentials (not the function's
// role): cfg's region, endpoint and options, the job's keys.
func NewArtifactS3(cfg aws.Config, optFns ...func(*s3.Options)) func(events.CodePipelineArtifactCredentials) S3API {
	return func(c events.CodePipelineArtifactCredentials) S3API {
		jobCfg := cfg.Copy()
		jobCfg.Credentials = aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(c.AccessKeyID, c.SecretAccessKey, c.SessionToken))
		return s3.NewFromConfig(jobCfg, optFns...)
	}
}

// Limits of the CodePipeline job APIs.
const (
	maxSummary           = 2048 // ExecutionDetails.Summary
	maxFailureMessage    = 5000 // FailureDetails.Message
	maxArtifactBytes     = 256 << 20
	maxContinuationToken = 2048
)

// pipelineParams are the action's UserParameters.
type pipelineParams struct {
	// Mode is "apply" (the default) or "plan".
	Mode string `json:"mode"`
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

// pipelineFile is one definition file found in the input artifacts.
type pipelineFile struct {
	path        string // ARTIFACT/path/in/zip
	data, sib   []byte
	parsed      *definition.File
	invalidErrs []string
}

// handleCodePipeline runs a CodePipeline job and always answers it.
func (h *Handler) handleCodePipeline(ctx context.Context, raw json.RawMessage) (err error) {
	var ev events.CodePipelineJobEvent
	if err := json.Unmarshal(raw, &ev); err != nil {
		return fmt.Errorf("decode CodePipeline job event: %w", err)
	}
	job := ev.CodePipelineJob
	if job.ID == "" {
		return errors.New("decode CodePipeline job event: no job id")
	}
	log := h.log.With("job", job.ID)
	// The job is answered once: by the run, by the watchdog near the
	// deadline, or after a panic; whichever comes first.
	var answer jobAnswer
	fail := func(kind cptypes.FailureType, msg string) error {
		return answer.once(ctx, log, func() error {
			log.ErrorContext(ctx, "job failed", "reason", msg)
			_, err := h.cfg.CodePipeline.PutJobFailureResult(context.WithoutCancel(ctx), &codepipeline.PutJobFailureResultInput{
				JobId:          aws.String(job.ID),
				FailureDetails: &cptypes.FailureDetails{Type: kind, Message: aws.String(clip(msg, maxFailureMessage))},
			})
			if err != nil {
				return fmt.Errorf("answer job %s with failure: %w", job.ID, err)
			}
			return nil
		})
	}
	succeed := func(summary string) error {
		return answer.once(ctx, log, func() error { return h.succeed(ctx, log, job.ID, summary, "") })
	}
	continueLater := func(c continuation, total int) error {
		return answer.once(ctx, log, func() error { return h.continueLater(ctx, log, job.ID, c, total) })
	}
	defer func() {
		if p := recover(); p != nil {
			log.ErrorContext(ctx, "panic", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			err = fail(cptypes.FailureTypeJobFailed, fmt.Sprintf("eventwire deployer: internal error: %v", p))
		}
	}()

	var params pipelineParams
	if s := strings.TrimSpace(job.Data.ActionConfiguration.Configuration.UserParameters); s != "" {
		// Strict: a misspelt key must not turn a plan-only stage into
		// one that applies.
		dec := json.NewDecoder(strings.NewReader(s))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&params); err != nil {
			return fail(cptypes.FailureTypeConfigurationError, fmt.Sprintf(`UserParameters: want {"mode":"apply"} or {"mode":"plan"}: %v`, err))
		}
	}
	mode := records.ModeApply
	switch params.Mode {
	case "", "apply":
	case "plan":
		mode = records.ModePlan
	default:
		return fail(cptypes.FailureTypeConfigurationError, fmt.Sprintf(`UserParameters: mode %q: want "apply" or "plan"`, params.Mode))
	}
	var cont continuation
	if t := job.Data.ContinuationToken; t != "" {
		if err := json.Unmarshal([]byte(t), &cont); err != nil {
			return fail(cptypes.FailureTypeJobFailed, fmt.Sprintf("continuation token %q: %v", t, err))
		}
	}

	// Leave time to answer before Lambda's deadline: everything from here
	// on (reading the artifacts too) stops DeadlineReserve before it.
	runCtx, cancel := ctx, context.CancelFunc(func() {})
	if d, ok := ctx.Deadline(); ok {
		runCtx, cancel = context.WithDeadline(ctx, d.Add(-h.cfg.DeadlineReserve))
	}
	defer cancel()

	// Failures of earlier invocations of this job come back in the token,
	// so that a job whose first part failed does not end in success.
	// progress guards state and total, which the watchdog reads.
	var progress sync.Mutex
	state := continuation{Next: cont.Next, Done: cont.Done, Failed: cont.Failed, Dropped: cont.Dropped}
	total := 0
	if d, ok := ctx.Deadline(); ok {
		// The watchdog: should the work still run (a call that does not
		// heed its context) halfway through the reserve, the job is
		// answered with a continuation token from where the run is, so
		// that it is never left unanswered when Lambda stops at its
		// deadline. The next invocation runs the current file again.
		stop := make(chan struct{})
		defer close(stop)
		go func() {
			t := time.NewTimer(time.Until(d.Add(-h.cfg.DeadlineReserve / 2)))
			defer t.Stop()
			select {
			case <-stop:
				return
			case <-t.C:
			}
			progress.Lock()
			c := continuation{Next: state.Next, Done: slices.Clone(state.Done), Failed: slices.Clone(state.Failed), Dropped: state.Dropped}
			n := total
			progress.Unlock()
			log.WarnContext(ctx, "job still running near the deadline: answered with a continuation token", "next", c.Next)
			if err := continueLater(c, n); err != nil {
				log.ErrorContext(ctx, "answer job", "error", err.Error())
			}
		}()
	}

	files, err := h.artifactFiles(runCtx, job)
	if err != nil {
		if runCtx.Err() != nil && ctx.Err() == nil {
			err = fmt.Errorf("reading the input artifacts did not finish within the function's timeout: %w", err)
		}
		return fail(cptypes.FailureTypeJobFailed, err.Error())
	}
	if len(files) == 0 {
		return succeed(fmt.Sprintf("no %s in the input artifacts", definition.FileName))
	}

	// Every file is validated before anything is sent to AWS: one invalid
	// file fails the job and changes nothing.
	var invalid []string
	var parsed []*definition.File
	for _, f := range files {
		pf, rec, perr := h.parse(runCtx, records.TriggerCodePipeline, "codepipeline://"+job.ID+"/"+f.path, f.path, f.data, f.sib)
		if rec != nil {
			invalid = append(invalid, rec.Errors...)
			continue
		}
		if perr != nil {
			return fail(cptypes.FailureTypeJobFailed, perr.Error())
		}
		f.parsed = pf
		parsed = append(parsed, pf)
	}
	// Files that would undo each other are invalid together, as in the
	// CLI.
	conflicting := conflicts(parsed)
	for _, f := range files {
		errs := conflicting[f.path]
		if len(errs) == 0 || f.parsed == nil {
			continue
		}
		if _, err := h.recordInvalid(runCtx, records.TriggerCodePipeline, "codepipeline://"+job.ID+"/"+f.path, f.parsed.Function, errs); err != nil {
			return fail(cptypes.FailureTypeJobFailed, err.Error())
		}
		invalid = append(invalid, errs...)
	}
	if len(invalid) > 0 {
		return fail(cptypes.FailureTypeConfigurationError, fmt.Sprintf("%d validation error(s), nothing applied:\n%s", len(invalid), strings.Join(invalid, "\n")))
	}

	progress.Lock()
	total = len(files)
	progress.Unlock()
	for i := cont.Next; i < len(files); i++ {
		progress.Lock()
		state.Next = i
		progress.Unlock()
		if answer.answered() {
			return nil // by the watchdog
		}
		if runCtx.Err() != nil {
			return continueLater(state, len(files))
		}
		f := files[i]
		res := h.run(runCtx, work{trigger: records.TriggerCodePipeline, source: "codepipeline://" + job.ID + "/" + f.path, mode: mode, file: f.parsed})
		if res.err != nil && (errors.Is(res.err, records.ErrLeaseHeld) || (runCtx.Err() != nil && ctx.Err() == nil)) {
			// Cut short by the reserve, or the function is being deployed
			// by another run: apply is idempotent, so the next invocation
			// runs this file again.
			return continueLater(state, len(files))
		}
		progress.Lock()
		if res.err != nil {
			state.Failed = append(state.Failed, fmt.Sprintf("%s: %v", f.path, res.err))
			state.Done = append(state.Done, f.path+": failed")
		} else {
			state.Done = append(state.Done, fileSummary(f.path, res.plan, mode))
		}
		progress.Unlock()
	}
	if n := state.failures(); n > 0 {
		failed := strings.Join(state.Failed, "\n")
		if state.Dropped > 0 {
			failed += fmt.Sprintf("\n(%d more failure(s) of earlier invocations not kept)", state.Dropped)
		}
		return fail(cptypes.FailureTypeJobFailed, fmt.Sprintf("%d of %d file(s) failed:\n%s\n\n%s", n, len(files), failed, strings.Join(state.Done, "\n")))
	}
	return succeed(strings.Join(state.Done, "\n"))
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

func (h *Handler) succeed(ctx context.Context, log interface {
	InfoContext(context.Context, string, ...any)
}, jobID, summary, token string) error {
	in := &codepipeline.PutJobSuccessResultInput{
		JobId:            aws.String(jobID),
		ExecutionDetails: &cptypes.ExecutionDetails{Summary: aws.String(clip(summary, maxSummary))},
	}
	if token != "" {
		in.ContinuationToken = aws.String(token)
	} else {
		in.ExecutionDetails.PercentComplete = aws.Int32(100)
	}
	if _, err := h.cfg.CodePipeline.PutJobSuccessResult(context.WithoutCancel(ctx), in); err != nil {
		return fmt.Errorf("answer job %s with success: %w", jobID, err)
	}
	log.InfoContext(ctx, "job answered", "summary", summary, "continuation", token != "")
	return nil
}

// continueLater answers the job with a continuation token: CodePipeline
// invokes the function again with it, and the run resumes at c.Next.
func (h *Handler) continueLater(ctx context.Context, log interface {
	InfoContext(context.Context, string, ...any)
}, jobID string, c continuation, total int) error {
	// The token is bounded: failures are kept shortened, then the oldest
	// summary lines are dropped, then failures (counted in Dropped).
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
	in := fmt.Sprintf("%d of %d file(s) done, continuing", c.Next, total)
	if n := c.failures(); n > 0 {
		in = fmt.Sprintf("%d of %d file(s) done (%d failed), continuing", c.Next, total, n)
	}
	if len(c.Done) > 0 {
		in += ":\n" + strings.Join(c.Done, "\n")
	}
	return h.succeed(ctx, log, jobID, in, string(b))
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const more = "\n..."
	return s[:n-len(more)] + more
}

// artifactFiles reads every input artifact with the job's artifact
// credentials and returns the definition files in them, in artifact order
// and then by path.
func (h *Handler) artifactFiles(ctx context.Context, job events.CodePipelineJob) ([]*pipelineFile, error) {
	if h.cfg.ArtifactS3 == nil {
		return nil, errors.New("no S3 client for pipeline artifacts")
	}
	api := h.cfg.ArtifactS3(job.Data.ArtifactCredentials)
	var out []*pipelineFile
	for _, a := range job.Data.InputArtifacts {
		loc := a.Location.S3Location
		if a.Location.LocationType != "" && a.Location.LocationType != "S3" {
			return nil, fmt.Errorf("input artifact %s: location type %s, want S3", a.Name, a.Location.LocationType)
		}
		b, err := getObject(ctx, api, loc.BucketName, loc.ObjectKey, "", maxArtifactBytes+1)
		if err != nil {
			return nil, fmt.Errorf("input artifact %s: %w", a.Name, err)
		}
		if len(b) > maxArtifactBytes {
			return nil, fmt.Errorf("input artifact %s: larger than %d MiB", a.Name, maxArtifactBytes>>20)
		}
		files, err := zipDefinitions(a.Name, b)
		if err != nil {
			return nil, fmt.Errorf("input artifact %s (s3://%s/%s): %w", a.Name, loc.BucketName, loc.ObjectKey, err)
		}
		out = append(out, files...)
	}
	return out, nil
}

// zipDefinitions finds the definition files (and their siblings) in a zip.
func zipDefinitions(artifact string, b []byte) ([]*pipelineFile, error) {
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return nil, fmt.Errorf("read zip: %w", err)
	}
	entries := map[string]*zip.File{}
	for _, f := range zr.File {
		if !f.FileInfo().IsDir() {
			entries[strings.TrimPrefix(path.Clean("/"+f.Name), "/")] = f
		}
	}
	var names []string
	for name := range entries {
		if isDefinitionPath(name) {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	var out []*pipelineFile
	for _, name := range names {
		data, err := readZipFile(entries[name], maxFileBytes)
		if err != nil {
			return nil, err
		}
		pf := &pipelineFile{path: artifact + "/" + name, data: data}
		if sib, ok := entries[strings.TrimPrefix(path.Join(path.Dir(name), definition.FunctionDefFileName), "./")]; ok {
			if pf.sib, err = readZipFile(sib, maxFileBytes); err != nil {
				return nil, err
			}
		}
		out = append(out, pf)
	}
	return out, nil
}

func readZipFile(f *zip.File, limit int64) ([]byte, error) {
	rc, err := f.Open()
	if err != nil {
		return nil, fmt.Errorf("open %s in zip: %w", f.Name, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, limit))
	if err != nil {
		return nil, fmt.Errorf("read %s in zip: %w", f.Name, err)
	}
	return b, nil
}
