package pipeline_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/google/go-cmp/cmp"

	"github.com/eventwire/eventwire/internal/deployer/pipeline"
	"github.com/eventwire/eventwire/internal/reconcile"
	"github.com/eventwire/eventwire/internal/records"
	"github.com/eventwire/eventwire/internal/testkit/deployertest"
	"github.com/eventwire/eventwire/internal/testkit/mototest"
)

const (
	artifactBucket = "codepipeline-us-east-1-123456789012"
	jobKeyID       = "ASIAJOBARTIFACTKEY01"
)

// credsRecorder is an HTTP client that notes the access key id each request
// was signed with.
type credsRecorder struct {
	inner aws.HTTPClient
	mu    sync.Mutex
	keys  []string
}

var credentialRE = regexp.MustCompile(`Credential=([A-Z0-9]+|testing)/`)

func (c *credsRecorder) Do(r *http.Request) (*http.Response, error) {
	m := credentialRE.FindStringSubmatch(r.Header.Get("Authorization"))
	c.mu.Lock()
	if m != nil {
		c.keys = append(c.keys, m[1])
	} else {
		c.keys = append(c.keys, "unsigned")
	}
	c.mu.Unlock()
	return c.inner.Do(r)
}

func zipOf(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for name, content := range files {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(content))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

type pipelineEnv struct {
	*deployertest.Env
	pipeline *deployertest.JSONServer
	jobs     *pipelineJobs
	creds    *credsRecorder
}

// pipelineJobs are the jobs the CodePipeline fake knows, by id, with the
// data GetJobDetails answers; and which of them were answered.
type pipelineJobs struct {
	mu       sync.Mutex
	data     map[string]map[string]any
	answered map[string]bool
}

// ops are the fake's operations: GetJobDetails of a known job, and one
// result per job, as CodePipeline takes them (JobNotFoundException for
// an unknown id, InvalidJobStateException for a job already answered).
func (pj *pipelineJobs) ops() map[string]func(map[string]any) (any, error) {
	known := func(in map[string]any) (string, map[string]any, error) {
		id, _ := in["jobId"].(string)
		pj.mu.Lock()
		defer pj.mu.Unlock()
		data, ok := pj.data[id]
		if !ok {
			return id, nil, deployertest.AWSError{Type: "JobNotFoundException", Message: "job " + id + " not found"}
		}
		return id, data, nil
	}
	result := func(in map[string]any) (any, error) {
		id, _, err := known(in)
		if err != nil {
			return nil, err
		}
		pj.mu.Lock()
		defer pj.mu.Unlock()
		if pj.answered[id] {
			return nil, deployertest.AWSError{Type: "InvalidJobStateException", Message: "job " + id + " is not in progress"}
		}
		pj.answered[id] = true
		return map[string]any{}, nil
	}
	return map[string]func(map[string]any) (any, error){
		"GetJobDetails": func(in map[string]any) (any, error) {
			id, data, err := known(in)
			if err != nil {
				return nil, err
			}
			return map[string]any{"jobDetails": map[string]any{"id": id, "accountId": "123456789012", "data": data}}, nil
		},
		"PutJobSuccessResult": result,
		"PutJobFailureResult": result,
	}
}

// newPipelineEnv uploads the two artifacts of testdata/codepipeline-job.json
// and wires the CodePipeline fake, which knows the jobs of jobEvent.
func newPipelineEnv(t *testing.T, source, build map[string]string) *pipelineEnv {
	return newPipelineEnvOn(t, deployertest.NewEnv(t), source, build)
}

func newPipelineEnvOn(t *testing.T, e *deployertest.Env, source, build map[string]string) *pipelineEnv {
	return newPipelineEnvZips(t, e, zipOf(t, source), zipOf(t, build))
}

// newPipelineEnvZips is newPipelineEnvOn with the artifacts' bytes.
func newPipelineEnvZips(t *testing.T, e *deployertest.Env, source, build []byte) *pipelineEnv {
	ctx := context.Background()
	if _, err := e.S3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(artifactBucket)}); err != nil {
		t.Fatal(err)
	}
	for key, zip := range map[string][]byte{
		"definitions-pipeline/SourceArti/Xa3kL9p": source,
		"definitions-pipeline/BuildArtif/Qm7vT2c": build,
	} {
		if _, err := e.S3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(artifactBucket), Key: aws.String(key), Body: bytes.NewReader(zip)}); err != nil {
			t.Fatal(err)
		}
	}
	pe := &pipelineEnv{Env: e, jobs: &pipelineJobs{data: map[string]map[string]any{}, answered: map[string]bool{}}}
	pe.pipeline = deployertest.NewJSONServer(t, "CodePipeline_20150709", pe.jobs.ops())
	e.Config.CodePipeline.API = codepipeline.NewFromConfig(e.AWS, func(o *codepipeline.Options) { o.BaseEndpoint = aws.String(pe.pipeline.URL) })
	artCfg := e.AWS.Copy()
	pe.creds = &credsRecorder{inner: artCfg.HTTPClient}
	artCfg.HTTPClient = pe.creds
	e.Config.CodePipeline.ArtifactS3 = pipeline.NewArtifactS3(artCfg, deployertest.S3Options)
	return pe
}

