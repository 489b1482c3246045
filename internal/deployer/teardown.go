package deployer

import (
	"context"
	"log/slog"
	"time"

	"github.com/eventwire/eventwire/internal/records"
)

// A file moved to another key (or path) is a removal and a put, whose
// events may arrive in either order. Delivered delete first, the removal
// leaves the function undeclared until the put's event comes: torn down
// then wired again, its mappings would be deleted and created anew, with
// new UUIDs, losing a Kinesis or DynamoDB stream's checkpoint and stopping
// an SQS queue's consumption in between. So a teardown that a removal
// causes is deferred by Config.TeardownGrace: the convergence sends a
// delayed message (the TeardownDeferrer: the sweep, on its queue) and
// changes nothing; when the message comes, the function converges again
// under its lease (Convergence.Deferred), and is torn down only if no live
// file declares it by then. A put arrived meanwhile applies its file over
// the wiring in place: the mappings keep their UUIDs.
//
// No sleeping invocation waits out the grace: the delay is SQS's. Without
// a TeardownDeferrer (no sweep queue: tests, the bench) or with a grace of
// zero, teardowns are at once, as before. Nothing is deferred for a
// function of which nothing was applied (no active declaration): there is
// nothing to keep.

// TeardownDeferrer defers a teardown: it makes the deployer converge c's
// function again (Convergence.Deferred) once delay has passed.
type TeardownDeferrer interface {
	DeferTeardown(ctx context.Context, c Convergence, delay time.Duration) error
}

// OnDeferTeardown registers the deferrer of teardowns.
func (h *Handler) OnDeferTeardown(d TeardownDeferrer) { h.deferrer = d }

// TeardownDeferredLogMessage is logged when a teardown is deferred (keys
// function, ref, source, declared_by, grace_seconds).
const TeardownDeferredLogMessage = "teardown deferred: the function is torn down after the grace period if no live file declares it by then"

// defers reports whether c's teardown is deferred: a grace is set, a
// deferrer registered, c is not itself a deferred teardown, and something
// was applied for the function.
func (h *Handler) defers(c Convergence, active *records.Declaration) bool {
	return h.cfg.TeardownGrace > 0 && h.deferrer != nil && !c.Deferred && active != nil
}

// deferTeardown defers c's teardown by the grace, and settles the function:
// the delayed message converges it again. A failure to send is returned
// (the event is retried).
func (h *Handler) deferTeardown(ctx context.Context, c Convergence, log *slog.Logger) error {
	if err := h.cfg.Store.MarkTeardownDeferred(ctx, c.Fn, h.Now().Add(h.cfg.TeardownGrace)); err != nil {
		return err
	}
	if err := h.deferrer.DeferTeardown(ctx, c, h.cfg.TeardownGrace); err != nil {
		return err
	}
	log.InfoContext(ctx, TeardownDeferredLogMessage, "grace_seconds", int(h.cfg.TeardownGrace/time.Second))
	return h.cfg.Store.Settle(context.WithoutCancel(ctx), c.Pending, c.Fn)
}
