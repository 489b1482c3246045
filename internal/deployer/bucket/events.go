// Package bucket is the deployer's S3 source: it turns the definitions
// bucket's notifications (a definition file put or removed) into a change
// of the declaration index, then has the core converge the functions it
// affects; it reads the bucket's files for the core and the sweep
// (deployer.Reader), and catches up with the puts whose events were not
// delivered. Of the deployer it imports the core (internal/deployer)
// only, never another source, the sweep or the composition
// (internal/layers checks).
package bucket

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/eventwire/eventwire/internal/contract"
	"github.com/eventwire/eventwire/internal/definition"
	"github.com/eventwire/eventwire/internal/deployer"
	"github.com/eventwire/eventwire/internal/records"
)

// S3API is the slice of the S3 client the deployer needs.
type S3API interface {
	GetObject(ctx context.Context, in *s3.GetObjectInput, opts ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	HeadObject(ctx context.Context, in *s3.HeadObjectInput, opts ...func(*s3.Options)) (*s3.HeadObjectOutput, error)
	// ListObjectVersions lists the definitions bucket at a sweep's start
	// (catchup.go).
	ListObjectVersions(ctx context.Context, in *s3.ListObjectVersionsInput, opts ...func(*s3.Options)) (*s3.ListObjectVersionsOutput, error)
}

// Config is the S3 source's configuration.
type Config struct {
	// API reads definition files from the definitions bucket.
	API S3API
	// Bucket is the definitions bucket: an S3 record of any other bucket
	// is refused (final, logged), and every S3 record when it is empty.
	Bucket string
}

// Source is the S3 source: the handler of the bucket's events
// (HandleEvent) and its Reader.
type Source struct {
	h   *deployer.Handler
	cfg Config
	log *slog.Logger
}

// New returns the S3 source of h.
func New(h *deployer.Handler, cfg Config) *Source {
	return &Source{h: h, cfg: cfg, log: h.Logger()}
}

// object names an S3 object: at version, or its current one ("").
type object struct{ bucket, key, version string }

// getObject reads at most limit bytes of an object, and returns the
// version read.
func getObject(ctx context.Context, api S3API, o object, limit int64) ([]byte, string, error) {
	bucket, key, versionID := o.bucket, o.key, o.version
	in := &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}
	if versionID != "" {
		in.VersionId = aws.String(versionID)
	}
	out, err := api.GetObject(ctx, in)
	if err != nil {
		var nsk *s3types.NoSuchKey
		var ae smithy.APIError
		if errors.As(err, &nsk) || (errors.As(err, &ae) && (ae.ErrorCode() == "NoSuchKey" || ae.ErrorCode() == "NoSuchVersion")) {
			err = errors.Join(deployer.ErrNoObject, err)
		}
		return nil, "", fmt.Errorf("get s3://%s/%s%s: %w", bucket, key, versionSuffix(versionID), err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(io.LimitReader(out.Body, limit))
	if err != nil {
		return nil, "", fmt.Errorf("read s3://%s/%s%s: %w", bucket, key, versionSuffix(versionID), err)
	}
	return b, aws.ToString(out.VersionId), nil
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
		return contract.FunctionDefFileName
	}
	return dir + "/" + contract.FunctionDefFileName
}

// HandleEvent handles each record of an S3 event, in order. Records are
// decoded one by one: one that cannot be decoded is logged and skipped
// (retrying would not decode it either), the others still run. A record's
// AWS failure does not stop the others; the failures are returned together
// (records already done do nothing on the retry).
func (bk *Source) HandleEvent(ctx context.Context, raw json.RawMessage) error {
	var ev struct {
		Records []json.RawMessage `json:"Records"`
	}
	if err := json.Unmarshal(raw, &ev); err != nil {
		return fmt.Errorf("decode S3 event: %w", err)
	}
	var errs []error
	for i, rec := range ev.Records {
		var r events.S3EventRecord
		if err := json.Unmarshal(rec, &r); err != nil {
			bk.log.ErrorContext(ctx, "ignored S3 event record that cannot be decoded", "record", i, "error", err.Error(), "excerpt", deployer.Excerpt(rec))
			continue
		}
		if err := bk.s3Record(ctx, r); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// s3Record handles one record: a put or a removal of a definition file.
func (bk *Source) s3Record(ctx context.Context, r events.S3EventRecord) error {
	c := bk.s3ChangeOf(ctx, r)
	if c == nil {
		return nil
	}
	if err := records.CheckSequencer(c.obj.Sequencer); err != nil {
		// S3 always sends one; a forged or garbled one must not order the
		// key's later events as older.
		c.log.ErrorContext(ctx, "refused S3 event: malformed sequencer", "error", err.Error())
		return nil
	}
	switch {
	case c.sibling:
		return bk.s3Sibling(ctx, c)
	case c.removed:
		return bk.s3Removal(ctx, c)
	}
	return bk.s3Put(ctx, c)
}

// s3Change is an S3 event record about a definition file.
type s3Change struct {
	bucket, key string // the key URL-decoded
	obj         events.S3Object
	event       string
	removed     bool // ObjectRemoved, else ObjectCreated
	// sibling: the key is a _lambdadef.json, not a definition file
	// (sibling.go).
	sibling bool
	log     *slog.Logger
}

// src is the key's source at the event's version.
func (c *s3Change) src() records.Source { return records.S3Source(c.bucket, c.key, c.obj.VersionID) }

func (c *s3Change) source() string { return c.src().String() }

// S3's limits on names: a bucket name is 3 to 63 characters, an object
// key at most 1,024 bytes of UTF-8.
const (
	maxBucketName = 63
	maxKeyBytes   = 1024
)

// s3ChangeOf reads an event record; nil (logged) if it is not about a
// definition file, or of the _lambdadef.json beside one, being created or
// removed.
func (bk *Source) s3ChangeOf(ctx context.Context, r events.S3EventRecord) *s3Change {
	bucket := r.S3.Bucket.Name
	// Keys arrive URL-encoded, with '+' for a space.
	key, err := url.QueryUnescape(r.S3.Object.Key)
	if err != nil {
		bk.log.ErrorContext(ctx, "ignored S3 event with a malformed key", "bucket", bucket, "key", r.S3.Object.Key, "error", err.Error())
		return nil
	}
	if len(bucket) > maxBucketName || len(key) > maxKeyBytes {
		// Not from S3, which never sends such names; never a table key.
		bk.log.ErrorContext(ctx, "ignored S3 event: bucket or key longer than S3 allows",
			"bucket_bytes", len(bucket), "key_bytes", len(key), "max_bucket", maxBucketName, "max_key", maxKeyBytes)
		return nil
	}
	if !bk.bucketAccepted(ctx, bucket, key) {
		return nil
	}
	obj := r.S3.Object
	log := bk.log.With("bucket", bucket, "key", key, "event", r.EventName, "sequencer", obj.Sequencer)
	sibling := path.Base(key) == contract.FunctionDefFileName
	if !deployer.IsDefinitionPath(key) && !sibling {
		log.InfoContext(ctx, "ignored S3 key: not a definition file", "want", contract.DefinitionFileName)
		return nil
	}
	created := strings.HasPrefix(r.EventName, "ObjectCreated:")
	removed := strings.HasPrefix(r.EventName, "ObjectRemoved:")
	if !created && !removed {
		log.InfoContext(ctx, "ignored S3 event: neither ObjectCreated nor ObjectRemoved")
		return nil
	}
	return &s3Change{bucket: bucket, key: key, obj: obj, event: r.EventName, removed: removed, sibling: sibling, log: log}
}

// s3Put indexes the key's file at the event's version (read with the
// _lambdadef.json beside it), then converges the functions it affects.
//
// The event's version is indexed only if it is still the key's current
// one (GetObject without a version, read after the key's index state, so
// that whatever indexed the key before is older than the read): else the
// event is superseded (current.go), and an older version is never indexed
// over a newer one, whichever path (an event, the sweep's catch-up)
// indexed the newer one. An invalid file is recorded (final) and keeps the
// key's previous declaration. A write refused because the key's state
// moved meanwhile is decided again from the start: the state and S3 read
// again.
func (bk *Source) s3Put(ctx context.Context, c *s3Change) error {
	return untilSettled(func() error {
		st, done, err := bk.s3Seen(ctx, c, false)
		if err != nil {
			return err
		}
		if done {
			return bk.s3StaleButCurrent(ctx, c, st)
		}
		x, err := bk.readCurrent(ctx, c.bucket, c.key)
		switch {
		case err != nil:
			return err
		case x == nil || x.src.Version != s3Version(&c.obj.VersionID):
			return bk.s3Superseded(ctx, c, st, x)
		}
		return bk.s3PutCurrent(ctx, c, st, x)
	})
}

// s3StaleButCurrent handles a put event dropped as older than the key's
// newest (or as a duplicate): if the version it names is what S3 serves
// now and the index lacks it, it is indexed all the same, without the
// event's sequencer (as a superseded event's current file is). A forged
// sequencer (a real version replayed with FFFF...) stored for the key
// cannot then make the next genuine upload look stale.
func (bk *Source) s3StaleButCurrent(ctx context.Context, c *s3Change, st records.SourceState) error {
	version := s3Version(&c.obj.VersionID)
	if st.HasFile(version) {
		return nil
	}
	x, err := bk.readCurrent(ctx, c.bucket, c.key)
	if err != nil || x == nil || x.src.Version != version {
		return err
	}
	return bk.s3Superseded(ctx, c, st, x)
}

// s3PutCurrent indexes x, the event's own version, with the event's
// sequencer (the version exists: it is the key's current one). A file
// indexed already (by the sweep's catch-up, which converges nothing, or
// by a superseded event) is converged again: a declaration applied
// already changes nothing.
func (bk *Source) s3PutCurrent(ctx context.Context, c *s3Change, st records.SourceState, x *s3File) error {
	x.src.Version = c.obj.VersionID // as the event spells it
	if err := bk.validateS3File(ctx, x); err != nil {
		return err
	}
	if x.file == nil && st.Superseded(c.obj.Sequencer) {
		c.log.InfoContext(ctx, "dropped S3 event: an invalid file older than the key's newest event", "last", st.Sequencer)
		return nil
	}
	change, err := bk.s3FileChange(ctx, x, c.obj.Sequencer, records.NewID())
	if err != nil {
		return err
	}
	return bk.s3Write(ctx, c, st, change, map[string]*definition.File{deployer.FileKey(x.src): x.file})
}

// s3File is a definition file of the bucket read at one version (with
// the _lambdadef.json beside it, at its current version), then validated:
// what a put's event indexes, and what a sweep indexes for a put whose
// event never came (catchup.go).
type s3File struct {
	src       records.Source
	data, sib []byte
	// file is the valid file; else errs say why not, and ref is the
	// function it seems to name.
	file *definition.File
	errs []string
	ref  string
}

// readS3File reads the file at bucket/key at version ("": the current
// one, whose version the file then has), and its sibling: an error
// wrapping deployer.ErrNoObject if that version does not exist.
func (bk *Source) readS3File(ctx context.Context, bucket, key, version string) (*s3File, error) {
	data, read, err := getObject(ctx, bk.cfg.API, object{bucket, key, version}, deployer.MaxFileBytes)
	if err != nil {
		return nil, err
	}
	if version == "" {
		version = s3Version(&read)
	}
	x := &s3File{src: records.S3Source(bucket, key, version), data: data}
	sib, sibVersion, err := getObject(ctx, bk.cfg.API, object{bucket, siblingKey(key), ""}, deployer.MaxFileBytes)
	switch {
	case errors.Is(err, deployer.ErrNoObject):
		return x, nil
	case err != nil:
		return nil, err
	}
	x.sib, x.src.HasSibling, x.src.SiblingVersion = sib, true, sibVersion
	return x, nil
}

// validateS3File validates the file read, with the S3 rules (the key
// prefixes' functions).
func (bk *Source) validateS3File(ctx context.Context, x *s3File) error {
	var err error
	x.file, x.errs, x.ref, err = bk.h.Validate(ctx, deployer.File{Trigger: records.TriggerS3, Path: x.src.Key, Data: x.data, Sib: x.sib})
	return err
}

// s3FileChange is the index change of a validated file: its function
// declared, or, for an invalid file, recorded invalid (final: the key's
// previous declaration holds). seq is the event's sequencer ("" for a
// sweep's), tag marks the functions pending ("" for none).
func (bk *Source) s3FileChange(ctx context.Context, x *s3File, seq, tag string) (records.Change, error) {
	change := records.Change{Kind: records.Declare, Source: x.src, Sequencer: seq, Tag: tag}
	if x.file == nil {
		if _, err := bk.h.RecordInvalid(ctx, records.TriggerS3, x.src.String(), x.ref, x.errs); err != nil {
			return change, err
		}
		change.Kind = records.InvalidFile
		return change, nil
	}
	change.Function = records.DeclKey(x.file.Function)
	return change, nil
}

// s3Seen reads the key's state and, when the event was indexed already
// (a duplicate delivery) or a newer one was (an older event arriving
// late; for an invalid file, any newer event), converges what the key left
// pending and reports done.
func (bk *Source) s3Seen(ctx context.Context, c *s3Change, invalid bool) (records.SourceState, bool, error) {
	st, err := bk.h.Store().SourceState(ctx, c.src())
	if err != nil {
		return st, false, err
	}
	switch {
	case st.Stale(c.obj.Sequencer), invalid && st.Superseded(c.obj.Sequencer):
		c.log.InfoContext(ctx, "dropped S3 event: older than the last one of the key", "last", st.Sequencer)
	case st.Replay(c.obj.Sequencer) && len(st.Pending.Functions) == 0:
		c.log.InfoContext(ctx, "dropped S3 event: already handled")
	case st.Replay(c.obj.Sequencer):
		c.log.InfoContext(ctx, "S3 event delivered again: converging what it left pending")
	default:
		return st, false, nil
	}
	return st, true, bk.s3Converge(ctx, c, st, "", nil)
}

// maxIndexAttempts bounds the rereads of a key's state that events of the
// same key, indexed meanwhile, can cause.
const maxIndexAttempts = 10

// s3Index writes the event's change to the index, unless an event of the
// key newer than it (or it, delivered twice) was indexed meanwhile, then
// converges the functions pending on the key, the declared one first.
func (bk *Source) s3Index(ctx context.Context, c *s3Change, st records.SourceState, change records.Change, files map[string]*definition.File) error {
	for attempt := 1; ; attempt++ {
		err := bk.s3Write(ctx, c, st, change, files)
		if !errors.Is(err, records.ErrIndexMoved) || attempt == maxIndexAttempts {
			return err
		}
		var done bool
		if st, done, err = bk.s3Seen(ctx, c, change.Kind == records.InvalidFile); done || err != nil {
			return err
		}
	}
}

// s3Write writes change to the index if the key's state is still st
// (records.ErrIndexMoved otherwise), then converges the functions pending
// on the key, the declared one first.
func (bk *Source) s3Write(ctx context.Context, c *s3Change, st records.SourceState, change records.Change, files map[string]*definition.File) error {
	if err := bk.h.Store().Index(ctx, st, change); err != nil {
		return err
	}
	if change.Kind == records.Remove && st.Declares() == "" {
		c.log.InfoContext(ctx, "nothing to tear down: the key declares no function")
	}
	st, err := bk.h.Store().SourceState(ctx, c.src())
	if err != nil {
		return err
	}
	return bk.s3Converge(ctx, c, st, change.Function, files)
}

// s3Converge converges the functions pending on the key, first (if
// pending) first, one after the other (never holding two leases).
func (bk *Source) s3Converge(ctx context.Context, c *s3Change, st records.SourceState, first string, files map[string]*definition.File) error {
	var errs []error
	for _, fn := range st.Pending.Sorted(first) {
		err := bk.h.Converge(ctx, deployer.Convergence{
			Trigger: records.TriggerS3, Fn: fn, Event: c.source(),
			Batch: map[string]bool{c.src().ID(): true}, Files: files, Pending: st.Pending,
		})
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// s3Removal indexes the removal of the key, then converges the function
// it declared: torn down if no other live file declares it, else that
// file applied.
//
// A removal event does not always mean the key is gone: deleting one
// (noncurrent) version of a versioned key leaves the current one, and a
// newer put may have followed; deleting the current version (a rollback,
// S3's documented way to restore the previous one) or the delete marker
// (an undelete) makes an older version current again. Only a key without
// a current object is removed; otherwise the key's current file is
// indexed, as S3 serves it now (current.go).
func (bk *Source) s3Removal(ctx context.Context, c *s3Change) error {
	return bk.indexCurrentOf(ctx, c, func() error { return bk.s3Removed(ctx, c) })
}

// s3Removed indexes the removal of a key that has no current object,
// without the event's sequencer.
func (bk *Source) s3Removed(ctx context.Context, c *s3Change) error {
	if exists, err := bk.deleteMarkerExists(ctx, c); err != nil || !exists {
		return err
	}
	st, done, err := bk.s3Seen(ctx, c, false)
	if done || err != nil {
		return err
	}
	// No sequencer is stored for a key with no object: a removal cannot
	// be checked against S3 (the version is gone), and a forged one's
	// sequencer would make every later genuine upload look stale.
	change := records.Change{Kind: records.Remove, Source: c.src(), Tag: records.NewID()}
	return bk.s3Index(ctx, c, st, change, nil)
}

// deleteMarkerExists checks that the delete marker an
// ObjectRemoved:DeleteMarkerCreated event names exists (HeadObject at its
// version answers 405 Method Not Allowed with x-amz-delete-marker), so
// that a forged removal cannot store its sequencer. A permanent deletion
// of a version (ObjectRemoved:Delete) names a version that is gone by
// definition: it is not checked.
func (bk *Source) deleteMarkerExists(ctx context.Context, c *s3Change) (bool, error) {
	if c.event != "ObjectRemoved:DeleteMarkerCreated" || c.obj.VersionID == "" {
		return true, nil
	}
	_, err := bk.cfg.API.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(c.bucket), Key: aws.String(c.key), VersionId: aws.String(c.obj.VersionID)})
	var re *awshttp.ResponseError
	switch {
	case err == nil, errors.As(err, &re) && re.HTTPStatusCode() == http.StatusMethodNotAllowed:
		return true, nil
	case errors.As(err, &re) && (re.HTTPStatusCode() == http.StatusNotFound || re.HTTPStatusCode() == http.StatusBadRequest):
		c.log.WarnContext(ctx, "ignored S3 event: the delete marker it names does not exist", "error", err.Error())
		return false, nil
	}
	return false, fmt.Errorf("head s3://%s/%s?versionId=%s: %w", c.bucket, c.key, c.obj.VersionID, err)
}

// S3PutEvent returns the notification S3 sends for a put of bucket/key:
// the key URL-encoded as S3 does it, with the version id and sequencer
// given.
func S3PutEvent(bucket, key, versionID, sequencer string) events.S3Event {
	return s3Event("ObjectCreated:Put", object{bucket, key, versionID}, sequencer)
}

// S3RemovalEvent returns the notification S3 sends for a delete of
// bucket/key: a delete marker created at versionID, or, without one, a
// deletion.
func S3RemovalEvent(bucket, key, versionID, sequencer string) events.S3Event {
	name := "ObjectRemoved:Delete"
	if versionID != "" {
		name = "ObjectRemoved:DeleteMarkerCreated"
	}
	return s3Event(name, object{bucket, key, versionID}, sequencer)
}

// s3Event is the notification of event name about an object.
func s3Event(name string, o object, sequencer string) events.S3Event {
	bucket, key, versionID := o.bucket, o.key, o.version
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

// bucketAccepted reports whether an S3 record of bucket may be handled:
// anyone allowed to invoke the deployer can send it a made-up event. A
// refusal is final: logged at error level with what was expected, and
// nothing is read from AWS for it.
func (bk *Source) bucketAccepted(ctx context.Context, bucket, key string) bool {
	if bk.cfg.Bucket != "" && bucket == bk.cfg.Bucket {
		return true
	}
	bk.log.ErrorContext(ctx, "refused S3 record: not the definitions bucket", "bucket", bucket, "key", key, "want", deployer.Expected(bk.cfg.Bucket, contract.EnvBucket))
	return false
}
