package pull

import (
	"context"
	"errors"
	"sync"
)

// Waits holds the waits for new or updated mappings to leave Creating or
// Updating that Execute left for later (ExecuteOptions.Waits); the zero
// value holds none. The calls that start many mappings are then made back
// to back, and their waits (each bounded by Options.WaitTimeout, which its
// error names with the mapping's StateTransitionReason) run concurrently
// afterwards, without holding a caller's worker per mapping.
type Waits struct {
	mu    sync.Mutex
	waits []func(context.Context) error
}

func (w *Waits) add(wait func(context.Context) error) {
	w.mu.Lock()
	w.waits = append(w.waits, wait)
	w.mu.Unlock()
}

// Len returns how many waits are held.
func (w *Waits) Len() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.waits)
}

// Wait runs the waits held, concurrently, and returns their errors joined.
// It may be called once.
func (w *Waits) Wait(ctx context.Context) error {
	w.mu.Lock()
	waits := w.waits
	w.waits = nil
	w.mu.Unlock()
	errs := make([]error, len(waits))
	var wg sync.WaitGroup
	for i, wait := range waits {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = wait(ctx)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}