const firstJobID = "11111111-abcd-1111-abcd-111111111111"

// jobEvent is the event of a new job of the pipeline (testdata's, with
// these UserParameters and continuation token), which the CodePipeline
// fake then knows. The first job's id is firstJobID; a continuation is a
// new job, as in CodePipeline.
func (pe *pipelineEnv) jobEvent(t *testing.T, userParameters, token string) json.RawMessage {
	t.Helper()
	pe.jobs.mu.Lock()
	id := firstJobID
	if n := len(pe.jobs.data); n > 0 {
		id = fmt.Sprintf("%08d-abcd-1111-abcd-111111111111", n+1)
	}
	pe.jobs.mu.Unlock()
	ev := jobEventOf(t, id, userParameters, token)
	pe.register(t, ev)
	return ev
}

// register makes the job of ev known to the CodePipeline fake, with the
// details of an invoke action of the deployer in a pipeline.
func (pe *pipelineEnv) register(t *testing.T, ev json.RawMessage) {
	t.Helper()
	var job struct {
		Job struct {
			ID   string         `json:"id"`
			Data map[string]any `json:"data"`
		} `json:"CodePipeline.job"`
	}
	if err := json.Unmarshal(ev, &job); err != nil {
		t.Fatal(err)
	}
	job.Job.Data["actionTypeId"] = map[string]any{"category": "Invoke", "owner": "AWS", "provider": "Lambda", "version": "1"}
	job.Job.Data["pipelineContext"] = map[string]any{"pipelineName": "definitions-pipeline", "stage": map[string]any{"name": "Deploy"}, "action": map[string]any{"name": "eventwire"}}
	pe.jobs.mu.Lock()
	defer pe.jobs.mu.Unlock()
	pe.jobs.data[job.Job.ID] = job.Job.Data
}

// jobEventOf renders testdata/codepipeline-job.json.
func jobEventOf(t *testing.T, id, userParameters, token string) json.RawMessage {
	t.Helper()
	up, _ := json.Marshal(userParameters)
	tok, _ := json.Marshal(token)
	return deployertest.Event(t, "codepipeline-job.json", map[string]string{"JobID": id, "UserParameters": string(up), "ContinuationToken": string(tok)})
}

// answers are the job results the CodePipeline fake got, in order.
func (pe *pipelineEnv) answers() []deployertest.JSONRequest {
	var out []deployertest.JSONRequest
	for _, r := range pe.pipeline.Requests() {
		if strings.HasPrefix(r.Op, "PutJob") {
			out = append(out, r)
		}
	}
	return out
}

var (
	ordersArtifact = map[string]string{
		"orders/_lambdaeventsourcedef.json": `{"PullEventSources":{"EventSourceMapping":{"EventSourceArn":"arn:aws:sqs:us-east-1:123456789012:orders","BatchSize":5}}}`,
		"orders/_lambdadef.json":            `{"FunctionName":"orders"}`,
		"README.md":                         "# definitions",
	}
	inventoryArtifact = map[string]string{
		"services/inventory/_lambdaeventsourcedef.json": deployertest.SQSFile("inventory", "inventory", 7),
	}
)

