package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/eventwire/eventwire/internal/contract"
	"github.com/eventwire/eventwire/internal/records"
)

// DefaultSource is the declaring source of apply and destroy with a table
// unless --source names another.
const DefaultSource = "cli"

// With a table, the CLI is a declaring source, as an S3 file or a branch
// is for the deployer: apply writes, under each function's lease, that
// the source (--source, DefaultSource) declares the function, keeping the
// file in the table (records.CLISource, records.Store.PutFile), so that
// the deployer's sweep checks the function against it and never prunes it
// as an orphan. A function another live source declared first is a
// conflict: nothing is applied to it. destroy removes the declaration.

// errDeclaredElsewhere: another live source declares the function.
var errDeclaredElsewhere = errors.New("conflict: the function is declared by another source")

// declare writes o's declaration by the ledger's source (apply) or its
// removal (destroy), under the function's lease. It returns the
// declaration, or an error wrapping errDeclaredElsewhere when another
// source is the function's winning declaration.
func (l *ledger) declare(ctx context.Context, o *outcome) (records.Declaration, error) {
	fn := records.DeclKey(o.file.Function)
	src := records.CLISource(l.source, fn, l.runID)
	if l.mode == records.ModeDestroy {
		return records.Declaration{Function: fn, Source: src}, l.store.DeclareAlone(ctx, src, fn, true)
	}
	stored, err := storedFile(o.file.Path)
	if err == nil {
		err = l.store.PutFile(ctx, src, stored)
	}
	if err == nil {
		err = l.store.DeclareAlone(ctx, src, fn, false)
	}
	if err != nil {
		return records.Declaration{}, err
	}
	decls, active, err := l.store.Declarations(ctx, fn)
	if err != nil {
		return records.Declaration{}, err
	}
	if len(decls) == 0 {
		return records.Declaration{}, fmt.Errorf("%s: its declaration of function %s is not in the index", src, fn)
	}
	win := records.Winner(active, decls)
	if win.Source.ID() != src.ID() {
		how := "remove that file first"
		if win.Source.Kind == records.KindCLI {
			how = "destroy it with --source " + win.Source.Repository + " first"
		}
		return win, fmt.Errorf("%w: %s already declares function %s: nothing applied; %s", errDeclaredElsewhere, win.Source, fn, how)
	}
	return win, nil
}

// storedFile reads the file at path and the _lambdadef.json beside it, as
// the table keeps them.
func storedFile(path string) (records.StoredFile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return records.StoredFile{}, err
	}
	f := records.StoredFile{Path: path, Data: data}
	sib, err := os.ReadFile(filepath.Join(filepath.Dir(path), contract.FunctionDefFileName))
	switch {
	case err == nil:
		f.Sib = sib
	case !errors.Is(err, fs.ErrNotExist):
		return f, err
	}
	return f, nil
}

// settle records, once o's run is done, what the table must know of it:
// the declaration applied (or matching AWS already) as the function's
// active one; the active declaration forgotten once destroy tore the
// function down.
func (l *ledger) settle(ctx context.Context, o *outcome, d records.Declaration) error {
	ctx = context.WithoutCancel(ctx)
	if o.applyErr != nil || (o.Plan.HasChanges() && !o.applied) {
		return nil
	}
	if l.mode == records.ModeDestroy {
		return l.store.DeleteActive(ctx, d.Function)
	}
	return l.store.SetActive(ctx, d)
}
