package deployer

import (
	"context"
	"fmt"
	"log/slog"

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

// convergence is one function to converge after index changes.
type convergence struct {
	trigger records.Trigger
	// fn is the function's declaration key (records.DeclKey).
	fn string
	// event names the event's source, for teardown records and logs.
	event string
	// batch holds the ids of the sources the event changed: if one of
	// them declares the function but is not its winning declaration, it is
	// a conflict.
	batch map[string]bool
	// files are the files the event read and parsed, by fileKey, so that
	// they are not read again.
	files map[string]*definition.File
	// pending is where fn was marked pending, to settle it once done.
	pending records.Pending
}

func fileKey(s records.Source) string { return s.ID() + "@" + s.Version }

// converge makes the function match its winning live declaration, under
// its lease. A failure (to take the lease too) is recorded and returned.
func (h *Handler) converge(ctx context.Context, c convergence) error {
	log := h.log.With("function", records.FunctionKey(c.fn), "ref", c.fn, "source", c.event)
	var err error
	if lerr := h.withLease(ctx, records.FunctionKey(c.fn), log, func(ctx context.Context) {
		err = h.convergeHeld(ctx, c, log)
	}); lerr != nil {
		w := work{trigger: c.trigger, source: c.event, mode: records.ModeApply, functionRef: c.fn}
		return h.newRun(ctx, w).fail(ctx, nil, lerr).err
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
func (h *Handler) convergeHeld(ctx context.Context, c convergence, log *slog.Logger) error {
	decls, active, err := h.cfg.Store.Declarations(ctx, c.fn)
	if err != nil {
		return err
	}
	if len(decls) == 0 {
		return h.teardown(ctx, c, active, log)
	}
	win := winner(active, decls)
	conflicted, err := h.recordConflicts(ctx, c, win, decls)
	if err != nil {
		return err
	}
	switch {
	case conflicted && !c.batch[win.Source.ID()]:
		// The winner's own events apply it.
	case active != nil && fileKey(active.Source) == fileKey(win.Source):
		log.InfoContext(ctx, "declaration already applied", "declared_by", win.Source.String())
	default:
		if err := h.applyDeclaration(ctx, c, win); err != nil {
			return err
		}
	}
	return h.cfg.Store.Settle(context.WithoutCancel(ctx), c.pending, c.fn)
}

// winner is the declaration to apply: the active one if still live, else
// the first of decls (ordered by records.Store.Declarations).
func winner(active *records.Declaration, decls []records.Declaration) records.Declaration {
	if active != nil {
		for _, d := range decls {
			if d.Source.ID() == active.Source.ID() {
				return d
			}
		}
	}
	return decls[0]
}

// recordConflicts records and logs each source of the event that declares
// the function although win does. Final: the event is not retried for it.
func (h *Handler) recordConflicts(ctx context.Context, c convergence, win records.Declaration, decls []records.Declaration) (bool, error) {
	var conflicted bool
	for _, d := range decls {
		if !c.batch[d.Source.ID()] || d.Source.ID() == win.Source.ID() {
			continue
		}
		conflicted = true
		fn := records.FunctionKey(c.fn)
		h.log.ErrorContext(ctx, contract.ConflictLogMessage, "function", fn, "ref", c.fn, "source", d.Source.String(), "declared_by", win.Source.String())
		_, err := h.cfg.Store.PutRecord(context.WithoutCancel(ctx), records.Record{
			Function: fn, FunctionRef: c.fn, Start: h.now(), Trigger: c.trigger,
			Source: d.Source.String(), Mode: records.ModeApply, Outcome: records.Conflict,
			DeclaredBy: win.Source.String(), RequestID: requestID(ctx),
			Errors: []string{fmt.Sprintf("%s declares function %s, which %s already declares: nothing was changed. "+
				"One live file per function: delete one of them (to move a file, copy it first, then delete the old one; or git mv)",
				d.Source, c.fn, win.Source)},
		})
		if err != nil {
			return conflicted, err
		}
	}
	return conflicted, nil
}

// applyDeclaration applies the winning declaration's file and records it
// as the function's active declaration.
func (h *Handler) applyDeclaration(ctx context.Context, c convergence, win records.Declaration) error {
	w := work{trigger: c.trigger, source: win.Source.String(), mode: records.ModeApply, functionRef: c.fn}
	r := h.newRun(ctx, w)
	f := c.files[fileKey(win.Source)]
	if f == nil {
		var invalid []string
		var err error
		f, invalid, err = h.readDeclared(ctx, win)
		if err != nil {
			return r.fail(ctx, nil, err).err
		}
		if invalid != nil {
			// Only if the deployer's settings changed since: final.
			_, err := h.recordInvalid(ctx, c.trigger, win.Source.String(), c.fn, invalid)
			return err
		}
	}
	w.file = f
	if res := h.execute(ctx, r, w); res.err != nil {
		if isRefused(res.err) {
			return nil // recorded, final; not the active declaration
		}
		return res.err
	}
	return h.cfg.Store.SetActive(context.WithoutCancel(ctx), win)
}

// teardown removes what eventwire manages for a function that no live file
// declares, with the push sources of the file last applied for it (read
// again at its version), and forgets its active declaration.
func (h *Handler) teardown(ctx context.Context, c convergence, active *records.Declaration, log *slog.Logger) error {
	w := work{trigger: c.trigger, source: c.event, mode: records.ModeDestroy, functionRef: c.fn}
	if active != nil {
		f, invalid, err := h.readDeclared(ctx, *active)
		switch {
		case err != nil || invalid != nil:
			log.WarnContext(ctx, "the file last applied cannot be read again: tearing down without its push sources",
				"declared_by", active.Source.String(), "error", fmt.Sprint(err, invalid))
		default:
			w.functionRef, w.former = f.Function, f.Push
		}
	}
	if res := h.execute(ctx, h.newRun(ctx, w), w); res.err != nil {
		return res.err
	}
	if active != nil {
		if err := h.cfg.Store.DeleteActive(context.WithoutCancel(ctx), c.fn); err != nil {
			return err
		}
	}
	return h.cfg.Store.Settle(context.WithoutCancel(ctx), c.pending, c.fn)
}

// readDeclared reads a declaration's file again, at its version (and its
// sibling at the version read with it), and parses it. A file that no
// longer validates, or names another function, gives its errors in
// invalid; a failure to read is err.
func (h *Handler) readDeclared(ctx context.Context, d records.Declaration) (f *definition.File, invalid []string, err error) {
	var data, sib []byte
	var path string
	tr := records.TriggerS3
	switch d.Source.Kind {
	case records.KindCodeCommit:
		tr, path = records.TriggerCodeCommit, d.Source.Path
		data, sib, err = h.readDefinition(ctx, d.Source.Repository, d.Source.Version, path)
		if err == nil && data == nil {
			err = fmt.Errorf("%s: %w", d.Source, errNoObject)
		}
	default:
		path = d.Source.Key
		data, sib, err = h.readS3Declared(ctx, d.Source)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read %s again: %w", d.Source, err)
	}
	f, invalid, _, err = h.validate(ctx, tr, path, data, sib)
	if err != nil || invalid != nil {
		return nil, invalid, err
	}
	if records.DeclKey(f.Function) != d.Function {
		return nil, []string{fmt.Sprintf("%s: names function %s now, not %s", path, f.Function, d.Function)}, nil
	}
	return f, nil, nil
}

// readS3Declared reads an S3 declaration's file and sibling at the
// versions it was declared with.
func (h *Handler) readS3Declared(ctx context.Context, s records.Source) (data, sib []byte, err error) {
	data, _, err = getObject(ctx, h.cfg.S3, s.Bucket, s.Key, s.Version, maxFileBytes)
	if err != nil || !s.HasSibling {
		return data, nil, err
	}
	sib, _, err = getObject(ctx, h.cfg.S3, s.Bucket, siblingKey(s.Key), s.SiblingVersion, maxFileBytes)
	return data, sib, err
}