func TestCodePipeline_AppliesBothArtifactsAndAnswers(t *testing.T) {
	pe := newPipelineEnv(t, ordersArtifact, inventoryArtifact)
	// Through aws-lambda-go's handler wrapper, as Lambda calls it.
	if _, err := lambda.NewHandler(pe.NewHandler().Handle).Invoke(context.Background(), pe.jobEvent(t, "", "")); err != nil {
		t.Fatal(err)
	}
	want := []string{"plan orders", "apply orders", "plan inventory", "apply inventory"}
	if diff := cmp.Diff(want, pe.Deployer.Calls()); diff != "" {
		t.Errorf("deployer calls (-want +got):\n%s", diff)
	}
	wantAnswer := []deployertest.JSONRequest{{Op: "PutJobSuccessResult", Body: map[string]any{
		"jobId": "11111111-abcd-1111-abcd-111111111111",
		"executionDetails": map[string]any{
			"percentComplete": float64(100),
			"summary": "SourceArtifact/orders/_lambdaeventsourcedef.json: orders: applied 1 create, 0 update, 0 replace, 0 delete, 0 adopt\n" +
				"BuildArtifact/services/inventory/_lambdaeventsourcedef.json: inventory: applied 1 create, 0 update, 0 replace, 0 delete, 0 adopt",
		},
	}}}
	if diff := cmp.Diff(wantAnswer, pe.answers()); diff != "" {
		t.Errorf("job answer (-want +got):\n%s", diff)
	}
	// The artifacts were read with the job's credentials, not the
	// function's.
	if diff := cmp.Diff([]string{jobKeyID, jobKeyID}, pe.creds.keys); diff != "" {
		t.Errorf("access keys of the artifact reads (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"succeeded apply codepipeline://11111111-abcd-1111-abcd-111111111111/BuildArtifact/services/inventory/_lambdaeventsourcedef.json"}, pe.Outcomes("inventory")); diff != "" {
		t.Errorf("records (-want +got):\n%s", diff)
	}
}

func TestCodePipeline_PlanModeOnlyPlans(t *testing.T) {
	pe := newPipelineEnv(t, ordersArtifact, inventoryArtifact)
	if err := pe.NewHandler().Handle(context.Background(), pe.jobEvent(t, `{"mode":"plan"}`, "")); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"plan orders", "plan inventory"}, pe.Deployer.Calls()); diff != "" {
		t.Errorf("deployer calls (-want +got):\n%s", diff)
	}
	a := pe.answers()
	if len(a) != 1 || a[0].Op != "PutJobSuccessResult" || !strings.Contains(deployertest.JSONString(a[0].Body), "orders: planned 1 create") {
		t.Errorf("job answer: %v", a)
	}
	// One line per planned change, with stable keys.
	if got := pe.Log.Grep("planned change function=orders"); len(got) != 1 || !strings.Contains(got[0], "kind=event-source-mapping action=create id=arn:aws:sqs:us-east-1:123456789012:orders") {
		t.Errorf("planned change log lines: %q", got)
	}
	if diff := cmp.Diff([]string{"planned plan codepipeline://11111111-abcd-1111-abcd-111111111111/SourceArtifact/orders/_lambdaeventsourcedef.json"}, pe.Outcomes("orders")); diff != "" {
		t.Errorf("records (-want +got):\n%s", diff)
	}
}

