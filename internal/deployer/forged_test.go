package deployer_test

import (
	"context"
	"encoding/json"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/eventwire/eventwire/internal/deployer/bucket"
	"github.com/eventwire/eventwire/internal/deployer/compose"
	"github.com/eventwire/eventwire/internal/records"
	"github.com/eventwire/eventwire/internal/testkit/deployertest"
)

// callCounter is an HTTP client that counts the requests sent through it.
type callCounter struct {
	inner aws.HTTPClient
	n     atomic.Int64
}

func (c *callCounter) Do(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.inner.Do(r)
}

// Anyone allowed to invoke the deployer can send it a made-up event: an S3
// record of another bucket, a CodeCommit event of another repository or
// branch. Each is refused without any AWS call (nothing read, nothing
// recorded), logged at error level with what was expected, and not
// retried; a source the stack did not configure is refused entirely. The
// accepted cases show that the same events do reach AWS when they are the
// configured sources.
func TestForgedEvents_OtherSources_RefusedWithoutAnAWSCall(t *testing.T) {
	const key = "orders/_lambdaeventsourcedef.json"
	s3Event := func(t *testing.T, name string) json.RawMessage {
		b, err := json.Marshal(bucket.S3PutEvent(name, key, "", "0055AED6DCD90281E5"))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	push := func(t *testing.T) json.RawMessage {
		return deployertest.Event(t, "codecommit-push.json", map[string]string{"Commit": deployertest.C2, "Next": deployertest.C2})
	}
	bridge := func(t *testing.T) json.RawMessage {
		return deployertest.Event(t, "codecommit-eventbridge.json", map[string]string{"Commit": deployertest.C2, "Old": deployertest.C1, "Event": "referenceUpdated"})
	}
	tests := []struct {
		name    string
		event   func(t *testing.T) json.RawMessage
		setup   func(c *compose.Config)
		wantLog string // the refusal (each line's start); "" when the event is accepted
	}{
		{
			name:  "S3: the definitions bucket",
			event: func(t *testing.T) json.RawMessage { return s3Event(t, deployertest.Bucket) },
		},
		{
			name:    "S3: another bucket",
			event:   func(t *testing.T) json.RawMessage { return s3Event(t, "attacker-definitions") },
			wantLog: "ERROR refused S3 record: not the definitions bucket bucket=attacker-definitions key=" + key + " want=" + deployertest.Bucket,
		},
		{
			name:    "S3: no bucket configured",
			event:   func(t *testing.T) json.RawMessage { return s3Event(t, deployertest.Bucket) },
			setup:   func(c *compose.Config) { c.S3.Bucket = "" },
			wantLog: "ERROR refused S3 record: not the definitions bucket bucket=" + deployertest.Bucket + " key=" + key + " want=none (EVENTWIRE_BUCKET is not set: this source is not accepted)",
		},
		{
			name:  "repository trigger: the repository and branch",
			event: push,
		},
		{
			name: "repository trigger: another repository",
			event: func(t *testing.T) json.RawMessage {
				return deployertest.Replace(t, push(t), "123456789012:definitions", "123456789012:attacker")
			},
			wantLog: "ERROR refused CodeCommit event: not the configured repository repository=attacker ref=refs/heads/main want=definitions",
		},
		{
			name: "repository trigger: another branch",
			event: func(t *testing.T) json.RawMessage {
				return deployertest.Replace(t, push(t), `"refs/heads/main"`, `"refs/heads/feature"`)
			},
			wantLog: "ERROR refused CodeCommit event: not a configured branch repository=definitions ref=refs/heads/feature want=main",
		},
		{
			name:  "EventBridge: the repository and branch",
			event: bridge,
		},
		{
			name: "EventBridge: another repository",
			event: func(t *testing.T) json.RawMessage {
				return deployertest.Replace(t, bridge(t), `"repositoryName": "definitions"`, `"repositoryName": "attacker"`)
			},
			wantLog: "ERROR refused CodeCommit event: not the configured repository repository=attacker ref=refs/heads/main want=definitions",
		},
		{
			name: "EventBridge: another branch",
			event: func(t *testing.T) json.RawMessage {
				return deployertest.Replace(t, bridge(t), `"refs/heads/main"`, `"refs/heads/feature"`)
			},
			wantLog: "ERROR refused CodeCommit event: not a configured branch repository=definitions ref=refs/heads/feature want=main",
		},
		{
			name: "EventBridge: a tag",
			event: func(t *testing.T) json.RawMessage {
				return deployertest.Replace(t, bridge(t), `"refs/heads/main"`, `"refs/tags/main"`)
			},
			wantLog: "ERROR refused CodeCommit event: not a configured branch repository=definitions ref=refs/tags/main want=main",
		},
		{
			name:    "CodeCommit: no repository configured",
			event:   bridge,
			setup:   func(c *compose.Config) { c.CodeCommit.Repository = "" },
			wantLog: "ERROR refused CodeCommit event: not the configured repository repository=definitions ref=refs/heads/main want=none (EVENTWIRE_REPOSITORY is not set: this source is not accepted)",
		},
		{
			name:    "CodeCommit: no branches configured",
			event:   push,
			setup:   func(c *compose.Config) { c.CodeCommit.Branches = nil },
			wantLog: "ERROR refused CodeCommit event: not a configured branch repository=definitions ref=refs/heads/main want=none (EVENTWIRE_BRANCHES is not set: this source is not accepted)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := deployertest.NewEnv(t)
			e.Put(key, deployertest.SQSFile("orders", "orders", 5))
			counted := e.AWS.Copy()
			calls := &callCounter{inner: counted.HTTPClient}
			counted.HTTPClient = calls
			e.Config.S3.API = s3.NewFromConfig(counted, deployertest.S3Options)
			e.Config.Store = records.New(dynamodb.NewFromConfig(counted), deployertest.Table, records.Options{})
			repo := &deployertest.FakeRepo{
				Name: "definitions", PageSize: 10,
				Parents: map[string][]string{deployertest.C1: {}, deployertest.C2: {deployertest.C1}},
				Trees:   map[string]map[string]string{deployertest.C1: {}, deployertest.C2: {key: deployertest.SQSFile("orders", "orders", 5)}},
			}
			js := deployertest.NewCodeCommitServer(t, repo)
			e.Config.CodeCommit.API = e.CodeCommit(js)
			if tt.setup != nil {
				tt.setup(&e.Config)
			}
			if err := e.NewHandler().Handle(context.Background(), tt.event(t)); err != nil {
				t.Fatalf("Handle = %v, want nil (refused or handled, not retried)", err)
			}
			awsCalls := int(calls.n.Load()) + len(js.Requests())
			refusals := e.Log.Grep("ERROR refused")
			if tt.wantLog == "" {
				if awsCalls == 0 || len(refusals) != 0 {
					t.Errorf("accepted event: %d AWS calls, refusals %q; want it handled", awsCalls, refusals)
				}
				if calls := e.Deployer.Calls(); len(calls) < 2 || calls[1] != "apply orders" {
					t.Errorf("deployer calls %q, want orders applied", calls)
				}
				return
			}
			if awsCalls != 0 {
				t.Errorf("%d AWS calls for a refused event, want none", awsCalls)
			}
			if calls := e.Deployer.Calls(); len(calls) != 0 {
				t.Errorf("deployer called: %v", calls)
			}
			deployertest.CheckRefusals(t, refusals, tt.wantLog)
		})
	}
}
