package trigger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/eventwire/eventwire/internal/definition"
	"github.com/eventwire/eventwire/internal/records"
)

// S3API is the slice of the S3 client the deployer needs.
type S3API interface {
	GetObject(ctx context.Context, in *s3.GetObjectInput, opts ...func(*s3.Options)) (*s3.GetObjectOutput, error)
}

// maxFileBytes is how much of a definition file is read: the parser refuses
// anything over 1 MiB, so one byte more is enough for it to say so.
const maxFileBytes = 1<<20 + 1

// errNoObject: the object (or that version of it) does not exist.
var errNoObject = errors.New("no such object")

// getObject reads at most limit bytes of an object (at versionID, if set).
func getObject(ctx context.Context, api S3API, bucket, key, versionID string, limit int64) ([]byte, error) {
	in := &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}
	if versionID != "" {
		in.VersionId = aws.String(versionID)
	}
	out, err := api.GetObject(ctx, in)
	if err != nil {
		var nsk *s3types.NoSuchKey
		var ae smithy.APIError
		if errors.As(err, &nsk) || (errors.As(err, &ae) && (ae.ErrorCode() == "NoSuchKey" || ae.ErrorCode() == "NoSuchVersion")) {
			err = errors.Join(errNoObject, err)
		}
		return nil, fmt.Errorf("get s3://%s/%s%s: %w", bucket, key, versionSuffix(versionID), err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(io.LimitReader(out.Body, limit))
	if err != nil {
		return nil, fmt.Errorf("read s3://%s/%s%s: %w", bucket, key, versionSuffix(versionID), err)
	}
	return b, nil
}

func versionSuffix(versionID string) string {
	if versionID == "" {
		return ""
	}
	return "?versionId=" + versionID
}

// siblingKey is the key of the _lambdadef.json beside a definition key.
func siblingKey(key string) string {
	dir := path.Dir(key)
	if dir == "." {
		return definition.FunctionDefFileName
	}
	return dir + "/" + definition.FunctionDefFileName
}

// isDefinitionPath reports whether a key or path names a definition file.
func isDefinitionPath(p string) bool { return path.Base(p) == definition.FileName }

// handleS3 applies or tears down each record's definition file, in order.
// A record's AWS failure does not stop the others; the failures are
// returned together (records already applied are dropped as duplicates on
// the retry, by their sequencers).
func (h *Handler) handleS3(ctx context.Context, raw json.RawMessage) error {
	var ev events.S3Event
	if err := json.Unmarshal(raw, &ev); err != nil {
		return fmt.Errorf("decode S3 event: %w", err)
	}
	var errs []error
	for _, r := range ev.Records {
		if err := h.s3Record(ctx, r); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// s3Record applies or tears down the definition file of one record.
func (h *Handler) s3Record(ctx context.Context, r events.S3EventRecord) error {
	c := h.s3ChangeOf(ctx, r)
	if c == nil {
		return nil
	}
	st, err := h.cfg.Store.KeyState(ctx, c.bucket, c.key)
	if err != nil {
		return err
	}
	if c.obj.Sequencer != "" && st.Stale(c.obj.Sequencer) {
		c.log.InfoContext(ctx, "dropped S3 event: not newer than the last one applied to the key", "last", st.Sequencer)
		return nil
	}
	var w *work
	if c.removed {
		w, err = h.s3Removal(ctx, c, st)
	} else {
		w, err = h.s3Put(ctx, c, st)
	}
	if w == nil {
		return err
	}
	w.trigger, w.source, w.check = records.TriggerS3, c.source(), h.s3StillNewest(c)
	w.done = func(ctx context.Context, rec records.Record) error {
		c.next.RecordID = rec.ID
		return h.advance(ctx, c.log, c.bucket, c.key, c.next)
	}
	return h.run(ctx, *w).err
}

// s3Change is an S3 event record about a definition file.
type s3Change struct {
	bucket, key string // the key URL-decoded
	obj         events.S3Object
	removed     bool // ObjectRemoved, else ObjectCreated
	log         *slog.Logger
	// next is the key's state to store once the event is done.
	next records.KeyState
}

func (c *s3Change) source() string {
	return "s3://" + c.bucket + "/" + c.key + versionSuffix(c.obj.VersionID)
}

// s3ChangeOf reads an event record; nil (logged) if it is not about a
// definition file being created or removed.
func (h *Handler) s3ChangeOf(ctx context.Context, r events.S3EventRecord) *s3Change {
	bucket := r.S3.Bucket.Name
	// Keys arrive URL-encoded, with '+' for a space.
	key, err := url.QueryUnescape(r.S3.Object.Key)
	if err != nil {
		h.log.ErrorContext(ctx, "ignored S3 event with a malformed key", "bucket", bucket, "key", r.S3.Object.Key, "error", err.Error())
		return nil
	}
	obj := r.S3.Object
	log := h.log.With("bucket", bucket, "key", key, "event", r.EventName, "sequencer", obj.Sequencer)
	if !isDefinitionPath(key) {
		log.InfoContext(ctx, "ignored S3 key: not a definition file", "want", definition.FileName)
		return nil
	}
	created := strings.HasPrefix(r.EventName, "ObjectCreated:")
	removed := strings.HasPrefix(r.EventName, "ObjectRemoved:")
	if !created && !removed {
		log.InfoContext(ctx, "ignored S3 event: neither ObjectCreated nor ObjectRemoved")
		return nil
	}
	return &s3Change{
		bucket: bucket, key: key, obj: obj, removed: removed, log: log,
		next: records.KeyState{Sequencer: obj.Sequencer, VersionID: obj.VersionID, Deleted: removed},
	}
}

// s3StillNewest is the check made under the function's lease: a
// concurrent delivery of the same event may have been applied while this
// one waited.
func (h *Handler) s3StillNewest(c *s3Change) func(ctx context.Context) (bool, error) {
	return func(ctx context.Context) (bool, error) {
		if c.obj.Sequencer == "" {
			return false, nil
		}
		st, err := h.cfg.Store.KeyState(ctx, c.bucket, c.key)
		if err != nil {
			return false, err
		}
		if st.Stale(c.obj.Sequencer) {
			c.log.InfoContext(ctx, "dropped S3 event: applied meanwhile", "last", st.Sequencer)
			return true, nil
		}
		return false, nil
	}
}

// s3Removal is the teardown of the function the key last deployed (st),
// or nil when there is nothing to run.
//
// A removal event does not always mean the key is gone: deleting one
// (noncurrent) version of a versioned key leaves the current one, and a
// newer put may have followed. Tear down only when the key has no current
// object; otherwise leave the key's state alone so that the put's own
// event is not taken for a stale one.
func (h *Handler) s3Removal(ctx context.Context, c *s3Change, st records.KeyState) (*work, error) {
	_, err := getObject(ctx, h.cfg.S3, c.bucket, c.key, "", 1)
	switch {
	case err == nil:
		c.log.InfoContext(ctx, "ignored S3 removal: the key still has a current object")
		return nil, nil
	case errors.Is(err, errNoObject):
	default:
		// AccessDenied included: a refused read is not an absence (the
		// stack grants s3:ListBucket, so a missing key answers 404), and
		// tearing down on it would unwire the function.
		return nil, err
	}
	if st.Function == "" {
		c.log.InfoContext(ctx, "nothing to tear down: no deployment of this key is recorded")
		return nil, h.advance(ctx, c.log, c.bucket, c.key, c.next)
	}
	return &work{mode: records.ModeDestroy, functionRef: st.Function}, nil
}

// s3Put is the apply of the key's file at the event's version, with the
// _lambdadef.json beside it, or nil when there is nothing to run (the
// version is gone, or the file is invalid: recorded, final).
func (h *Handler) s3Put(ctx context.Context, c *s3Change, st records.KeyState) (*work, error) {
	data, err := getObject(ctx, h.cfg.S3, c.bucket, c.key, c.obj.VersionID, maxFileBytes)
	if errors.Is(err, errNoObject) {
		// Deleted for good since (a version can be removed): there is
		// nothing to apply, and a retry would find nothing either.
		c.log.WarnContext(ctx, "ignored S3 event: the object version no longer exists", "error", err.Error())
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	sib, err := getObject(ctx, h.cfg.S3, c.bucket, siblingKey(c.key), "", maxFileBytes)
	if errors.Is(err, errNoObject) {
		sib, err = nil, nil
	}
	if err != nil {
		return nil, err
	}
	f, rec, err := h.parse(ctx, records.TriggerS3, c.source(), c.key, data, sib)
	if rec != nil {
		// Final: the key's event is done, its last good function kept.
		c.next.RecordID = rec.ID
		return nil, h.advance(ctx, c.log, c.bucket, c.key, c.next)
	}
	if err != nil {
		return nil, err
	}
	c.next.Function = f.Function
	if st.Function != "" && records.FunctionKey(st.Function) != records.FunctionKey(f.Function) {
		c.log.WarnContext(ctx, "the key's file now names another function; the previous one is not torn down", "previous", st.Function)
	}
	return &work{mode: records.ModeApply, file: f}, nil
}

// advance stores the key's new state; an event without a sequencer (not
// sent by S3) leaves the state alone.
func (h *Handler) advance(ctx context.Context, log interface {
	InfoContext(context.Context, string, ...any)
}, bucket, key string, st records.KeyState) error {
	if st.Sequencer == "" {
		return nil
	}
	ok, err := h.cfg.Store.AdvanceSequencer(context.WithoutCancel(ctx), bucket, key, st)
	if err != nil {
		return err
	}
	if !ok {
		log.InfoContext(ctx, "a newer event of the key was recorded meanwhile")
	}
	return nil
}

// S3EventFor returns the notification S3 sends for a put (or, with
// removed, a delete) of bucket/key: the key URL-encoded as S3 does it,
// with the version id and sequencer given.
func S3EventFor(bucket, key, versionID, sequencer string, removed bool) events.S3Event {
	name := "ObjectCreated:Put"
	if removed {
		name = "ObjectRemoved:Delete"
		if versionID != "" {
			name = "ObjectRemoved:DeleteMarkerCreated"
		}
	}
	return events.S3Event{Records: []events.S3EventRecord{{
		EventVersion: "2.1",
		EventSource:  "aws:s3",
		AWSRegion:    "us-east-1",
		EventTime:    time.Now().UTC().Truncate(time.Millisecond),
		EventName:    name,
		S3: events.S3Entity{
			SchemaVersion:   "1.0",
			ConfigurationID: "eventwire-definitions",
			Bucket:          events.S3Bucket{Name: bucket, Arn: "arn:aws:s3:::" + bucket},
			Object: events.S3Object{
				Key:           strings.ReplaceAll(url.QueryEscape(key), "%2F", "/"),
				URLDecodedKey: key,
				VersionID:     versionID,
				Sequencer:     sequencer,
			},
		},
	}}}
}
