package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/eventwire/eventwire/internal/testkit/awsfixture"
	"github.com/eventwire/eventwire/internal/testkit/mototest"
)

// BenchmarkPlanNoChanges plans 20 functions that are already applied, each
// with a queue and a target group, against moto: the steady state of a
// GitOps loop. It reports AWS calls per function, the figure that meets
// the Lambda control plane's 15 requests a second.
func BenchmarkPlanNoChanges(b *testing.B) {
	const functions = 20
	srv := mototest.Fresh(b)
	cfg := srv.Config(b)
	fx := awsfixture.New(srv.Config(b))
	ctx := context.Background()
	dir := b.TempDir()
	for i := range functions {
		name := fmt.Sprintf("fn%02d", i)
		if _, err := fx.Function(ctx, name); err != nil {
			b.Fatal(err)
		}
		q, err := fx.Queue(ctx, name)
		if err != nil {
			b.Fatal(err)
		}
		tg, err := fx.TargetGroup(ctx, name)
		if err != nil {
			b.Fatal(err)
		}
		path := filepath.Join(dir, name, "_lambdaeventsourcedef.json")
		os.MkdirAll(filepath.Dir(path), 0o755)
		os.WriteFile(path, []byte(fmt.Sprintf(`{"FunctionName": %q,
  "PushEventSources": [{"Service": "elasticloadbalancing.amazonaws.com", "TargetGroupArn": %q}],
  "PullEventSources": {"EventSourceMapping": {"EventSourceArn": %q, "BatchSize": 5}}}`, name, tg, q)), 0o644)
	}
	calls := mototest.Record(&cfg)
	env := Env{Stdout: io.Discard, Stderr: io.Discard, AWSConfig: func(context.Context) (aws.Config, error) { return cfg, nil }}
	if code := Run(ctx, []string{"apply", "--yes", dir}, env); code != 0 {
		b.Fatalf("apply: exit %d", code)
	}
	calls.Reset()
	b.ResetTimer()
	for b.Loop() {
		if code := Run(ctx, []string{"plan", "--detailed-exitcode", dir}, env); code != 0 {
			b.Fatalf("plan: exit %d, want 0", code)
		}
	}
	b.ReportMetric(float64(len(calls.All()))/float64(b.N)/functions, "calls/function")
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N)/functions, "ms/function")
}
