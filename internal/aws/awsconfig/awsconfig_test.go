package awsconfig

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
)

// sharedConfig writes a shared config file and points the SDK at it.
func sharedConfig(t *testing.T, text string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_CONFIG_FILE", path)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", os.DevNull)
}

// TestLoad_RetrySettings: the environment and the profile's retry_mode
// and max_attempts are honoured; eventwire's defaults fill only what
// nothing sets.
func TestLoad_RetrySettings(t *testing.T) {
	tests := []struct {
		name         string
		profile      string
		mode, max    string
		wantAttempts int
		wantMode     aws.RetryMode
	}{
		{"defaults", "", "", "", MaxAttempts, aws.RetryModeAdaptive},
		{"environment wins", "", "standard", "3", 3, aws.RetryModeStandard},
		{"profile's max_attempts", "max_attempts = 1\n", "", "", 1, aws.RetryModeAdaptive},
		{"profile's retry_mode", "retry_mode = standard\n", "", "", MaxAttempts, aws.RetryModeStandard},
		{"profile's both", "retry_mode = standard\nmax_attempts = 2\n", "", "", 2, aws.RetryModeStandard},
		{"environment over profile", "retry_mode = standard\nmax_attempts = 2\n", "adaptive", "4", 4, aws.RetryModeAdaptive},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sharedConfig(t, "[default]\nregion = us-east-1\n"+tt.profile)
			t.Setenv("AWS_PROFILE", "")
			t.Setenv("AWS_REGION", "")
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

// TestLoad_EndpointThatDoesNotAnswer: a loopback listener that accepts
// connections and never answers fails the call after the timeout, once
// (not once per retry), naming the endpoint, region and profile.
func TestLoad_EndpointThatDoesNotAnswer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var conns []net.Conn
	accepted := make(chan int, 100)
	go func() {
		for n := 1; ; n++ {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c) // held open, never answered
			accepted <- n
		}
	}()
	sharedConfig(t, "[profile ci]\nregion = eu-west-3\n")
	t.Setenv("AWS_PROFILE", "ci")
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_ACCESS_KEY_ID", "testing")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "testing")
	t.Setenv("AWS_ENDPOINT_URL", "http://"+ln.Addr().String())
	t.Setenv(TimeoutEnv, "600ms")
	cfg, err := Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	_, err = lambda.NewFromConfig(cfg).GetFunction(context.Background(), &lambda.GetFunctionInput{FunctionName: aws.String("orders")})
	var na *NoAnswerError
	if !errors.As(err, &na) {
		t.Fatalf("error %v, want a NoAnswerError", err)
	}
	for _, want := range []string{"http://" + ln.Addr().String(), `region "eu-west-3"`, `profile "ci"`, "within 200ms"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
	if n := len(accepted); n != 1 {
		t.Errorf("%d connections, want 1: a call that got no answer is not retried", n)
	}
}

func TestLoad_BadTimeout(t *testing.T) {
	t.Setenv(TimeoutEnv, "soon")
	if _, err := Load(context.Background()); err == nil || !strings.Contains(err.Error(), TimeoutEnv) {
		t.Errorf("error %v, want one naming %s", err, TimeoutEnv)
	}
}
