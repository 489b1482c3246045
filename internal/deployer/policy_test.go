package deployer_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/google/go-cmp/cmp"

	"github.com/eventwire/eventwire/internal/deployer"
	"github.com/eventwire/eventwire/internal/deployer/bucket"
	"github.com/eventwire/eventwire/internal/deployer/compose"
	"github.com/eventwire/eventwire/internal/reconcile"
	"github.com/eventwire/eventwire/internal/records"
	"github.com/eventwire/eventwire/internal/testkit/deployertest"
	"github.com/eventwire/eventwire/internal/testkit/mototest"
)

// streamFile wires orders to a Kinesis stream, with failed records sent
// to destination.
func streamFile(stream, destination string) string {
	return fmt.Sprintf(`{
  "FunctionName": "orders",
  "PullEventSources": {
    "EventSourceMapping": {
      "EventSourceArn": %q,
      "StartingPosition": "LATEST",
      "DestinationConfig": {"OnFailure": {"Destination": %q}}
    }
  }
}
`, stream, destination)
}

// A file whose failed records would go to a queue in another account,
// through the real handler and reconciler, with the deployer's default
// allowlist (its own account, from STS, and its region): recorded as
// invalid at the destination's line:column, not retried, and nothing is
// written to Lambda. The same file with the deployer's own queue is
// applied, so the refusal is the destination's account and nothing else.
func TestEndToEnd_ForeignAccountDestinationIsInvalid(t *testing.T) {
	cfg := mototest.Shared(t).Config(t)
	calls := mototest.Record(&cfg)
	h, e, fx := deployertest.EndToEnd(t, cfg)
	ctx := context.Background()
	stream, err := fx.Stream(ctx, "clicks")
	if err != nil {
		t.Fatal(err)
	}
	const key = "orders/_lambdaeventsourcedef.json"
	upload := func(body, sequencer string) error {
		v := e.Put(key, body)
		ev, _ := json.Marshal(bucket.S3PutEvent(deployertest.Bucket, key, v, sequencer))
		return h.Handle(ctx, ev)
	}

	calls.Reset()
	if err := upload(streamFile(stream, "arn:aws:sqs:us-east-1:210987654321:exfiltrate"), "0055AED6DCD90281E5"); err != nil {
		t.Fatalf("a validation error is final, not returned for a retry: %v", err)
	}
	for _, op := range calls.Writes() {
		if strings.HasPrefix(op, "Lambda.") {
			t.Errorf("the invalid file wrote %s", op)
		}
	}
	if got := deployertest.Mappings(t, fx); len(got) != 0 {
		t.Errorf("mappings after the invalid file: %v", got)
	}
	hist := e.History("orders")
	line, col := lineCol(streamFile(stream, "arn:aws:sqs:us-east-1:210987654321:exfiltrate"), `"arn:aws:sqs:us-east-1:210987654321`)
	want := []string{fmt.Sprintf("%s:%d:%d: ", key, line, col) + "PullEventSources.EventSourceMapping.DestinationConfig.OnFailure.Destination: account 210987654321 is not an allowed account (allowed: 123456789012)"}
	if len(hist) != 1 || hist[0].Outcome != records.Invalid {
		t.Fatalf("records: %+v", hist)
	}
	if diff := cmp.Diff(want, hist[0].Errors); diff != "" {
		t.Errorf("recorded errors (-want +got):\n%s", diff)
	}

	// The deployer's own queue: applied.
	dlq, err := fx.Queue(ctx, "orders-dlq")
	if err != nil {
		t.Fatal(err)
	}
	if err := upload(streamFile(stream, dlq), "0055AED6DCD9028200"); err != nil {
		t.Fatal(err)
	}
	if got := deployertest.Mappings(t, fx); len(got) != 1 || !strings.HasPrefix(got[0], stream) {
		t.Errorf("mappings after the valid file: %v", got)
	}
}

// The deployer's own account comes from the invoked function's ARN in the
// Lambda context when there is one (no STS call), else from STS, once.
func TestOwnAccount_FromLambdaContextElseSTSOnce(t *testing.T) {
	tests := []struct {
		name     string
		ctx      context.Context
		wantSTS  int
		wantErrs string
	}{
		{
			name: "Lambda context",
			ctx: lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{
				AwsRequestID: "r1", InvokedFunctionArn: "arn:aws:lambda:us-east-1:111122223333:function:eventwire-deployer:live"}),
			wantSTS:  0,
			wantErrs: "(allowed: 111122223333)",
		},
		{
			name:     "STS",
			ctx:      context.Background(),
			wantSTS:  1,
			wantErrs: "(allowed: 123456789012)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := mototest.Shared(t).Config(t)
			calls := mototest.Record(&cfg)
			e := deployertest.NewEnv(t)
			h := compose.NewFromConfig(cfg, reconcile.New(cfg, reconcile.Options{}).Runs(), deployer.Settings{Table: deployertest.Table, Bucket: deployertest.Bucket}, e.Config.Logger, deployertest.S3Options)
			const key = "orders/_lambdaeventsourcedef.json"
			// Two files, each in a foreign account: the account is
			// found for the first and kept for the second.
			for i, acct := range []string{"210987654321", "444455556666"} {
				v := e.Put(key, strings.Replace(deployertest.SQSFile("orders", "orders", 5), "123456789012", acct, 1))
				ev, _ := json.Marshal(bucket.S3PutEvent(deployertest.Bucket, key, v, fmt.Sprintf("0055AED6DCD902820%d", i)))
				if err := h.Handle(tt.ctx, ev); err != nil {
					t.Fatal(err)
				}
			}
			sts := 0
			for _, op := range calls.All() {
				if op == "STS.GetCallerIdentity" {
					sts++
				}
			}
			if sts != tt.wantSTS {
				t.Errorf("STS GetCallerIdentity calls = %d, want %d", sts, tt.wantSTS)
			}
			var errs []string
			for _, r := range e.History("orders") {
				errs = append(errs, r.Errors...)
			}
			if len(errs) != 2 || !strings.Contains(errs[0], tt.wantErrs) || !strings.Contains(errs[1], tt.wantErrs) {
				t.Errorf("recorded errors %q, want two with %q", errs, tt.wantErrs)
			}
		})
	}
}

// lineCol is the 1-based line and column of the first needle in doc.
func lineCol(doc, needle string) (line, col int) {
	i := strings.Index(doc, needle)
	return strings.Count(doc[:i], "\n") + 1, i - strings.LastIndex(doc[:i], "\n")
}
