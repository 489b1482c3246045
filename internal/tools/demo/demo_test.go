package demo

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// TestRun runs `make demo`'s job on the repository's examples, so that the
// demo and the examples cannot rot unnoticed.
func TestRun(t *testing.T) {
	dir, err := filepath.Abs(filepath.Join("..", "..", "..", "examples"))
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(t.TempDir()) // Run changes directory; t.Chdir restores it.
	var out bytes.Buffer
	if err := Run(context.Background(), dir, &out); err != nil {
		t.Fatalf("demo: %v\n%s", err, out.String())
	}
	got := out.String()
	for _, want := range []string{
		"2 files checked, all valid",
		"Plan: 2 functions, 2 with changes, 0 failed.",
		"Apply: 2 functions, 2 changed, 0 failed.",
		"tags=map[eventwire:managed:orders]",
		"Target group orders-tg: targets [arn:aws:lambda:us-east-1:123456789012:function:orders]",
		"No changes: AWS matches the definitions of 2 functions.",
		// The Lambda path: the upload applied by the real handler, recorded.
		`"message":"deployment succeeded","function":"orders"`,
		`"requestId":"` + demoRequestID + `"`,
		"s3       apply  succeeded  1",
		"BatchSize: 10 → 5",
		// Drift: a hand-made change reported, then healed; the CLI's
		// inventory, which no file in the bucket declares, an orphan.
		`"outcome":"drifted"`,
		"orders     drifted   1",
		"inventory  orphaned  1",
		"BatchSize: 7 → 5",
		"Drift: 2 functions, 0 in sync, 1 drifted, 1 orphaned.",
		"Drift: 2 functions, 0 in sync, 0 drifted, 0 orphaned, 1 healed, 1 pruned.",
		"sweep    apply  healed     1",
		"The orders mapping's BatchSize in AWS: 5 (the file says 5)",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("demo output lacks %q:\n%s", want, got)
		}
	}
}
