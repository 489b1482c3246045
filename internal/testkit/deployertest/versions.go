package deployertest

import (
	"context"
	"encoding/json"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/eventwire/eventwire/internal/deployer/bucket"
)

// DeleteLatest deletes for good the key's latest entry, and returns the
// ObjectRemoved:Delete event S3 sends for it: its current version (a
// rollback: the previous version becomes current) or, with marker, its
// delete marker (an undelete).
func (w *World) DeleteLatest(key string, marker bool) json.RawMessage {
	w.T.Helper()
	ctx := context.Background()
	out, err := w.S3.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String(Bucket), Prefix: aws.String(w.prefix + key)})
	if err != nil {
		w.T.Fatal(err)
	}
	var latest *string
	for _, v := range out.Versions {
		if aws.ToString(v.Key) == w.prefix+key && aws.ToBool(v.IsLatest) && !marker {
			latest = v.VersionId
		}
	}
	for _, m := range out.DeleteMarkers {
		if aws.ToString(m.Key) == w.prefix+key && aws.ToBool(m.IsLatest) && marker {
			latest = m.VersionId
		}
	}
	if latest == nil {
		w.T.Fatalf("%s: no latest entry to delete (delete marker: %v)", key, marker)
	}
	if _, err := w.S3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(Bucket), Key: aws.String(w.prefix + key), VersionId: latest}); err != nil {
		w.T.Fatal(err)
	}
	ev := bucket.S3RemovalEvent(Bucket, w.prefix+key, aws.ToString(latest), w.NextSequencer())
	ev.Records[0].EventName = "ObjectRemoved:Delete"
	b, _ := json.Marshal(ev)
	return b
}
