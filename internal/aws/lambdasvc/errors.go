// Package lambdasvc is eventwire's adapter for the AWS Lambda API: event
// source mappings, their tags, function resolution and resource policies.
// Each part declares the narrow slice of the SDK client it needs; SDK errors
// are translated here, once.
//
// Like every adapter under internal/aws, it imports the SDK and plain
// data, never its callers (the reconciler, the deployer, the CLI) nor a
// test kit (internal/layers checks).
package lambdasvc

import (
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

// Sentinel errors that callers test with errors.Is.
var (
	// ErrNotFound: the function, mapping or statement does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict: ResourceConflictException (already exists, or a
	// conflicting operation is in progress).
	ErrConflict = errors.New("resource conflict")
	// ErrInUse: ResourceInUseException (the mapping is busy).
	ErrInUse = errors.New("resource in use")
	// ErrThrottled: TooManyRequestsException.
	ErrThrottled = errors.New("throttled")
	// ErrPolicyTooLarge: PolicyLengthExceededException (a function's
	// resource policy is capped at PolicyLimit bytes).
	ErrPolicyTooLarge = errors.New("resource policy too large")
)

// PolicyLimit is the size, in bytes, past which AWS refuses to grow a
// function's (or an alias's) resource-based policy.
const PolicyLimit = 20480

// translate maps the SDK's typed errors to the sentinels above, keeping the
// original error in the chain.
func translate(err error) error {
	if err == nil {
		return nil
	}
	var (
		nf *types.ResourceNotFoundException
		rc *types.ResourceConflictException
		iu *types.ResourceInUseException
		tm *types.TooManyRequestsException
		pl *types.PolicyLengthExceededException
	)
	switch {
	case errors.As(err, &nf):
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	case errors.As(err, &rc):
		return fmt.Errorf("%w: %w", ErrConflict, err)
	case errors.As(err, &iu):
		return fmt.Errorf("%w: %w", ErrInUse, err)
	case errors.As(err, &tm):
		return fmt.Errorf("%w: %w", ErrThrottled, err)
	case errors.As(err, &pl):
		return fmt.Errorf("%w: %w", ErrPolicyTooLarge, err)
	}
	return err
}
