// Package elbsvc is eventwire's adapter for Elastic Load Balancing v2: the
// Lambda target groups that push events to a function. It declares the
// slice of the SDK client it needs and translates SDK errors once, here.
//
// Like every adapter under internal/aws, it imports the SDK and plain
// data, never its callers (the reconciler, the deployer, the CLI) nor a
// test kit (internal/layers checks).
package elbsvc

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/smithy-go"

	"github.com/eventwire/eventwire/internal/aws/runcache"
)

// API is the slice of the ELBv2 client that Client needs.
type API interface {
	DescribeTargetGroups(ctx context.Context, in *elasticloadbalancingv2.DescribeTargetGroupsInput, opts ...func(*elasticloadbalancingv2.Options)) (*elasticloadbalancingv2.DescribeTargetGroupsOutput, error)
	DescribeTargetHealth(ctx context.Context, in *elasticloadbalancingv2.DescribeTargetHealthInput, opts ...func(*elasticloadbalancingv2.Options)) (*elasticloadbalancingv2.DescribeTargetHealthOutput, error)
	RegisterTargets(ctx context.Context, in *elasticloadbalancingv2.RegisterTargetsInput, opts ...func(*elasticloadbalancingv2.Options)) (*elasticloadbalancingv2.RegisterTargetsOutput, error)
	DeregisterTargets(ctx context.Context, in *elasticloadbalancingv2.DeregisterTargetsInput, opts ...func(*elasticloadbalancingv2.Options)) (*elasticloadbalancingv2.DeregisterTargetsOutput, error)
}

// Sentinel errors that callers test with errors.Is.
var (
	// ErrNotFound: TargetGroupNotFoundException.
	ErrNotFound = errors.New("target group not found")
	// ErrThrottled: the ELBv2 control plane's token bucket is empty.
	ErrThrottled = errors.New("throttled")
	// ErrInvalidTarget: InvalidTargetException (for a Lambda target: the
	// function is missing, or may not be invoked by elasticloadbalancing).
	ErrInvalidTarget = errors.New("invalid target")
	// ErrAccessDenied: AccessDenied (the caller's IAM policy does not
	// allow the call on this target group).
	ErrAccessDenied = errors.New("access denied")
)

// RegisterDeniedError is a registration that IAM refused: retrying cannot
// help until the target group is allowed (tagged, or listed in the
// caller's policy). It unwraps to ErrAccessDenied.
type RegisterDeniedError struct {
	TargetGroup, Target string
	Err                 error
}

func (e *RegisterDeniedError) Error() string {
	return fmt.Sprintf("register %s in target group %s: %v", e.Target, e.TargetGroup, e.Err)
}

func (e *RegisterDeniedError) Unwrap() error { return e.Err }

func translate(err error) error {
	if err == nil {
		return nil
	}
	var (
		nf *types.TargetGroupNotFoundException
		it *types.InvalidTargetException
		ae smithy.APIError
	)
	switch {
	case errors.As(err, &nf):
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	case errors.As(err, &it):
		return fmt.Errorf("%w: %w", ErrInvalidTarget, err)
	case errors.As(err, &ae) && (ae.ErrorCode() == "Throttling" || ae.ErrorCode() == "ThrottlingException"):
		return fmt.Errorf("%w: %w", ErrThrottled, err)
	case errors.As(err, &ae) && (ae.ErrorCode() == "AccessDenied" || ae.ErrorCode() == "AccessDeniedException"):
		return fmt.Errorf("%w: %w", ErrAccessDenied, err)
	}
	return err
}

// TargetTypeLambda is the target type of a target group whose target is a
// Lambda function.
const TargetTypeLambda = string(types.TargetTypeEnumLambda)

// TargetGroup is what eventwire needs to know of a target group.
type TargetGroup struct {
	ARN        string
	Name       string
	TargetType string
}

// Client reads and changes target groups.
type Client struct {
	api API
}

// New returns a Client on api (usually an *elasticloadbalancingv2.Client).
func New(api API) *Client { return &Client{api: api} }

// Run-cache keys (internal/aws/runcache): a target group's description and
// targets are read once per run; Register and Deregister update the
// targets.
func groupKey(arn string) string   { return "elb/group/" + arn }
func targetsKey(arn string) string { return "elb/targets/" + arn }

// Expect names the target groups that the run (ctx from
// internal/aws/runcache) may describe. The first TargetGroup call of the run
// for one of them describes all of them, in as few calls as it can
// (DescribeTargetGroups names up to 20 at once), and keeps each
// description for the run. A run that needs no description (every target
// group already holds a Lambda target) makes no call.
func (c *Client) Expect(ctx context.Context, arns []string) {
	runcache.Store(ctx, expectedKey, slices.Clone(arns))
}

const (
	expectedKey = "elb/expected"
	batchKey    = "elb/batch"
)

