package pipeline_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/google/go-cmp/cmp"

	"github.com/eventwire/eventwire/internal/contract"
	"github.com/eventwire/eventwire/internal/deployer/bucket"
	"github.com/eventwire/eventwire/internal/deployer/sweep"
	"github.com/eventwire/eventwire/internal/records"
	"github.com/eventwire/eventwire/internal/testkit/deployertest"
)

const sweepQueueARN = "arn:aws:sqs:us-east-1:123456789012:eventwire-sweep"

// setBuild replaces the build artifact's files, for the pipeline's next
// run.
func (pe *pipelineEnv) setBuild(t *testing.T, files map[string]string) {
	t.Helper()
	_, err := pe.S3.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(artifactBucket),
		Key: aws.String("definitions-pipeline/BuildArtif/Qm7vT2c"), Body: bytes.NewReader(zipOf(t, files))})
	if err != nil {
		t.Fatal(err)
	}
}

// check delivers one sweep check of fn (as the sweep's queue would, the
// function listed as kind) to a handler that heals.
func (pe *pipelineEnv) check(t *testing.T, fn, kind string) {
	t.Helper()
	pe.Config.Sweep = sweep.Config{QueueARN: sweepQueueARN, Heal: true, Metrics: io.Discard}
	body, _ := json.Marshal(contract.SweepMessage{Function: fn, Kind: kind, Sweep: "s1", Started: time.Now()})
	ev, _ := json.Marshal(events.SQSEvent{Records: []events.SQSMessage{{MessageId: "m1", Body: string(body), EventSource: "aws:sqs", EventSourceARN: sweepQueueARN}}})
	resp, err := pe.NewHandler().Invoke(context.Background(), ev)
	if err != nil || len(resp.BatchItemFailures) > 0 {
		t.Fatalf("sweep check of %s: %v %v", fn, resp, err)
	}
}

// declaredBy lists the sources that declare fn in the index.
func (pe *pipelineEnv) declaredBy(t *testing.T, fn string) []string {
	t.Helper()
	decls, _, err := pe.Store.Declarations(context.Background(), fn)
	if err != nil {
		t.Fatal(err)
	}
	out := []string{}
	for _, d := range decls {
		out = append(out, d.Source.ID())
	}
	return out
}

// A pipeline's action declares its files' functions like a branch: the
// sweep, even healing, checks them against the file the run applied and
// never prunes them as orphans; the next run without a file tears its
// function down; a plan-only run writes nothing to the index.
func TestCodePipeline_RunDeclares_DroppedFileTornDown_NeverAnOrphan(t *testing.T) {
	pe := newPipelineEnv(t, ordersArtifact, inventoryArtifact)
	if err := pe.NewHandler().Handle(context.Background(), pe.jobEvent(t, "", "")); err != nil {
		t.Fatal(err)
	}
	const action = "codepipeline#definitions-pipeline/Deploy/eventwire:"
	if diff := cmp.Diff([]string{action + "BuildArtifact/services/inventory/_lambdaeventsourcedef.json"}, pe.declaredBy(t, "inventory")); diff != "" {
		t.Fatalf("declarations of inventory (-want +got):\n%s", diff)
	}

	// The sweep lists it as an orphan (a mapping the index did not know,
	// before); the check finds its declaration and leaves it wired.
	pe.check(t, "inventory", records.KindOrphan)
	want := []string{"plan orders", "apply orders", "plan inventory", "apply inventory", "plan inventory"}
	if diff := cmp.Diff(want, pe.Deployer.Calls()); diff != "" {
		t.Errorf("deployer calls after the sweep's check (-want +got):\n%s", diff)
	}

	// A plan-only run without the file writes nothing.
	pe.setBuild(t, map[string]string{"README.md": "nothing here"})
	if err := pe.NewHandler().Handle(context.Background(), pe.jobEvent(t, `{"mode":"plan"}`, "")); err != nil {
		t.Fatal(err)
	}
	if got := pe.declaredBy(t, "inventory"); len(got) != 1 {
		t.Errorf("declarations of inventory after a plan-only run: %q, want it kept", got)
	}

	// The next run without the file tears inventory down; orders stays.
	if err := pe.NewHandler().Handle(context.Background(), pe.jobEvent(t, "", "")); err != nil {
		t.Fatal(err)
	}
	want = []string{"plan orders", "apply orders", "plan inventory", "apply inventory", "plan inventory", "plan orders",
		"plan-destroy inventory", "apply inventory", "plan orders", "apply orders"}
	if diff := cmp.Diff(want, pe.Deployer.Calls()); diff != "" {
		t.Errorf("deployer calls after the run without inventory (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]string{"orders": pe.Deployer.Applied()["orders"]}, pe.Deployer.Applied()); diff != "" {
		t.Errorf("applied (-want +got):\n%s", diff)
	}
	if got := pe.declaredBy(t, "inventory"); len(got) != 0 {
		t.Errorf("inventory still declared by %q", got)
	}
	a := pe.answers()
	if last := deployertest.JSONString(a[len(a)-1].Body); !strings.Contains(last, "inventory: no longer declared by definitions-pipeline/Deploy/eventwire") {
		t.Errorf("last answer %s", last)
	}
}

// A function an S3 file declared first is a conflict for the pipeline:
// recorded, the job fails, and nothing is applied for it (never wired
// twice); the pipeline's other file applies.
func TestCodePipeline_FunctionDeclaredInS3_ConflictNothingApplied(t *testing.T) {
	pe := newPipelineEnv(t, ordersArtifact, inventoryArtifact)
	key := "inventory/_lambdaeventsourcedef.json"
	v := pe.Put(key, deployertest.SQSFile("inventory", "inventory", 3))
	s3ev, _ := json.Marshal(bucket.S3PutEvent(deployertest.Bucket, key, v, "0055AED6DCD90281E5"))
	if err := pe.NewHandler().Handle(context.Background(), s3ev); err != nil {
		t.Fatal(err)
	}
	if err := pe.NewHandler().Handle(context.Background(), pe.jobEvent(t, "", "")); err != nil {
		t.Fatal(err)
	}
	want := []string{"plan inventory", "apply inventory", "plan orders", "apply orders"}
	if diff := cmp.Diff(want, pe.Deployer.Calls()); diff != "" {
		t.Errorf("deployer calls (-want +got):\n%s", diff)
	}
	a := pe.answers()
	if len(a) != 1 || a[0].Op != "PutJobFailureResult" || !strings.Contains(deployertest.JSONString(a[0].Body), "which s3://") {
		t.Errorf("job answer %v, want a failure naming the S3 file", a)
	}
	got := pe.Outcomes("inventory")
	if len(got) != 2 || !strings.HasPrefix(got[0], "conflict apply codepipeline://") {
		t.Errorf("inventory records %q, want the pipeline's conflict", got)
	}
}
