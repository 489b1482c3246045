package bucket

import (
	"context"
	"errors"

	"github.com/eventwire/eventwire/internal/definition"
	"github.com/eventwire/eventwire/internal/deployer"
	"github.com/eventwire/eventwire/internal/records"
)

// What S3 serves now decides, not the event: an event is a hint that the
// key changed, and the key's current file (GetObject without a version)
// is what gets indexed.
//
//   - A put event whose version is no longer the key's current one is
//     superseded: a newer put followed, or the version was deleted
//     (a rollback). Sequencers order only one key's events, and the
//     sweep's catch-up indexes without one, so the event's sequencer
//     cannot tell whether the index has something newer; the current
//     version can.
//   - A removal event of a key that still has a current object (a
//     noncurrent version deleted, a rollback, an undelete) indexes that
//     object.
//   - A put or removal of a _lambdadef.json indexes the definition file
//     beside it (sibling.go).
//
// In each case the current file is indexed without a sequencer, as the
// sweep's catch-up does: the event is not about that version (or not
// about that key), so its sequencer must not order the key's later
// events. This is also why a forged event cannot make the deployer apply
// anything S3 does not serve: it can only make it read, and index, the
// key's current file. A file indexed already at the current version with
// the same sibling is not indexed again (an invalid one would be recorded
// again); the function it declares is converged, which changes nothing
// if it is applied already.

// SupersededLogMessage is logged when an event is not about the key's
// current file and that file is indexed in its place (keys bucket, key,
// event, sequencer, current_version).
const SupersededLogMessage = "S3 event superseded: indexing the key's current file instead"

// readCurrent reads the key's current file with its sibling: nil (and no
// error) if the key has no current object (no object, or a delete marker).
func (bk *Source) readCurrent(ctx context.Context, bucket, key string) (*s3File, error) {
	x, err := bk.readS3File(ctx, bucket, key, "")
	if errors.Is(err, deployer.ErrNoObject) {
		return nil, nil
	}
	return x, err
}

// untilSettled runs try again while it returns records.ErrIndexMoved (the
// key's state moved between its read and the write: decided again from
// the start, the state and S3 read again), at most maxIndexAttempts times.
func untilSettled(try func() error) error {
	for attempt := 1; ; attempt++ {
		err := try()
		if !errors.Is(err, records.ErrIndexMoved) || attempt == maxIndexAttempts {
			return err
		}
	}
}

// indexCurrentOf indexes the current file of c's key in place of the
// event (s3IndexCurrent), or, if the key has no current object, runs
// absent. The key's state is read before S3, so that whatever indexed it
// before is older than the file read.
//
// A refused read (AccessDenied included) is returned, never taken for an
// absence: the stack grants s3:ListBucket, so a missing key answers 404,
// and removing on a 403 would unwire the function.
func (bk *Source) indexCurrentOf(ctx context.Context, c *s3Change, absent func() error) error {
	return untilSettled(func() error {
		st, err := bk.h.Store().SourceState(ctx, c.src())
		if err != nil {
			return err
		}
		x, err := bk.readCurrent(ctx, c.bucket, c.key)
		switch {
		case err != nil:
			return err
		case x == nil:
			return absent()
		}
		return bk.s3IndexCurrent(ctx, c, st, x)
	})
}

// s3ConvergeDeclared converges the function the key declares (marked
// pending first: the sweep's catch-up indexes without converging, and a
// report-only sweep leaves it unapplied) and what the key has pending.
func (bk *Source) s3ConvergeDeclared(ctx context.Context, c *s3Change, st records.SourceState) error {
	if err := bk.h.Store().AddPending(ctx, st.Pending, records.NewID(), st.Declares()); err != nil {
		return err
	}
	st, err := bk.h.Store().SourceState(ctx, c.src())
	if err != nil {
		return err
	}
	return bk.s3Converge(ctx, c, st, st.Declares(), nil)
}

// s3Superseded handles a put event whose version is not the key's current
// one (x, nil if the key has none). An event about a version that never
// existed is ignored as before (forged, or deleted since: a rollback's own
// event indexes what is current).
func (bk *Source) s3Superseded(ctx context.Context, c *s3Change, st records.SourceState, x *s3File) error {
	_, _, err := getObject(ctx, bk.cfg.API, object{c.bucket, c.key, c.obj.VersionID}, 1)
	switch {
	case errors.Is(err, deployer.ErrNoObject):
		c.log.WarnContext(ctx, "ignored S3 event: the object version does not exist", "error", err.Error())
		return nil
	case err != nil:
		return err
	case x == nil:
		c.log.InfoContext(ctx, "ignored S3 event: the key has no current object (its removal is indexed by its own event or the sweep)")
		return nil
	}
	return bk.s3IndexCurrent(ctx, c, st, x)
}

// s3IndexCurrent indexes x, the key's current file, in place of the event
// c, without a sequencer (see above), then converges what the key has
// pending. records.ErrIndexMoved: the key's state is no longer st.
func (bk *Source) s3IndexCurrent(ctx context.Context, c *s3Change, st records.SourceState, x *s3File) error {
	cur := *c
	cur.obj.VersionID = x.src.Version
	cur.log = c.log.With("current_version", x.src.Version)
	if st.HasSourceFile(x.src, false) {
		cur.log.InfoContext(ctx, "S3 event changes nothing in the index: the key's current file is indexed already")
		return bk.s3ConvergeDeclared(ctx, &cur, st)
	}
	if err := bk.validateS3File(ctx, x); err != nil {
		return err
	}
	change, err := bk.s3FileChange(ctx, x, "", records.NewID())
	if err != nil {
		return err
	}
	cur.log.WarnContext(ctx, SupersededLogMessage, "valid", x.file != nil)
	return bk.s3Write(ctx, &cur, st, change, map[string]*definition.File{deployer.FileKey(x.src): x.file})
}
