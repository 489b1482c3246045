package bucket

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"path"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"golang.org/x/sync/errgroup"

	"github.com/eventwire/eventwire/internal/contract"
	"github.com/eventwire/eventwire/internal/deployer"
	"github.com/eventwire/eventwire/internal/records"
)

// A file uploaded whose S3 event never came (a lost notification, a
// trigger off at the time) is invisible to checks that know only the
// files the index has: a new function's file is never checked, a newer
// version of a key is never applied, and the new key of a moved file
// (both events lost) is never seen while the old key's removal is: the
// function would be reported orphaned, and the next heal sweep would
// prune it although a live file declares it.
//
// So a scheduled sweep's start first lists the definitions bucket
// (ListObjectVersions lists every version: only each key's latest entry
// counts) and indexes each definition file whose current version the
// index does not have (not indexed at all, indexed at another version, or
// indexed as removed), or has with another _lambdadef.json beside it than
// the current one (the sibling's event lost; an item indexed before the
// sibling was recorded counts as having it), as its put's event would have: the same reading,
// validation and change as s3Put (a valid file declares its function; an
// invalid one is recorded invalid, final, and the key's previous
// declaration holds), except that:
//   - it is indexed without a sequencer, for the reason given in the
//     sweep's liveness.go (internal/deployer/sweep): a made-up one could make a later real event look stale.
//     The late event itself is then handled as usual (it indexes the same
//     file again, or a newer one);
//   - nothing converges: the start plans nothing. The functions' checks
//     do, in this sweep: reported drifted, or, with heal on, applied;
//   - the write is conditioned on the source's revision: an event of the
//     key indexed meanwhile wins, and the key is left alone.
//
// A key whose latest entry is a delete marker is left to the checks
// (the sweep's liveness.go): a check that finds a removal itself keeps the orphan it
// makes from being pruned by the same sweep, which a removal indexed here
// would defeat.
//
// One key that cannot be read or indexed does not stop the sweep: it is
// logged, nothing is written for it, and the next sweep tries it again;
// meanwhile its function is checked at the version indexed. Failing the
// whole sweep instead would leave every other function unchecked for one
// unreadable file. A listing that fails does fail the sweep.

// CaughtUpLogMessage is the warning logged for each file the sweep's start
// indexes (keys bucket, key, version, function, valid, sweep).
const CaughtUpLogMessage = "declaring file indexed by the sweep: its event was not delivered"

// s3Current is a key's current object version (see s3Version), with the
// _lambdadef.json beside it (its current version; HasSibling false if it
// has none): the source the key's file would be indexed as.
type s3Current struct {
	key, version string
	sib          records.Source
}

// s3Version is an object's version id as the index holds it: "" for S3's
// "null", the version of an object put while the bucket was not
// versioned (or of no version at all).
func s3Version(id *string) string {
	if v := aws.ToString(id); v != "null" {
		return v
	}
	return ""
}

// catchUp indexes the definitions bucket's files whose put events were not
// delivered (see above).
func (bk *Source) catchUp(ctx context.Context, sweep string) error {
	bucket := bk.cfg.Bucket
	if bucket == "" {
		return nil
	}
	current, err := bk.currentDefinitions(ctx, bucket)
	if err != nil {
		return err
	}
	states, errs := bk.sourceStates(ctx, bucket, current)
	for i, o := range current {
		log := bk.log.With("bucket", bucket, "key", o.key, "version", o.version, "sweep", sweep)
		err := errs[i]
		if err == nil && !states[i].HasSourceFile(o.sib, true) {
			err = bk.catchUpKey(ctx, bucket, o, states[i], log)
		}
		if err != nil {
			if ctx.Err() != nil {
				return err
			}
			log.ErrorContext(ctx, "file not indexed by the sweep: the next sweep tries again", "error", err.Error())
		}
	}
	return nil
}

