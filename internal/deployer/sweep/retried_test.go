package sweep_test

import (
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/google/go-cmp/cmp"

	"github.com/eventwire/eventwire/internal/aws/lambdasvc"
	"github.com/eventwire/eventwire/internal/deployer/compose"
	"github.com/eventwire/eventwire/internal/deployer/sweep"
	"github.com/eventwire/eventwire/internal/reconcile"
	"github.com/eventwire/eventwire/internal/testkit/faultproxy"
	"github.com/eventwire/eventwire/internal/testkit/mototest"
)

// Through the real handler on moto, the checks' Lambda calls through the
// fault proxy: a file removed with no event delivered; a heal sweep's
// check indexes the removal, then fails (Lambda answers 503 to the
// teardown's plan), and its message is delivered again. The retry finds
// no live declaration, and no removal it indexed itself, but the function
// is not pruned: its removal was found by the same sweep (the put of a move
// may still be on its way). The next sweep prunes it.
func TestSweep_RetriedCheckAfterIndexingARemoval_DoesNotPruneInTheSameSweep(t *testing.T) {
	sw := newSweepWorld(t)
	sw.wireQueues("gone")
	sw.Remove("gone/_lambdaeventsourcedef.json") // no event delivered

	p := faultproxy.ForTest(t, mototest.Shared(t).URL, faultproxy.Config{Quotas: map[string]faultproxy.Quota{}})
	proxied := mototest.Shared(t).Config(t, config.WithBaseEndpoint(p.URL), config.WithRetryer(func() aws.Retryer { return aws.NopRetryer{} }))
	cfg := sw.Config
	cfg.Deployer = reconcile.New(sw.Env.AWS, reconcile.Options{})
	cfg.Sweep = sweep.Config{
		QueueARN: sw.queueARN, QueueURL: sw.queueURL, SQS: sw.sqs, Heal: true, Metrics: sw.metrics,
		Mappings: lambdasvc.NewMappings(sw.Fixture.Lambda), Deployer: reconcile.New(proxied, reconcile.Options{}),
	}
	h := compose.New(cfg)

	p.SetFaults(faultproxy.Faults{Error503: 1, Match: func(c faultproxy.Call) bool { return c.Service == "lambda" }})
	if diff := cmp.Diff([]events.SQSBatchItemFailure{{ItemIdentifier: "m-gone"}}, sw.checkBatch(h, "gone").BatchItemFailures); diff != "" {
		t.Fatalf("first attempt's failures (-want +got):\n%s", diff)
	}
	if got := sw.Log.Grep(sweep.RemovedWithoutEventLogMessage); len(got) != 1 {
		t.Errorf("first attempt: removal logged %q, want once", got)
	}
	p.SetFaults(faultproxy.Faults{})
	if got := sw.checkBatch(h, "gone").BatchItemFailures; len(got) != 0 {
		t.Fatalf("retry failed: %v", got)
	}
	if diff := cmp.Diff([]string{"gone orphaned 1"}, sw.results()); diff != "" {
		t.Errorf("retry's result (-want +got):\n%s", diff)
	}
	if n := sw.mappings("gone"); n != 1 {
		t.Errorf("after the retry: gone has %d mappings, want 1 (not pruned in the sweep that found the removal)", n)
	}

	if diff := cmp.Diff([]string{"gone orphan"}, sw.sweep(h)); diff != "" {
		t.Errorf("next sweep's messages (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"gone pruned 1"}, sw.results()); diff != "" {
		t.Errorf("next sweep's result (-want +got):\n%s", diff)
	}
	if n := sw.mappings("gone"); n != 0 {
		t.Errorf("after the next sweep: gone has %d mappings, want none", n)
	}
}