// Failures are always answered, and the handler returns nil: the job, not
// Lambda's retry, carries the failure.
func TestCodePipeline_FailuresAnswered(t *testing.T) {
	bad := map[string]string{"services/inventory/_lambdaeventsourcedef.json": `{"FunctionName":"inventory","PullEventSources":{},"Unknown":1}`}
	tests := []struct {
		name        string
		build       map[string]string
		params      string
		setup       func(*pipelineEnv)
		wantType    string
		wantMessage []string
		wantCalls   []string
	}{
		{
			name: "invalid file: nothing applied", build: bad,
			wantType:    "ConfigurationError",
			wantMessage: []string{"2 validation error(s), nothing applied", "BuildArtifact/services/inventory/_lambdaeventsourcedef.json", "Unknown"},
		},
		{
			name: "bad user parameters", build: inventoryArtifact, params: `{"mode":"yolo"}`,
			wantType: "ConfigurationError", wantMessage: []string{`mode "yolo"`},
		},
		{
			name: "misspelt user parameter", build: inventoryArtifact, params: `{"mdoe":"plan"}`,
			wantType: "ConfigurationError", wantMessage: []string{`UserParameters: want {"mode":"apply"} or {"mode":"plan"}`, `unknown field "mdoe"`},
		},
		{
			name: "user parameter given twice", build: inventoryArtifact, params: `{"mode":"plan","mode":"apply"}`,
			wantType: "ConfigurationError", wantMessage: []string{`UserParameters: want {"mode":"apply"} or {"mode":"plan"}`, `key "mode" given twice`},
		},
		{
			name: "data after the user parameters", build: inventoryArtifact, params: `{"mode":"plan"} {"mode":"apply"}`,
			wantType: "ConfigurationError", wantMessage: []string{`UserParameters: want {"mode":"apply"} or {"mode":"plan"}`, `data after the object`},
		},
		{
			name: "panic", build: inventoryArtifact,
			setup:    func(pe *pipelineEnv) { pe.Deployer.PanicOnPlan = true },
			wantType: "JobFailed", wantMessage: []string{"internal error: deployer exploded"},
		},
		{
			name: "AWS failure", build: inventoryArtifact,
			setup: func(pe *pipelineEnv) {
				pe.Deployer.InApply = func(_ context.Context, fn string) error {
					if fn == "inventory" {
						return deployertest.AWSError{Type: "ServiceException", Message: "Lambda was unable to create the mapping"}
					}
					return nil
				}
			},
			wantType:    "JobFailed",
			wantMessage: []string{"1 of 2 file(s) failed", "inventory", "Lambda was unable to create the mapping", "orders: applied 1 create"},
			wantCalls:   []string{"plan orders", "apply orders", "plan inventory", "apply inventory"},
		},
		{
			name: "duplicate function", build: map[string]string{"x/_lambdaeventsourcedef.json": deployertest.SQSFile("orders", "orders-2", 1)},
			wantType: "ConfigurationError", wantMessage: []string{`function "orders" is already wired by SourceArtifact/orders/_lambdaeventsourcedef.json`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pe := newPipelineEnv(t, ordersArtifact, tt.build)
			if tt.setup != nil {
				tt.setup(pe)
			}
			if err := pe.NewHandler().Handle(context.Background(), pe.jobEvent(t, tt.params, "")); err != nil {
				t.Fatalf("Handle = %v, want nil (the job is answered)", err)
			}
			a := pe.answers()
			if len(a) != 1 || a[0].Op != "PutJobFailureResult" {
				t.Fatalf("answers %v, want one PutJobFailureResult", a)
			}
			fd, _ := a[0].Body["failureDetails"].(map[string]any)
			if fd["type"] != tt.wantType {
				t.Errorf("failure type %v, want %s", fd["type"], tt.wantType)
			}
			msg, _ := fd["message"].(string)
			deployertest.Golden(t, "pipeline-failure-"+strings.ReplaceAll(strings.ReplaceAll(tt.name, " ", "-"), ":", "")+".txt", msg)
			for _, w := range tt.wantMessage {
				if !strings.Contains(msg, w) {
					t.Errorf("failure message %q lacks %q", msg, w)
				}
			}
			if diff := cmp.Diff(tt.wantCalls, pe.Deployer.Calls()); diff != "" {
				t.Errorf("deployer calls (-want +got):\n%s", diff)
			}
		})
	}
}

// A job event with a field of the wrong type is still run and answered:
// only its id is read from the event (on its own), the job is
// CodePipeline's details.
func TestCodePipeline_FieldOfTheWrongType_StillAnswered(t *testing.T) {
	pe := newPipelineEnv(t, ordersArtifact, inventoryArtifact)
	var ev map[string]map[string]any
	if err := json.Unmarshal(pe.jobEvent(t, "", ""), &ev); err != nil {
		t.Fatal(err)
	}
	ev["CodePipeline.job"]["accountId"] = 123456789012
	raw, _ := json.Marshal(ev)
	if err := pe.NewHandler().Handle(context.Background(), raw); err != nil {
		t.Fatalf("Handle = %v, want nil (the job is answered)", err)
	}
	a := pe.answers()
	if len(a) != 1 || a[0].Op != "PutJobSuccessResult" || a[0].Body["jobId"] != firstJobID {
		t.Fatalf("answers %v, want one PutJobSuccessResult", a)
	}
	want := []string{"plan orders", "apply orders", "plan inventory", "apply inventory"}
	if diff := cmp.Diff(want, pe.Deployer.Calls()); diff != "" {
		t.Errorf("deployer calls (-want +got):\n%s", diff)
	}
}

