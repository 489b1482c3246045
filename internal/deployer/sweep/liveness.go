package sweep

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/eventwire/eventwire/internal/contract"
	"github.com/eventwire/eventwire/internal/deployer"
	"github.com/eventwire/eventwire/internal/records"
)

// A file removed while no event was delivered (a lost notification, a
// trigger off at the time) still declares its function in the index, and
// the sweep would read it again at its recorded version and find it in
// sync. So before a declaration is checked, its source is checked to be
// still live: S3, a current object at the key (HeadObject without a
// version: a delete marker or no object answers 404); CodeCommit, the file
// at the branch's head. A source that is not live is handled as the
// removal event would have been: indexed (Store.Index, as s3Removal and a
// push do), then the function converges (another live declaration checked
// in its place, else the function is checked as an orphan).
//
// The removal is indexed without a sequencer: S3's sequencers of a key
// only increase, but the sweep cannot know the missed event's, and any
// value it made up could be taken for newer than a real later event and
// make it stale. Without one, the key's last sequencer is unchanged, so a
// later real event (the removal delivered late, a new put) is handled as
// usual. The write is conditioned on the source's revision: an event
// indexed meanwhile makes the check fail, and it is retried.
//
// A function left without a live declaration that way is reported
// orphaned, but not pruned by the same check, even with heal on: a file
// moved to another key (or path) is a removal and a put. The sweep's start
// indexes an S3 put whose event was lost (the S3 source's CatchUp), but
// only one made before its listing; a later put's event (or a CodeCommit
// push's) may still be on its way. Pruning now would unwire a function that a live
// file declares; the put's event, when it comes (or the next sweep's
// start), wires it from the new file, and the next sweep prunes what is
// still orphaned then. That holds across retries of the check: the sweep
// that found the removal is kept on the function's known item, and a check
// of that sweep never prunes it (mayPrune).

// RemovedWithoutEventLogMessage is the warning logged when the sweep finds
// a declaring file gone (keys function, ref, sweep, declared_by).
const RemovedWithoutEventLogMessage = "declaring file removed without an event: removal indexed"

// live reports whether the source's file is still there, through its
// Reader.
func (s *Sweep) live(ctx context.Context, src records.Source, log *slog.Logger) (bool, error) {
	r, err := s.h.Reader(src.Kind)
	if err != nil {
		return false, fmt.Errorf("check %s is live: %w", src, err)
	}
	return r.Live(ctx, src, log)
}

// indexMissedRemoval writes the removal of d's source to the index, as its
// event would have (without a sequencer: see above), once the function's
// known item says that sweep found it (records.Store.MarkRemovalFound):
// a retry of the check, after a failure once the removal is indexed, reads
// it there and still does not prune.
func (s *Sweep) indexMissedRemoval(ctx context.Context, d records.Declaration, sweep string, log *slog.Logger) error {
	st, err := s.h.Store().SourceState(ctx, d.Source)
	if err != nil {
		return err
	}
	if st.Declares() != d.Function {
		return fmt.Errorf("index %s: declares %q now, not %s: %w", d.Source, st.Declares(), d.Function, records.ErrIndexMoved)
	}
	if err := s.h.Store().MarkRemovalFound(context.WithoutCancel(ctx), d.Function, sweep); err != nil {
		return err
	}
	if err := s.h.Store().Index(context.WithoutCancel(ctx), st, records.Change{Kind: records.Remove, Source: d.Source}); err != nil {
		return err
	}
	log.WarnContext(ctx, RemovedWithoutEventLogMessage, "declared_by", d.Source.String())
	return nil
}

// liveDeclarations returns fn's declarations (and the active one) once
// every winner found removed is indexed as such (by sweep): a live winner
// first, or none; and how many removals it indexed.
func (s *Sweep) liveDeclarations(ctx context.Context, fn, sweep string, log *slog.Logger) ([]records.Declaration, *records.Declaration, int, error) {
	removed := 0
	for {
		decls, active, err := s.h.Store().Declarations(ctx, fn)
		if err != nil || len(decls) == 0 {
			return decls, active, removed, err
		}
		win := deployer.Winner(active, decls)
		live, err := s.live(ctx, win.Source, log)
		if err != nil || live {
			return decls, active, removed, err
		}
		if err := s.indexMissedRemoval(ctx, win, sweep, log); err != nil {
			return nil, nil, removed, err
		}
		removed++
	}
}

// mayPrune reports whether the check of m may prune fn, which no live file
// declares: not when the check indexed the removal of its last declaring
// file itself (removed), nor when an earlier attempt of the same check, or
// another check of the same sweep, did, nor while a removal's deferred
// teardown of fn is not yet due (the teardown grace).
func (s *Sweep) mayPrune(ctx context.Context, m contract.SweepMessage, fn string, removed int) (bool, error) {
	if removed > 0 {
		return false, nil
	}
	holds, err := s.h.Store().PruneHolds(ctx, fn)
	if err != nil {
		return false, err
	}
	if until := holds.TeardownDeferredUntil; s.h.Now().Before(until) {
		s.log.InfoContext(ctx, TeardownPendingLogMessage, "function", fn, "until", until.Format(time.RFC3339))
		return false, nil
	}
	by := holds.RemovalFoundBy
	return by == "" || by != m.Sweep, nil
}

// TeardownPendingLogMessage is logged when a check leaves an orphan whose
// teardown a removal deferred: the deferred teardown decides, after the
// grace, whether a live file declares it again (a move's late copy).
const TeardownPendingLogMessage = "orphan not pruned: its teardown is deferred by the teardown grace"
