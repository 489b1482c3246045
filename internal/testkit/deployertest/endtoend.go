package deployertest

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/eventwire/eventwire/internal/deployer"
	"github.com/eventwire/eventwire/internal/deployer/compose"
	"github.com/eventwire/eventwire/internal/reconcile"
	"github.com/eventwire/eventwire/internal/testkit/awsfixture"
	"github.com/eventwire/eventwire/internal/testkit/mototest"
)

// EndToEnd builds the handler as the deployer's main does, with the real
// reconciler, against moto, with a function and a queue to wire.
func EndToEnd(t *testing.T, cfg aws.Config) (*compose.Handler, *Env, *awsfixture.Fixture) {
	t.Helper()
	return EndToEndWith(t, cfg, deployer.Settings{Table: Table, Bucket: Bucket})
}

// EndToEndWith is EndToEnd with the deployer's settings s.
func EndToEndWith(t *testing.T, cfg aws.Config, s deployer.Settings) (*compose.Handler, *Env, *awsfixture.Fixture) {
	t.Helper()
	e := NewEnv(t)
	fx := awsfixture.New(mototest.Shared(t).Config(t))
	ctx := context.Background()
	if _, err := fx.Function(ctx, "orders"); err != nil {
		t.Fatal(err)
	}
	if _, err := fx.Queue(ctx, "orders"); err != nil {
		t.Fatal(err)
	}
	d := reconcile.New(cfg, s.ReconcileOptions(e.Config.Logger))
	h := compose.NewFromConfig(cfg, d, s, e.Config.Logger, S3Options)
	return h, e, fx
}

// Mappings lists the event source mappings of the account as
// "QUEUE-ARN batch=N".
func Mappings(t *testing.T, fx *awsfixture.Fixture) []string {
	t.Helper()
	out, err := fx.Lambda.ListEventSourceMappings(context.Background(), &awslambda.ListEventSourceMappingsInput{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range out.EventSourceMappings {
		got = append(got, aws.ToString(m.EventSourceArn)+" batch="+JSONString(m.BatchSize))
	}
	return got
}
