package sweep_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/eventwire/eventwire/internal/aws/quota"
	"github.com/eventwire/eventwire/internal/contract"
	"github.com/eventwire/eventwire/internal/reconcile"
	"github.com/eventwire/eventwire/internal/wiring"
)

// A scheduled sweep's own Lambda calls (listing the managed mappings, and
// the tags of those whose function the index does not know) draw on
// Lambda's shared bucket like the checks': with PaceSweep they wait for
// the sweep's pacer too, so that the sweep never takes more than its share.
// Here the pacer holds one token a second and two stray mappings make the
// start list and tag-read three times: it must wait.
func TestSweepStart_LambdaCallsWaitForTheSweepsPacer(t *testing.T) {
	sw := newSweepWorld(t)
	ctx := context.Background()
	sw.mustFunction("stray-a", "stray-b")
	for _, fn := range []string{"stray-a", "stray-b"} {
		if _, err := sw.Fixture.Queue(ctx, "q-"+fn); err != nil {
			t.Fatal(err)
		}
		noErr(t)(sw.Fixture.Lambda.CreateEventSourceMapping(ctx, &awslambda.CreateEventSourceMappingInput{FunctionName: aws.String(functionARN(fn)),
			EventSourceArn: aws.String("arn:aws:sqs:us-east-1:123456789012:q-" + fn), Tags: map[string]string{wiring.TagKey: fn}}))
	}
	h := sw.handler(false)
	p := quota.NewPacer(map[string]quota.Quota{quota.Lambda: {Rate: 1, Burst: 1}})
	h.Sweep.Pace(sw.Env.AWS, reconcile.Options{}, p)
	if _, err := h.Invoke(ctx, json.RawMessage(contract.SweepInput)); err != nil {
		t.Fatal(err)
	}
	if p.Waited() == 0 {
		t.Error("the scheduled sweep's Lambda calls did not wait for the sweep's pacer")
	}
}