// Near the Lambda deadline the job is answered with a continuation token;
// the next invocation resumes from it and finishes.
func TestCodePipeline_DeadlineContinues(t *testing.T) {
	pe := newPipelineEnv(t, ordersArtifact, inventoryArtifact)
	pe.Config.DeadlineReserve = 30 * time.Second
	// The second file's apply outlasts the time left before the reserve.
	pe.Deployer.InApply = func(ctx context.Context, fn string) error {
		if fn == "inventory" {
			<-ctx.Done()
			return ctx.Err()
		}
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), pe.Config.DeadlineReserve+3*time.Second) // 3 s of run, enough on a loaded machine
	defer cancel()
	if err := pe.NewHandler().Handle(ctx, pe.jobEvent(t, "", "")); err != nil {
		t.Fatal(err)
	}
	a := pe.answers()
	if len(a) != 1 || a[0].Op != "PutJobSuccessResult" {
		t.Fatalf("answers %v, want one PutJobSuccessResult", a)
	}
	token, _ := a[0].Body["continuationToken"].(string)
	if token == "" {
		t.Fatalf("no continuation token in %v", a[0].Body)
	}

	// CodePipeline invokes again with the token.
	pe.Deployer.InApply = nil
	if err := pe.NewHandler().Handle(context.Background(), pe.jobEvent(t, "", token)); err != nil {
		t.Fatal(err)
	}
	a = pe.answers()
	if len(a) != 2 || a[1].Op != "PutJobSuccessResult" || a[1].Body["continuationToken"] != nil {
		t.Fatalf("second answer %v, want a final PutJobSuccessResult", a)
	}
	summary := deployertest.JSONString(a[1].Body)
	for _, w := range []string{"orders: applied 1 create", "inventory: applied 1 create"} {
		if !strings.Contains(summary, w) {
			t.Errorf("final summary %s lacks %q", summary, w)
		}
	}
	// orders was not applied again.
	want := []string{"plan orders", "apply orders", "plan inventory", "apply inventory", "plan inventory", "apply inventory"}
	if diff := cmp.Diff(want, pe.Deployer.Calls()); diff != "" {
		t.Errorf("deployer calls (-want +got):\n%s", diff)
	}
	if got := pe.Outcomes("inventory"); len(got) != 2 || !strings.HasPrefix(got[0], string(records.Succeeded)) {
		t.Errorf("inventory records %q, want the success after the cut-short run", got)
	}
}

// A file that failed before the job was continued still fails the job at
// its end, although the files of the next invocation succeed.
func TestCodePipeline_FailureBeforeContinuation_FailsTheJob(t *testing.T) {
	pe := newPipelineEnv(t, ordersArtifact, inventoryArtifact)
	pe.Config.DeadlineReserve = 30 * time.Second
	pe.Deployer.InApply = func(ctx context.Context, fn string) error {
		switch fn {
		case "orders":
			return deployertest.AWSError{Type: "ServiceException", Message: "Lambda was unable to create the mapping"}
		case "inventory":
			<-ctx.Done() // outlasts the time left before the reserve
			return ctx.Err()
		}
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), pe.Config.DeadlineReserve+3*time.Second) // 3 s of run, enough on a loaded machine
	defer cancel()
	if err := pe.NewHandler().Handle(ctx, pe.jobEvent(t, "", "")); err != nil {
		t.Fatal(err)
	}
	a := pe.answers()
	if len(a) != 1 || a[0].Op != "PutJobSuccessResult" {
		t.Fatalf("answers %v, want one PutJobSuccessResult with a continuation token", a)
	}
	token, _ := a[0].Body["continuationToken"].(string)
	if token == "" {
		t.Fatalf("no continuation token in %v", a[0].Body)
	}
	if summary := deployertest.JSONString(a[0].Body); !strings.Contains(summary, "1 of 2 file(s) done (1 failed), continuing") {
		t.Errorf("continuation summary %s", summary)
	}

	pe.Deployer.InApply = nil
	if err := pe.NewHandler().Handle(context.Background(), pe.jobEvent(t, "", token)); err != nil {
		t.Fatal(err)
	}
	a = pe.answers()
	if len(a) != 2 || a[1].Op != "PutJobFailureResult" {
		t.Fatalf("answers %v, want the job failed at its end", a)
	}
	fd, _ := a[1].Body["failureDetails"].(map[string]any)
	msg, _ := fd["message"].(string)
	for _, w := range []string{"1 of 2 file(s) failed", "SourceArtifact/orders/_lambdaeventsourcedef.json: ", "Lambda was unable to create the mapping", "inventory: applied 1 create"} {
		if !strings.Contains(msg, w) {
			t.Errorf("failure message %q lacks %q", msg, w)
		}
	}
}

