package demo

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/google/go-cmp/cmp"
)

// logSample writes the kinds of line the deployer writes: with attributes
// bound by With, in a group, at each level, inside and outside an
// invocation.
func logSample(log *slog.Logger) {
	ctx := invocation(context.Background())
	log.With("function", "orders").InfoContext(ctx, "deployment succeeded", "changes", 1, "duration_ms", 42)
	log.WarnContext(ctx, "release lease", "error", "conditional check failed")
	log.WithGroup("plan").ErrorContext(ctx, "deployment failed", "function", "orders")
	log.DebugContext(ctx, "not shown at level INFO")
	log.Info("outside an invocation: no request id")
}

// timestamps are the only part of a line that differs between two runs.
var timestamps = regexp.MustCompile(`"timestamp":"[^"]*"`)

// TestLambdaLogIsLambdacontexts holds the demo's handler to the deployed
// function's: the lines lambdacontext.NewLogHandler writes with the log
// format JSON (read from the environment at start-up, so in a child
// process), byte for byte but for the time.
func TestLambdaLogIsLambdacontexts(t *testing.T) {
	if os.Getenv("EVENTWIRE_TEST_LAMBDACONTEXT") == "child" {
		logSample(lambdacontext.NewLogger())
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestLambdaLogIsLambdacontexts$")
	cmd.Env = append(os.Environ(), "EVENTWIRE_TEST_LAMBDACONTEXT=child", "AWS_LAMBDA_LOG_FORMAT=JSON", "AWS_LAMBDA_LOG_LEVEL=INFO")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	var want []string
	for _, l := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(l, "{") { // the child's test runner prints PASS too
			want = append(want, timestamps.ReplaceAllString(l, `"timestamp":"T"`))
		}
	}
	var buf bytes.Buffer
	logSample(slog.New(newLambdaLog(&buf)))
	got := strings.Split(strings.TrimSuffix(timestamps.ReplaceAllString(buf.String(), `"timestamp":"T"`), "\n"), "\n")
	if len(want) != 4 {
		t.Fatalf("lambdacontext's handler wrote %d JSON lines, want 4:\n%s", len(want), out)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("demo log lines differ from lambdacontext's (-lambdacontext +demo):\n%s", diff)
	}
	if !strings.Contains(got[0], `"requestId":"`+demoRequestID+`"`) {
		t.Errorf("first line lacks the request id: %s", got[0])
	}
}
