package push

import "github.com/eventwire/eventwire/internal/wiring"

// Ops: what Execute needs to carry out each kind of action.
type (
	// grantOp adds a statement.
	grantOp struct{ Statement wiring.Statement }
	// revokeOp removes a statement.
	revokeOp struct{ Statement wiring.Statement }
	// registerOp deregisters other targets, then registers Register (if
	// not empty) in the target group.
	registerOp struct {
		TargetGroupArn string
		Deregister     []string
		Register       string
	}
	// deregisterOp deregisters Target from the target group.
	deregisterOp struct {
		TargetGroupArn string
		Target         string
	}
	// integrationOp makes sure that a managed integration to URI exists.
	integrationOp struct {
		ApiID, URI, Description string
	}
	// attachOp points a route at the managed integration to URI, creating
	// the integration if it is missing.
	attachOp struct {
		ApiID, RouteID, URI, Description string
	}
	// detachOp clears a route's target.
	detachOp struct {
		ApiID, RouteID, Target string
	}
	// deleteIntegrationOp deletes a managed integration.
	deleteIntegrationOp struct {
		ApiID, IntegrationID string
	}
)
