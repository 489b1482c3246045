package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/eventwire/eventwire/internal/testkit/awsfixture"
	"github.com/eventwire/eventwire/internal/testkit/mototest"
)

// TestRefused_PointsAtTheField: when AWS answers that something a file
// names does not exist, the error is one line at the file:line:column of
// that field; --debug adds the SDK's error chain below it.
func TestRefused_PointsAtTheField(t *testing.T) {
	srv := mototest.Fresh(t)
	if _, err := awsfixture.New(srv.Config(t)).Function(context.Background(), "orders"); err != nil {
		t.Fatal(err)
	}
	const missingQueue = "arn:aws:sqs:us-east-1:123456789012:missing"
	tests := []struct {
		name    string
		doc     string
		sibling string // the _lambdadef.json beside it, if any
		args    []string
		want    string // the whole of the error's line
	}{
		{
			name: "a queue that does not exist (CreateEventSourceMapping)",
			doc: `{
  "FunctionName": "orders",
  "PullEventSources": {"EventSourceMapping": {"EventSourceArn": "` + missingQueue + `"}}
}`,
			args: []string{"apply", "--yes"},
			want: "orders/_lambdaeventsourcedef.json:3:65: PullEventSources.EventSourceMapping.EventSourceArn: queue " + missingQueue + " does not exist (ResourceNotFoundException)",
		},
		{
			name: "a function that does not exist (GetFunction)",
			doc: `{
  "FunctionName": "nosuch",
  "PullEventSources": {"EventSourceMapping": {"EventSourceArn": "` + missingQueue + `"}}
}`,
			args: []string{"plan"},
			want: "orders/_lambdaeventsourcedef.json:2:19: FunctionName: function nosuch does not exist (ResourceNotFoundException)",
		},
		{
			name: "a function named only by the sibling _lambdadef.json",
			doc: `{
  "PullEventSources": {"EventSourceMapping": {"EventSourceArn": "` + missingQueue + `"}}
}`,
			sibling: "{\n  \"Runtime\": \"provided.al2023\",\n  \"FunctionName\": \"nosuch\"\n}",
			args:    []string{"plan"},
			want:    "orders/_lambdadef.json:3:19: FunctionName: function nosuch does not exist (ResourceNotFoundException)",
		},
		{
			name: "a target group that does not exist (DescribeTargetGroups)",
			doc: `{
  "FunctionName": "orders",
  "PushEventSources": [
    {"Service": "elasticloadbalancing.amazonaws.com",
     "TargetGroupArn": "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/missing/50dc6c495c0c9188"}
  ]
}`,
			args: []string{"plan"},
			want: "orders/_lambdaeventsourcedef.json:5:24: PushEventSources[0].TargetGroupArn: target group arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/missing/50dc6c495c0c9188 does not exist (TargetGroupNotFound)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "orders", "_lambdaeventsourcedef.json")
			os.MkdirAll(filepath.Dir(path), 0o755)
			os.WriteFile(path, []byte(tt.doc), 0o644)
			if tt.sibling != "" {
				os.WriteFile(filepath.Join(dir, "orders", "_lambdadef.json"), []byte(tt.sibling), 0o644)
			}
			for _, debug := range []bool{false, true} {
				args := append(tt.args, "orders")
				if debug {
					args = append(args, "--debug")
				}
				// A generous bound: moto's first call of a service can
				// be slow on a busy machine.
				env := append(srv.Env(), "EVENTWIRE_AWS_TIMEOUT=2m")
				r := runIn(t, dir, nil, env, args...)
				lines := strings.Split(r.stderr, "\n")
				i := indexOf(lines, tt.want)
				if r.code != 1 || i < 0 {
					t.Errorf("eventwire %v: exit %d, stderr has no line %q:\n%s", args, r.code, tt.want, r.stderr)
					continue
				}
				chain := strings.HasPrefix(lines[i+1], "    ") && strings.Contains(lines[i+1], "operation error")
				if chain != debug || !debug && strings.Contains(r.stderr, "operation error") {
					t.Errorf("eventwire %v: SDK chain under the error %v, want %v:\n%s", args, chain, debug, r.stderr)
				}
			}
		})
	}
}

func indexOf(lines []string, s string) int {
	for i, l := range lines {
		if l == s {
			return i
		}
	}
	return -1
}
