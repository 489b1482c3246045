package sweep

import (
	"context"
	"time"

	"github.com/eventwire/eventwire/internal/contract"
	"github.com/eventwire/eventwire/internal/deployer"
	"github.com/eventwire/eventwire/internal/records"
)

// The sweep queue also carries the deployer's deferred teardowns
// (internal/deployer's teardown.go): a convergence that finds a function
// undeclared after a removal sends a message of kind
// contract.SweepKindTeardown, delayed by the grace; the batch handler then
// converges the function under its lease, tearing it down only if no live
// file declares it by then. The queue's retries and dead-letter queue keep
// the message like a check's.

// Defers reports whether the sweep can defer teardowns: it has a queue to
// send to.
func (s *Sweep) Defers() bool { return s.cfg.QueueURL != "" && s.cfg.SQS != nil }

// DeferTeardown sends the message that converges c's function again after
// delay (deployer.TeardownDeferrer), rounded up to a whole second and at
// most SQS's longest delay.
func (s *Sweep) DeferTeardown(ctx context.Context, c deployer.Convergence, delay time.Duration) error {
	secs := min(int32((delay+time.Second-1)/time.Second), contract.MaxTeardownGraceSeconds)
	m := contract.SweepMessage{Function: c.Fn, Kind: contract.SweepKindTeardown, Started: s.h.Now().UTC(), Trigger: string(c.Trigger), Source: c.Event}
	return s.enqueue(ctx, []contract.SweepMessage{m}, secs)
}

// deferredTeardown converges the function of a deferred teardown's
// message: torn down if still undeclared, else its winning declaration
// applied if it is not already.
func (s *Sweep) deferredTeardown(ctx context.Context, m contract.SweepMessage) error {
	return s.h.Converge(ctx, deployer.Convergence{
		Trigger: records.Trigger(m.Trigger), Fn: records.DeclKey(m.Function), Event: m.Source, Deferred: true,
	})
}
