package deployer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/eventwire/eventwire/internal/records"
)

// StoredReader is the Reader of the sources whose files cannot be read
// again at their source (records.KindPipeline, records.KindCLI): their
// files are kept in the table when they are indexed (records.Store.PutFile)
// and read from there. Such a declaration is live until its source
// removes it (the pipeline's next run without the file, `eventwire
// destroy --table`): the sweep never re-reads a pipeline's artifacts nor a
// laptop's files, and never calls their functions orphans.
type StoredReader struct {
	h       *Handler
	trigger records.Trigger
}

// NewStoredReader returns the reader of stored files, read as trigger's.
func NewStoredReader(h *Handler, trigger records.Trigger) *StoredReader {
	return &StoredReader{h: h, trigger: trigger}
}

// Read reads the stored file of s at its version. A file the table does
// not keep is an error wrapping ErrNoObject.
func (r *StoredReader) Read(ctx context.Context, s records.Source) (File, error) {
	f, err := r.h.cfg.Store.File(ctx, s)
	if errors.Is(err, records.ErrNoStoredFile) {
		err = fmt.Errorf("%w: %w", ErrNoObject, err)
	}
	return File{Trigger: r.trigger, Path: f.Path, Data: f.Data, Sib: f.Sib}, err
}

// Live is always true: only the source's own runs remove its declarations.
func (r *StoredReader) Live(context.Context, records.Source, *slog.Logger) (bool, error) {
	return true, nil
}

// CatchUp has nothing to catch up: the source's runs index themselves.
func (r *StoredReader) CatchUp(context.Context, string) error { return nil }

// RunDeclared carries out w (apply) for src, a source that has indexed
// its declaration of w's function, under the function's lease: if src is
// not the function's winning declaration (another live source declared it
// first), it is a conflict, recorded and returned as a final refusal, and
// nothing is changed in AWS; else w runs as Run's does, and src becomes
// the function's active declaration.
func (h *Handler) RunDeclared(ctx context.Context, w Work, src records.Source) Result {
	r := h.newRun(ctx, w)
	fn := records.DeclKey(w.File.Function)
	var res Result
	if err := h.WithLease(ctx, r.rec.Function, r.log, func(ctx context.Context) {
		res = h.runDeclaredHeld(ctx, r, w, src, fn)
	}); err != nil {
		return r.fail(ctx, nil, err)
	}
	return res
}

// runDeclaredHeld is RunDeclared once the lease is held.
func (h *Handler) runDeclaredHeld(ctx context.Context, r *runState, w Work, src records.Source, fn string) Result {
	decls, active, err := h.cfg.Store.Declarations(ctx, fn)
	if err != nil {
		return r.fail(ctx, nil, err)
	}
	if len(decls) == 0 {
		return r.fail(ctx, nil, fmt.Errorf("%s: its declaration of function %s is not in the index", src, fn))
	}
	win := Winner(active, decls)
	if win.Source.ID() != src.ID() {
		c := Convergence{Trigger: w.Trigger, Fn: fn, Event: w.Source, Batch: map[string]bool{src.ID(): true}}
		if _, err := h.recordConflicts(ctx, c, win, decls); err != nil {
			return Result{Err: err}
		}
		return Result{Err: refusedError{err: fmt.Errorf("conflict: %s declares function %s, which %s already declares: nothing was changed", src, fn, win.Source)}}
	}
	res := h.execute(ctx, r, w)
	if res.Err == nil && w.Mode == records.ModeApply {
		if err := h.cfg.Store.SetActive(context.WithoutCancel(ctx), win); err != nil {
			res.Err = err
		}
	}
	return res
}
