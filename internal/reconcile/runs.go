package reconcile

import (
	"context"
	"sync"

	"github.com/eventwire/eventwire/internal/definition"
	"github.com/eventwire/eventwire/internal/plan"
)

// Runs plans and applies in one Run at a time, for a caller whose runs
// are not one call (the deployer: one invocation after another of one
// Lambda execution environment). Begin starts the next run; until the
// first Begin, Runs plans and applies in a run of its own.
type Runs struct {
	r   *Reconciler
	mu  sync.Mutex
	run *Run
}

// Runs returns r's Runs.
func (r *Reconciler) Runs() *Runs { return &Runs{r: r, run: r.NewRun(nil)} }

// Begin starts a new run: what the previous one read is not used again.
func (rs *Runs) Begin() {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	rs.run = rs.r.NewRun(nil)
}

func (rs *Runs) current() *Run {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return rs.run
}

// Plan is the current run's Plan.
func (rs *Runs) Plan(ctx context.Context, f *definition.File) (*plan.Plan, error) {
	return rs.current().Plan(ctx, f)
}

// PlanDestroy is the current run's PlanDestroy.
func (rs *Runs) PlanDestroy(ctx context.Context, ref string, former []definition.PushSource) (*plan.Plan, error) {
	return rs.current().PlanDestroy(ctx, ref, former)
}

// Apply is the current run's Apply.
func (rs *Runs) Apply(ctx context.Context, p *plan.Plan) error {
	return rs.current().Apply(ctx, p)
}
