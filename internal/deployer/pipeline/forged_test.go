package pipeline_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/eventwire/eventwire/internal/testkit/deployertest"
)

// A pipeline job is verified with CodePipeline before anything is read: a
// job CodePipeline does not know, a malformed id, a job of another action
// are refused (logged at error level), nothing is read or applied, and no
// result is sent (certainly not a success).
func TestCodePipeline_ForgedJob_Refused(t *testing.T) {
	const forgedID = "0badf00d-0000-4000-8000-000000000000"
	tests := []struct {
		name       string
		event      func(pe *pipelineEnv) json.RawMessage
		setup      func(pe *pipelineEnv)
		wantLog    string
		wantLookup bool // GetJobDetails asked
	}{
		{
			name:       "unknown job",
			event:      func(pe *pipelineEnv) json.RawMessage { return jobEventOf(t, forgedID, "", "") },
			wantLog:    "ERROR refused CodePipeline job: CodePipeline has no such job in this account job=" + forgedID + " error=operation error CodePipeline: GetJobDetails",
			wantLookup: true,
		},
		{
			name:    "malformed job id",
			event:   func(pe *pipelineEnv) json.RawMessage { return jobEventOf(t, "../../forged", "", "") },
			wantLog: "ERROR refused CodePipeline job: malformed job id job=../../forged want=^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$",
		},
		{
			name:  "a job of another function's action",
			event: func(pe *pipelineEnv) json.RawMessage { return pe.jobEvent(t, "", "") },
			setup: func(pe *pipelineEnv) {
				pe.Config.Self = "eventwire-deployer-prod"
			},
			wantLog:    "ERROR refused CodePipeline job: the action invokes another function job=" + firstJobID + " function=eventwire-deployer want=eventwire-deployer-prod",
			wantLookup: true,
		},
		{
			name: "a job of a custom action",
			event: func(pe *pipelineEnv) json.RawMessage {
				ev := pe.jobEvent(t, "", "")
				pe.jobs.data[firstJobID]["actionTypeId"] = map[string]any{"category": "Build", "owner": "Custom", "provider": "Builder", "version": "1"}
				return ev
			},
			wantLog:    "ERROR refused CodePipeline job: not a Lambda invoke action job=" + firstJobID + " action_type=Build/Custom/Builder want=Invoke/AWS/Lambda",
			wantLookup: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pe := newPipelineEnv(t, ordersArtifact, inventoryArtifact)
			if tt.setup != nil {
				tt.setup(pe)
			}
			if err := pe.NewHandler().Handle(context.Background(), tt.event(pe)); err != nil {
				t.Fatalf("Handle = %v, want nil (refused, not retried)", err)
			}
			var want []string
			if tt.wantLookup {
				want = []string{"GetJobDetails"}
			}
			if diff := cmp.Diff(want, pe.pipeline.Ops()); diff != "" {
				t.Errorf("CodePipeline calls (-want +got):\n%s", diff)
			}
			if len(pe.creds.keys) != 0 {
				t.Errorf("artifacts read (%d requests) for a refused job", len(pe.creds.keys))
			}
			if calls := pe.Deployer.Calls(); len(calls) != 0 {
				t.Errorf("deployer called: %v", calls)
			}
			deployertest.CheckRefusals(t, pe.Log.Grep("ERROR refused"), tt.wantLog)
		})
	}
}

// Only the job id is taken from the event: the artifacts' locations and
// credentials, the UserParameters and the continuation token are
// CodePipeline's (GetJobDetails), so an event of a real job that points
// at an attacker's bucket and keys, asks to plan only and to skip to the
// end, still runs the job as the pipeline defined it.
func TestCodePipeline_RealJobForgedDetails_DetailsFromCodePipeline(t *testing.T) {
	pe := newPipelineEnv(t, ordersArtifact, inventoryArtifact)
	pe.jobEvent(t, "", "") // the job as CodePipeline knows it
	forged := jobEventOf(t, firstJobID, `{"mode":"plan"}`, `{"next":2,"done":["all done"]}`)
	forged = deployertest.Replace(t, forged, artifactBucket, "attacker-artifacts")
	forged = deployertest.Replace(t, forged, jobKeyID, "ASIAFORGEDKEY0000001")
	if err := pe.NewHandler().Handle(context.Background(), forged); err != nil {
		t.Fatal(err)
	}
	want := []string{"plan orders", "apply orders", "plan inventory", "apply inventory"}
	if diff := cmp.Diff(want, pe.Deployer.Calls()); diff != "" {
		t.Errorf("deployer calls (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{jobKeyID, jobKeyID}, pe.creds.keys); diff != "" {
		t.Errorf("access keys of the artifact reads (-want +got):\n%s", diff)
	}
	a := pe.answers()
	if len(a) != 1 || a[0].Op != "PutJobSuccessResult" || strings.Contains(deployertest.JSONString(a[0].Body), "all done") {
		t.Errorf("answers %v, want one success with the job's own summary", a)
	}
}
