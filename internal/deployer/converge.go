package deployer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/eventwire/eventwire/internal/contract"
	"github.com/eventwire/eventwire/internal/definition"
	"github.com/eventwire/eventwire/internal/records"
)

// One owner per function. The set of live definition files is the desired
// state: the index (internal/records) keeps which live sources declare
// each function. An event first writes its change to the index (one
// transaction, outside any lease), then converges every function its
// change affects, one at a time, each under its own lease: the function
// is made to match its winning declaration, or torn down when nothing
// declares it any more. Since every index change is followed by a
// convergence that reads the index after it, under the function's lease,
// the last convergence of a function reads the final index, whatever the
// order in which events arrive.

// Convergence is one function to converge after index changes.
type Convergence struct {
	Trigger records.Trigger
	// Fn is the function's declaration key (records.DeclKey).
	Fn string
	// Event names the event's source, for teardown records and logs.
	Event string
	// Batch holds the ids of the sources the event changed: if one of
	// them declares the function but is not its winning declaration, it is
	// a conflict.
	Batch map[string]bool
	// Files are the files the event read and parsed, by fileKey, so that
	// they are not read again.
	Files map[string]*definition.File
	// Pending is where fn was marked pending, to settle it once done.
	Pending records.Pending
	// Deferred: the convergence of a deferred teardown (teardown.go),
	// which tears the function down at once if still undeclared.
	Deferred bool
}

// FileKey names a source's file at its version: the key of the files an
// event read (Convergence.Files).
func FileKey(s records.Source) string { return s.ID() + "@" + s.Version }

// Converge makes the function match its winning live declaration, under
// its lease. A failure (to take the lease too) is recorded and returned.
func (h *Handler) Converge(ctx context.Context, c Convergence) error {
	log := h.log.With("function", records.FunctionKey(c.Fn), "ref", c.Fn, "source", c.Event)
	var err error
	if lerr := h.WithLease(ctx, records.FunctionKey(c.Fn), log, func(ctx context.Context) {
		err = h.convergeHeld(ctx, c, log)
	}); lerr != nil {
		w := Work{Trigger: c.Trigger, Source: c.Event, Mode: records.ModeApply, FunctionRef: c.Fn}
		return h.newRun(ctx, w).fail(ctx, nil, lerr).Err
	}
	return err
}

// convergeHeld is converge once the lease is held.
//
// No live declaration: the function is torn down. Else the winner is the
// active declaration (the one last applied) if it is still live, else the
// earliest declared (ties: the smallest source id); a source of the event
// that declares the function but is not the winner is a conflict: recorded
// and logged, and nothing is changed in AWS for it. The winner is applied
// unless it is already applied at its version.
func (h *Handler) convergeHeld(ctx context.Context, c Convergence, log *slog.Logger) error {
	decls, active, err := h.cfg.Store.Declarations(ctx, c.Fn)
	if err != nil {
		return err
	}
	if len(decls) == 0 {
		if h.defers(c, active) {
			return h.deferTeardown(ctx, c, log)
		}
		return h.teardown(ctx, c, active, log)
	}
	win := Winner(active, decls)
	conflicted, err := h.recordConflicts(ctx, c, win, decls)
	if err != nil {
		return err
	}
	switch {
	case conflicted && !c.Batch[win.Source.ID()]:
		// The winner's own events apply it.
	case active != nil && FileKey(active.Source) == FileKey(win.Source):
		log.InfoContext(ctx, "declaration already applied", "declared_by", win.Source.String())
	default:
		if err := h.applyDeclaration(ctx, c, win); err != nil {
			return err
		}
	}
	return h.cfg.Store.Settle(context.WithoutCancel(ctx), c.Pending, c.Fn)
}

// Winner is the declaration to apply: records.Winner.
func Winner(active *records.Declaration, decls []records.Declaration) records.Declaration {
	return records.Winner(active, decls)
}

// recordConflicts records and logs each source of the event that declares
// the function although win does. Final: the event is not retried for it.
func (h *Handler) recordConflicts(ctx context.Context, c Convergence, win records.Declaration, decls []records.Declaration) (bool, error) {
	var conflicted bool
	for _, d := range decls {
		if !c.Batch[d.Source.ID()] || d.Source.ID() == win.Source.ID() {
			continue
		}
		conflicted = true
		fn := records.FunctionKey(c.Fn)
		h.log.ErrorContext(ctx, contract.ConflictLogMessage, "function", fn, "ref", c.Fn, "source", d.Source.String(), "declared_by", win.Source.String())
		_, err := h.cfg.Store.PutRecord(context.WithoutCancel(ctx), records.Record{
			Function: fn, FunctionRef: c.Fn, Start: h.now(), Trigger: c.Trigger,
			Source: d.Source.String(), Mode: records.ModeApply, Outcome: records.Conflict,
			DeclaredBy: win.Source.String(), RequestID: RequestID(ctx),
			Errors: []string{fmt.Sprintf("%s declares function %s, which %s already declares: nothing was changed. "+
				"One live file per function: delete one of them (to move a file, copy it first, then delete the old one; or git mv)",
				d.Source, c.Fn, win.Source)},
		})
		if err != nil {
			return conflicted, err
		}
	}
	return conflicted, nil
}

