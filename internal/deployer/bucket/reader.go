package bucket

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/eventwire/eventwire/internal/deployer"
	"github.com/eventwire/eventwire/internal/records"
)

// Read reads an S3 declaration's file and sibling at the versions it was
// declared with.
func (bk *Source) Read(ctx context.Context, s records.Source) (deployer.File, error) {
	x := deployer.File{Trigger: records.TriggerS3, Path: s.Key}
	var err error
	x.Data, _, err = getObject(ctx, bk.cfg.API, object{s.Bucket, s.Key, s.Version}, deployer.MaxFileBytes)
	if err != nil || !s.HasSibling {
		return x, err
	}
	x.Sib, _, err = getObject(ctx, bk.cfg.API, object{s.Bucket, siblingKey(s.Key), s.SiblingVersion}, deployer.MaxFileBytes)
	return x, err
}

// CatchUp indexes the bucket's files whose put events were not delivered
// (catchup.go).
func (bk *Source) CatchUp(ctx context.Context, sweep string) error { return bk.catchUp(ctx, sweep) }

// NewerVersionLogMessage is the warning logged when a check finds that a
// declaring S3 key's current object is not the version indexed (keys
// function, declared_by, current_version): put after the sweep's start
// listed the bucket (which indexes the puts whose events were lost), its
// event not handled yet. The check is made at the version indexed, the
// file eventwire last saw; the event, or the next sweep's start, indexes
// the new one.
const NewerVersionLogMessage = "declaring file has a newer version than the one indexed: its event was not delivered (yet); checked at the version indexed"

// Live reports whether the key has a current object (HeadObject without a
// version: a delete marker or no object answers 404). A key whose current
// object is another version than the one indexed is logged.
func (bk *Source) Live(ctx context.Context, s records.Source, log *slog.Logger) (bool, error) {
	out, err := bk.cfg.API.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(s.Bucket), Key: aws.String(s.Key)})
	var re *awshttp.ResponseError
	switch {
	case err == nil:
		if v := s3Version(out.VersionId); v != "" && s.Version != "" && v != s.Version {
			log.WarnContext(ctx, NewerVersionLogMessage, "declared_by", s.String(), "current_version", v)
		}
		return true, nil
	case errors.As(err, &re) && re.HTTPStatusCode() == http.StatusNotFound:
		return false, nil
	}
	// AccessDenied included: the stack grants s3:ListBucket, so a missing
	// key answers 404; a 403 is no proof of absence.
	return false, fmt.Errorf("head s3://%s/%s: %w", s.Bucket, s.Key, err)
}
