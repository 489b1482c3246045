package deployer

import (
	"context"
	"errors"
	"fmt"

	"github.com/eventwire/eventwire/internal/aws/elbsvc"
	"github.com/eventwire/eventwire/internal/contract"
)

// refusedError is a run that cannot succeed by retrying, recorded as
// refused (AWS refused it for good) or as conflict (its plan holds a
// conflict, so nothing was applied): the event is not retried for it (a
// CodePipeline job still fails with it).
type refusedError struct{ err error }

func (e refusedError) Error() string { return e.err.Error() }
func (e refusedError) Unwrap() error { return e.err }

// isRefused tells whether err is a recorded refusal.
func isRefused(err error) bool {
	var r refusedError
	return errors.As(err, &r)
}

// refusal says what the operator must do about an apply error that
// retrying cannot fix, or "" if err is not one: IAM refusing to register
// a function in a target group. With a list of target groups (the
// stack's targetGroupArns) the file's target group was checked against it
// already, so a refusal means the list and the role disagree; without
// one, the role allows the target groups carrying the tag.
func (h *Handler) refusal(ctx context.Context, err error) string {
	var denied *elbsvc.RegisterDeniedError
	if !errors.As(err, &denied) {
		return ""
	}
	if h.cfg.Policy != nil {
		if p, perr := h.cfg.Policy(ctx); perr == nil && p.TargetGroups != nil {
			return fmt.Sprintf("target group %s refused the registration although %s allows it: the deployer's role does not (see the stack's targetGroupArns); not retried",
				denied.TargetGroup, contract.EnvTargetGroups)
		}
	}
	return fmt.Sprintf("the deployer may register functions only in target groups tagged %s=%s, and target group %s is not: "+
		"tag it (aws elbv2 add-tags --resource-arns %s --tags Key=%s,Value=%s), then deploy the file again; not retried",
		contract.TargetGroupTag, contract.TargetGroupTagValue, denied.TargetGroup,
		denied.TargetGroup, contract.TargetGroupTag, contract.TargetGroupTagValue)
}
