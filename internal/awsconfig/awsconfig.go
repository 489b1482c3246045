// Package awsconfig loads the AWS configuration every eventwire entry point
// uses: the SDK's standard chain (profiles, AWS_REGION, AWS_ENDPOINT_URL,
// ...), with a retry policy fit for bulk deploys.
package awsconfig

import (
	"context"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
)

// MaxAttempts is how many times a throttled or failed call is tried. The
// Lambda control plane allows about 15 requests a second per account and
// region, API Gateway 10, and they cannot be raised: on a bulk deploy the
// SDK's adaptive mode slows down on throttling instead of failing.
const MaxAttempts = 10

// Load returns the configuration. AWS_RETRY_MODE and AWS_MAX_ATTEMPTS, when
// set, win over eventwire's defaults (adaptive, MaxAttempts).
func Load(ctx context.Context, opts ...func(*config.LoadOptions) error) (aws.Config, error) {
	var base []func(*config.LoadOptions) error
	if os.Getenv("AWS_RETRY_MODE") == "" {
		base = append(base, config.WithRetryMode(aws.RetryModeAdaptive))
	}
	if os.Getenv("AWS_MAX_ATTEMPTS") == "" {
		base = append(base, config.WithRetryMaxAttempts(MaxAttempts))
	}
	return config.LoadDefaultConfig(ctx, append(base, opts...)...)
}