// currentDefinitions lists the definition files of bucket whose latest
// entry is an object version (not a delete marker), in key order, each
// with the current version of the _lambdadef.json beside it (the listing
// has them: no read more).
func (bk *Source) currentDefinitions(ctx context.Context, bucket string) ([]s3Current, error) {
	var out []s3Current
	siblings := map[string]string{} // _lambdadef.json key → current version
	err := listVersions(ctx, bk.cfg.API, bucket, func(key string, v s3types.ObjectVersion) {
		switch {
		case !aws.ToBool(v.IsLatest) || len(key) > maxKeyBytes:
		case path.Base(key) == contract.FunctionDefFileName:
			siblings[key] = s3Version(v.VersionId)
		case deployer.IsDefinitionPath(key):
			out = append(out, s3Current{key: key, version: s3Version(v.VersionId)})
		}
	})
	if err != nil {
		return nil, err
	}
	for i, o := range out {
		out[i].sib = records.S3Source(bucket, o.key, o.version)
		out[i].sib.SiblingVersion, out[i].sib.HasSibling = siblings[siblingKey(o.key)]
	}
	return out, nil
}

// catchUpReaders is how many keys' index states the start reads at once
// (a GetItem each): a bucket of thousands of files is compared in seconds.
// The files missed are then indexed one at a time, so that two of them
// declaring one function do not refuse each other's writes.
const catchUpReaders = 8

// sourceStates reads the index state of each key of current, at once
// (catchUpReaders at a time); errs[i] is the error of current[i]'s read.
func (bk *Source) sourceStates(ctx context.Context, bucket string, current []s3Current) (states []records.SourceState, errs []error) {
	states, errs = make([]records.SourceState, len(current)), make([]error, len(current))
	var g errgroup.Group
	g.SetLimit(catchUpReaders)
	for i, o := range current {
		g.Go(func() error {
			states[i], errs[i] = bk.h.Store().SourceState(ctx, records.S3Source(bucket, o.key, o.version))
			return nil
		})
	}
	_ = g.Wait() // the reads' errors are in errs
	return states, errs
}

// catchUpKey indexes the key's current version, which the index (st)
// does not have.
func (bk *Source) catchUpKey(ctx context.Context, bucket string, o s3Current, st records.SourceState, log *slog.Logger) error {
	x, err := bk.readS3File(ctx, bucket, o.key, o.version)
	if errors.Is(err, deployer.ErrNoObject) {
		// Deleted since the listing: the checks find the removal.
		log.InfoContext(ctx, "file found by the sweep is gone already")
		return nil
	}
	if err != nil {
		return err
	}
	if err := bk.validateS3File(ctx, x); err != nil {
		return err
	}
	change, err := bk.s3FileChange(ctx, x, "", "")
	if err != nil {
		return err
	}
	log = log.With("function", x.ref)
	err = bk.h.Store().Index(context.WithoutCancel(ctx), st, change)
	if errors.Is(err, records.ErrIndexMoved) {
		log.InfoContext(ctx, "file found by the sweep left alone: an event of its key was indexed meanwhile")
		return nil
	}
	if err != nil {
		return err
	}
	log.WarnContext(ctx, CaughtUpLogMessage, "valid", x.file != nil)
	return nil
}

// listVersions calls each with every object version of the bucket, all
// pages. Keys come URL-encoded (EncodingType url) and are decoded here:
// anyone who may write to the bucket can make a key with a control
// character, which S3 otherwise puts raw into its XML, and the SDK cannot
// parse the page (aws-sdk-go-v2 #1676). The key marker of the next page
// comes encoded too, and is sent decoded.
func listVersions(ctx context.Context, api S3API, bucket string, each func(key string, v s3types.ObjectVersion)) error {
	in := &s3.ListObjectVersionsInput{Bucket: aws.String(bucket), EncodingType: s3types.EncodingTypeUrl}
	for {
		page, err := api.ListObjectVersions(ctx, in)
		if err != nil {
			return fmt.Errorf("list the object versions of bucket %s: %w", bucket, err)
		}
		for _, v := range page.Versions {
			key, err := url.QueryUnescape(aws.ToString(v.Key))
			if err != nil {
				return fmt.Errorf("list the object versions of bucket %s: key %q: %w", bucket, aws.ToString(v.Key), err)
			}
			each(key, v)
		}
		if !aws.ToBool(page.IsTruncated) {
			return nil
		}
		marker, err := url.QueryUnescape(aws.ToString(page.NextKeyMarker))
		if err != nil {
			return fmt.Errorf("list the object versions of bucket %s: key marker %q: %w", bucket, aws.ToString(page.NextKeyMarker), err)
		}
		in.KeyMarker, in.VersionIdMarker = aws.String(marker), page.NextVersionIdMarker
	}
}