// TargetGroup describes the target group arn, once per run. A missing
// group is ErrNotFound.
func (c *Client) TargetGroup(ctx context.Context, arn string) (TargetGroup, error) {
	expected, _ := runcache.Load(ctx, expectedKey, func() ([]string, error) { return nil, nil })
	if slices.Contains(expected, arn) {
		runcache.Load(ctx, batchKey, func() (bool, error) { c.describeAll(ctx, expected); return true, nil })
	}
	return runcache.Load(ctx, groupKey(arn), func() (TargetGroup, error) { return c.targetGroup(ctx, arn) })
}

// describeBatch is how many target groups one DescribeTargetGroups call
// names.
const describeBatch = 20

// describeAll describes arns in batches and keeps each description for the
// run. A batch that fails (one of its target groups is missing, say) is
// skipped: TargetGroup then reads those one by one, and reports the error
// against the file that names it.
func (c *Client) describeAll(ctx context.Context, arns []string) {
	for chunk := range slices.Chunk(arns, describeBatch) {
		out, err := c.api.DescribeTargetGroups(ctx, &elasticloadbalancingv2.DescribeTargetGroupsInput{TargetGroupArns: chunk})
		if err != nil {
			continue
		}
		for _, tg := range out.TargetGroups {
			arn := aws.ToString(tg.TargetGroupArn)
			runcache.Store(ctx, groupKey(arn), TargetGroup{ARN: arn, Name: aws.ToString(tg.TargetGroupName), TargetType: string(tg.TargetType)})
		}
	}
}

func (c *Client) targetGroup(ctx context.Context, arn string) (TargetGroup, error) {
	out, err := c.api.DescribeTargetGroups(ctx, &elasticloadbalancingv2.DescribeTargetGroupsInput{TargetGroupArns: []string{arn}})
	if err != nil {
		return TargetGroup{}, fmt.Errorf("describe target group %s: %w", arn, translate(err))
	}
	for _, tg := range out.TargetGroups {
		if aws.ToString(tg.TargetGroupArn) == arn {
			return TargetGroup{ARN: arn, Name: aws.ToString(tg.TargetGroupName), TargetType: string(tg.TargetType)}, nil
		}
	}
	return TargetGroup{}, fmt.Errorf("describe target group %s: %w", arn, ErrNotFound)
}

// Targets returns the ids of the targets registered in the target group,
// sorted (for a Lambda target group: function ARNs, qualified if they were
// registered so). They are read once per run.
func (c *Client) Targets(ctx context.Context, arn string) ([]string, error) {
	return runcache.Load(ctx, targetsKey(arn), func() ([]string, error) { return c.targets(ctx, arn) })
}

func (c *Client) targets(ctx context.Context, arn string) ([]string, error) {
	out, err := c.api.DescribeTargetHealth(ctx, &elasticloadbalancingv2.DescribeTargetHealthInput{TargetGroupArn: aws.String(arn)})
	if err != nil {
		return nil, fmt.Errorf("describe targets of %s: %w", arn, translate(err))
	}
	var ids []string
	for _, d := range out.TargetHealthDescriptions {
		if d.Target == nil {
			continue
		}
		if d.TargetHealth != nil && d.TargetHealth.State == types.TargetHealthStateEnumDraining {
			// Deregistration in progress: no longer a target.
			continue
		}
		ids = append(ids, aws.ToString(d.Target.Id))
	}
	sort.Strings(ids)
	return ids, nil
}

// Register registers the target id (a function ARN) in the target group.
func (c *Client) Register(ctx context.Context, arn, id string) error {
	_, err := c.api.RegisterTargets(ctx, &elasticloadbalancingv2.RegisterTargetsInput{
		TargetGroupArn: aws.String(arn), Targets: []types.TargetDescription{{Id: aws.String(id)}},
	})
	if err = translate(err); errors.Is(err, ErrAccessDenied) {
		return &RegisterDeniedError{TargetGroup: arn, Target: id, Err: err}
	}
	if err != nil {
		runcache.Forget(ctx, targetsKey(arn))
		return fmt.Errorf("register %s in target group %s: %w", id, arn, err)
	}
	runcache.Update(ctx, targetsKey(arn), func(ids []string) []string {
		if slices.Contains(ids, id) {
			return ids
		}
		out := append(slices.Clone(ids), id)
		sort.Strings(out)
		return out
	})
	return nil
}

// Deregister removes the target id from the target group. A target group
// that is gone is success.
func (c *Client) Deregister(ctx context.Context, arn, id string) error {
	_, err := c.api.DeregisterTargets(ctx, &elasticloadbalancingv2.DeregisterTargetsInput{
		TargetGroupArn: aws.String(arn), Targets: []types.TargetDescription{{Id: aws.String(id)}},
	})
	if err != nil {
		runcache.Forget(ctx, targetsKey(arn))
		err = translate(err)
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		return fmt.Errorf("deregister %s from target group %s: %w", id, arn, err)
	}
	runcache.Update(ctx, targetsKey(arn), func(ids []string) []string {
		return slices.DeleteFunc(slices.Clone(ids), func(t string) bool { return t == id })
	})
	return nil
}
