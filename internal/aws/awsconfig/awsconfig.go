// Package awsconfig loads the AWS configuration every eventwire entry point
// uses: the SDK's standard chain (profiles, AWS_REGION, AWS_ENDPOINT_URL,
// ...), with a retry policy fit for bulk deploys where nothing else sets
// one, and an HTTP client that gives up on an endpoint that does not
// answer.
//
// It imports the SDK's configuration only, never eventwire's callers nor
// a test kit (internal/layers checks).
package awsconfig

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
)

// MaxAttempts is how many times a throttled or failed call is tried. The
// Lambda control plane allows about 15 requests a second per account and
// region, API Gateway 10, and they cannot be raised: on a bulk deploy the
// SDK's adaptive mode slows down on throttling instead of failing.
const MaxAttempts = 10

// DefaultTimeout bounds how long an endpoint that does not answer holds a
// call: connecting, the TLS handshake and waiting for the response headers
// each get a third of it, and such a call is not retried.
const DefaultTimeout = 30 * time.Second

// TimeoutEnv overrides DefaultTimeout (a Go duration, such as 10s).
const TimeoutEnv = "EVENTWIRE_AWS_TIMEOUT"

// Load returns the configuration. Retry settings follow the SDK's
// precedence (options, then AWS_RETRY_MODE and AWS_MAX_ATTEMPTS, then the
// profile's retry_mode and max_attempts); eventwire's defaults (adaptive,
// MaxAttempts) fill only what none of them sets.
func Load(ctx context.Context, opts ...func(*config.LoadOptions) error) (aws.Config, error) {
	timeout := DefaultTimeout
	if v := os.Getenv(TimeoutEnv); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return aws.Config{}, fmt.Errorf("%s=%q: want a positive duration such as 30s", TimeoutEnv, v)
		}
		timeout = d
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return cfg, err
	}
	if cfg.Retryer == nil {
		if cfg.RetryMode == "" {
			cfg.RetryMode = aws.RetryModeAdaptive
		}
		if cfg.RetryMaxAttempts == 0 {
			cfg.RetryMaxAttempts = MaxAttempts
		}
	}
	if _, isDefault := cfg.HTTPClient.(*awshttp.BuildableClient); isDefault || cfg.HTTPClient == nil {
		cfg.HTTPClient = newClient(timeout, cfg.Region, profile(cfg))
	}
	return cfg, nil
}

// profile names the shared config profile the configuration came from.
func profile(cfg aws.Config) string {
	for _, src := range cfg.ConfigSources {
		if sc, ok := src.(config.SharedConfig); ok && sc.Profile != "" {
			return sc.Profile
		}
	}
	if p := os.Getenv("AWS_PROFILE"); p != "" {
		return p
	}
	return "default"
}

// client is the SDK's HTTP client with timeouts, whose timeouts say which
// endpoint, region and profile did not answer.
type client struct {
	inner           *awshttp.BuildableClient
	timeout         time.Duration // each step's: connect, handshake, headers
	region, profile string
}

func newClient(timeout time.Duration, region, profile string) *client {
	step := timeout / 3
	inner := awshttp.NewBuildableClient().
		WithDialerOptions(func(d *net.Dialer) { d.Timeout = step }).
		WithTransportOptions(func(tr *http.Transport) {
			tr.TLSHandshakeTimeout = step
			tr.ResponseHeaderTimeout = step
		})
	return &client{inner: inner, timeout: step, region: region, profile: profile}
}

// Do sends the request; a timeout becomes a NoAnswerError.
func (c *client) Do(req *http.Request) (*http.Response, error) {
	resp, err := c.inner.Do(req)
	var ne net.Error
	if err != nil && errors.As(err, &ne) && ne.Timeout() && req.Context().Err() == nil {
		return nil, &NoAnswerError{Endpoint: req.URL.Scheme + "://" + req.URL.Host, Region: c.region, Profile: c.profile, Timeout: c.timeout, Err: err}
	}
	return resp, err
}

// NoAnswerError is an endpoint that did not answer in time. It is not
// retried: an endpoint that is unreachable or hangs would only hold the run
// for every attempt.
type NoAnswerError struct {
	Endpoint, Region, Profile string
	Timeout                   time.Duration
	Err                       error
}

func (e *NoAnswerError) Error() string {
	return fmt.Sprintf("no answer from %s within %s (region %q, profile %q): check the network, AWS_ENDPOINT_URL and the profile: %v",
		e.Endpoint, e.Timeout, e.Region, e.Profile, e.Err)
}

func (e *NoAnswerError) Unwrap() error { return e.Err }

// RetryableError tells the SDK's retryer not to try again.
func (e *NoAnswerError) RetryableError() bool { return false }