// blockingClient is an HTTP client that never answers: each request waits
// for its context to end (a stalled network read).
type blockingClient struct{}

func (blockingClient) Do(r *http.Request) (*http.Response, error) {
	<-r.Context().Done()
	return nil, r.Context().Err()
}

// Reading the artifacts is bounded by the deadline reserve too: a stalled
// read fails the job before Lambda's deadline, not after it.
func TestCodePipeline_StalledArtifactRead_AnsweredBeforeTheDeadline(t *testing.T) {
	pe := newPipelineEnv(t, ordersArtifact, inventoryArtifact)
	pe.Config.DeadlineReserve = 30 * time.Second
	artCfg := pe.AWS.Copy()
	artCfg.HTTPClient = blockingClient{}
	pe.Config.CodePipeline.ArtifactS3 = pipeline.NewArtifactS3(artCfg, deployertest.S3Options)
	ctx, cancel := context.WithTimeout(context.Background(), pe.Config.DeadlineReserve+3*time.Second) // 3 s of run, enough on a loaded machine
	defer cancel()
	if err := pe.NewHandler().Handle(ctx, pe.jobEvent(t, "", "")); err != nil {
		t.Fatal(err)
	}
	if ctx.Err() != nil {
		t.Error("the handler returned after the invocation's deadline: Lambda would have stopped it before it answered")
	}
	a := pe.answers()
	if len(a) != 1 || a[0].Op != "PutJobFailureResult" {
		t.Fatalf("answers %v, want one PutJobFailureResult", a)
	}
	fd, _ := a[0].Body["failureDetails"].(map[string]any)
	if msg, _ := fd["message"].(string); !strings.Contains(msg, "reading the input artifacts did not finish within the function's timeout") {
		t.Errorf("failure message %q", msg)
	}
	if calls := pe.Deployer.Calls(); len(calls) != 0 {
		t.Errorf("deployer called: %v", calls)
	}
}