// applyDeclaration applies the winning declaration's file and records it
// as the function's active declaration.
func (h *Handler) applyDeclaration(ctx context.Context, c Convergence, win records.Declaration) error {
	w := Work{Trigger: c.Trigger, Source: win.Source.String(), Mode: records.ModeApply, FunctionRef: c.Fn}
	r := h.newRun(ctx, w)
	f := c.Files[FileKey(win.Source)]
	if f == nil {
		var invalid []string
		var err error
		f, invalid, err = h.ReadDeclared(ctx, win)
		if err != nil {
			return r.fail(ctx, nil, err).Err
		}
		if invalid != nil {
			// Only if the deployer's settings changed since: final.
			_, err := h.RecordInvalid(ctx, c.Trigger, win.Source.String(), c.Fn, invalid)
			return err
		}
	}
	w.File = f
	if res := h.execute(ctx, r, w); res.Err != nil {
		if isRefused(res.Err) {
			return nil // recorded, final; not the active declaration
		}
		return res.Err
	}
	return h.cfg.Store.SetActive(context.WithoutCancel(ctx), Applied(win, f))
}

// Applied is win, the declaration of file f, with what a teardown needs
// of f: the active declaration to record once f is applied.
func Applied(win records.Declaration, f *definition.File) records.Declaration {
	win.Applied = &records.Applied{Ref: f.Function, Push: f.Push}
	return win
}

// teardown removes what eventwire manages for a function that no live file
// declares, with the push sources of the file last applied for it (as
// stored with its active declaration: see Former), and forgets its active
// declaration.
func (h *Handler) teardown(ctx context.Context, c Convergence, active *records.Declaration, log *slog.Logger) error {
	w := Work{Trigger: c.Trigger, Source: c.Event, Mode: records.ModeDestroy, FunctionRef: c.Fn}
	if active != nil {
		ref, former, err := h.Former(ctx, *active)
		if err != nil {
			log.WarnContext(ctx, "the file last applied cannot be read again: tearing down without its push sources",
				"declared_by", active.Source.String(), "error", err.Error())
		} else {
			w.FunctionRef, w.Former = ref, former
		}
	}
	if res := h.execute(ctx, h.newRun(ctx, w), w); res.Err != nil {
		return res.Err
	}
	if active != nil {
		if err := h.cfg.Store.DeleteActive(context.WithoutCancel(ctx), c.Fn); err != nil {
			return err
		}
	}
	return h.cfg.Store.Settle(context.WithoutCancel(ctx), c.Pending, c.Fn)
}

// Former is the function reference and the push sources of the file
// applied with d, an active declaration, to tear the function down with:
// as stored with it (records.Applied), so that a file deleted with all its
// versions (or no longer valid) is still torn down whole; else, for an
// active declaration stored before they were kept, its file read again.
// err says why that file cannot be read.
func (h *Handler) Former(ctx context.Context, d records.Declaration) (ref string, former []definition.PushSource, err error) {
	if d.Applied != nil {
		return d.Applied.Ref, d.Applied.Push, nil
	}
	f, invalid, err := h.ReadDeclared(ctx, d)
	if err == nil && invalid != nil {
		err = errors.New(strings.Join(invalid, "; "))
	}
	if err != nil {
		return "", nil, err
	}
	return f.Function, f.Push, nil
}

// ReadDeclared reads a declaration's file again, at its version (and its
// sibling at the version read with it), through its source's Reader, and
// parses it. A file that no longer validates, or names another function,
// gives its errors in invalid; a failure to read is err.
func (h *Handler) ReadDeclared(ctx context.Context, d records.Declaration) (f *definition.File, invalid []string, err error) {
	r, err := h.Reader(d.Source.Kind)
	var x File
	if err == nil {
		x, err = r.Read(ctx, d.Source)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read %s again: %w", d.Source, err)
	}
	f, invalid, _, err = h.Validate(ctx, x)
	if err != nil || invalid != nil {
		return nil, invalid, err
	}
	if records.DeclKey(f.Function) != d.Function {
		return nil, []string{fmt.Sprintf("%s: names function %s now, not %s", x.Path, f.Function, d.Function)}, nil
	}
	return f, nil, nil
}
