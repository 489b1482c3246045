package awsconfig

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
)

func TestLoad_RetryDefaultsAndOverrides(t *testing.T) {
	t.Setenv("AWS_REGION", "us-east-1")
	tests := []struct {
		name         string
		mode, max    string
		wantAttempts int
		wantMode     aws.RetryMode
	}{
		{"defaults", "", "", MaxAttempts, aws.RetryModeAdaptive},
		{"environment wins", "standard", "3", 3, aws.RetryModeStandard},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("AWS_RETRY_MODE", tt.mode)
			t.Setenv("AWS_MAX_ATTEMPTS", tt.max)
			cfg, err := Load(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if cfg.RetryMaxAttempts != tt.wantAttempts || cfg.RetryMode != tt.wantMode {
				t.Errorf("RetryMaxAttempts=%d RetryMode=%q, want %d %q", cfg.RetryMaxAttempts, cfg.RetryMode, tt.wantAttempts, tt.wantMode)
			}
		})
	}
}