// Files of one function under two qualifiers are two deployments, as in
// the CLI, not a duplicate; a target group given to two functions is a
// conflict (both would take it from the other on every apply): the job
// fails, nothing is applied, the conflict is recorded.
func TestCodePipeline_Conflicts_AsTheCLI(t *testing.T) {
	tg := "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/orders/0123456789abcdef"
	tests := []struct {
		name      string
		build     map[string]string
		wantOp    string
		wantCalls []string
		wantIn    string
	}{
		{
			name:      "two qualifiers",
			build:     map[string]string{"live/_lambdaeventsourcedef.json": deployertest.SQSFile("orders:live", "orders-live", 1)},
			wantOp:    "PutJobSuccessResult",
			wantCalls: []string{"plan orders", "apply orders", "plan orders:live", "apply orders:live"},
			wantIn:    "orders: applied 1 create",
		},
		{
			name: "one target group, two functions",
			build: map[string]string{
				"a/_lambdaeventsourcedef.json": `{"FunctionName":"inventory","PushEventSources":[{"Service":"elasticloadbalancing.amazonaws.com","TargetGroupArn":"` + tg + `"}]}`,
				"b/_lambdaeventsourcedef.json": `{"FunctionName":"shipping","PushEventSources":[{"Service":"elasticloadbalancing.amazonaws.com","TargetGroupArn":"` + tg + `"}]}`,
			},
			wantOp: "PutJobFailureResult",
			wantIn: `BuildArtifact/b/_lambdaeventsourcedef.json:1:48: PushEventSources[0]: target group ` + tg + ` is already wired to function \"inventory\"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pe := newPipelineEnv(t, ordersArtifact, tt.build)
			if err := pe.NewHandler().Handle(context.Background(), pe.jobEvent(t, "", "")); err != nil {
				t.Fatal(err)
			}
			a := pe.answers()
			if len(a) != 1 || a[0].Op != tt.wantOp {
				t.Fatalf("answers %v, want one %s", a, tt.wantOp)
			}
			if got := deployertest.JSONString(a[0].Body); !strings.Contains(got, tt.wantIn) {
				t.Errorf("answer %s lacks %s", got, tt.wantIn)
			}
			if diff := cmp.Diff(tt.wantCalls, pe.Deployer.Calls()); diff != "" {
				t.Errorf("deployer calls (-want +got):\n%s", diff)
			}
			if tt.wantOp == "PutJobFailureResult" {
				if got := pe.Outcomes("shipping"); len(got) != 1 || !strings.HasPrefix(got[0], "invalid apply") {
					t.Errorf("records of the conflicting file: %q", got)
				}
			}
		})
	}
}

// A run stuck in a call that does not heed its context is still answered
// before Lambda's deadline: the watchdog answers with a continuation token
// from the file in progress, the run's own late answer is not sent, and the
// next invocation finishes the job.
func TestCodePipeline_StuckRun_WatchdogAnswersBeforeTheDeadline(t *testing.T) {
	pe := newPipelineEnv(t, ordersArtifact, inventoryArtifact)
	pe.Config.DeadlineReserve = 4 * time.Second
	unblock := make(chan struct{})
	var once sync.Once
	let := func() { once.Do(func() { close(unblock) }) }
	defer let()
	pe.Deployer.InApply = func(_ context.Context, fn string) error {
		if fn == "inventory" {
			<-unblock
		}
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), pe.Config.DeadlineReserve+3*time.Second) // 3 s of run, enough on a loaded machine
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- pe.NewHandler().Handle(ctx, pe.jobEvent(t, "", "")) }()
	for len(pe.answers()) == 0 {
		select {
		case <-ctx.Done():
			t.Fatal("the job was not answered by the invocation's deadline")
		case <-time.After(20 * time.Millisecond):
		}
	}
	let()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	a := pe.answers()
	if len(a) != 1 || a[0].Op != "PutJobSuccessResult" {
		t.Fatalf("answers %v, want one PutJobSuccessResult with a continuation token", a)
	}
	token, _ := a[0].Body["continuationToken"].(string)
	if summary := deployertest.JSONString(a[0].Body); token == "" || !strings.Contains(summary, "1 of 2 file(s) done, continuing") {
		t.Fatalf("answer %s, want a continuation at the second file", summary)
	}
	if got := pe.Log.Grep("job already answered"); len(got) != 1 {
		t.Errorf("log lines of the run's late answer: %q", got)
	}

	pe.Deployer.InApply = nil
	if err := pe.NewHandler().Handle(context.Background(), pe.jobEvent(t, "", token)); err != nil {
		t.Fatal(err)
	}
	a = pe.answers()
	if len(a) != 2 || a[1].Op != "PutJobSuccessResult" || a[1].Body["continuationToken"] != nil {
		t.Fatalf("answers %v, want a final PutJobSuccessResult", a)
	}
	if summary := deployertest.JSONString(a[1].Body); !strings.Contains(summary, "orders: applied 1 create") || !strings.Contains(summary, "inventory: no changes") {
		t.Errorf("final summary %s", summary)
	}
}

// A CodePipeline job through the real handler and reconciler: the mapping
// its artifact declares exists in Lambda, and the job is answered with
// what changed.
func TestEndToEnd_CodePipelineJobWiresTheQueue(t *testing.T) {
	cfg := mototest.Shared(t).Config(t)
	_, e, fx := deployertest.EndToEnd(t, cfg)
	// The pipeline's artifacts and job-answer server, as in the handler
	// tests, with the real reconciler behind the handler.
	pe := newPipelineEnvOn(t, e, map[string]string{"orders/_lambdaeventsourcedef.json": deployertest.SQSFile("orders", "orders", 5)}, map[string]string{})
	pe.Config.Deployer = reconcile.New(cfg, reconcile.Options{})
	if err := pe.NewHandler().Handle(context.Background(), pe.jobEvent(t, "", "")); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"arn:aws:sqs:us-east-1:123456789012:orders batch=5"}, deployertest.Mappings(t, fx)); diff != "" {
		t.Errorf("mappings (-want +got):\n%s", diff)
	}
	a := pe.answers()
	if len(a) != 1 || a[0].Op != "PutJobSuccessResult" || !strings.Contains(deployertest.JSONString(a[0].Body), "orders: applied 1 create") {
		t.Errorf("job answer: %v", a)
	}
}
