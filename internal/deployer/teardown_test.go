package deployer_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/google/go-cmp/cmp"

	"github.com/eventwire/eventwire/internal/deployer/bucket"
	"github.com/eventwire/eventwire/internal/testkit/deployertest"
)

// Through the real handler on moto: a file wiring a function to a queue
// and an ELB target group is applied; then the function is deleted, and
// the file too, with every version of it, before the file's delete event
// is delivered. Only the file names the target group (the function's
// policy went with it), and the teardown cannot read it again; it needs
// not: the push sources applied were kept with the active declaration, so
// the target's registration is removed.
func TestTeardown_LastFileUnreadable_PushSourcesStillRemoved(t *testing.T) {
	w := deployertest.NewWorld(t, []string{"orders"}, []string{"a"})
	key := "orders/_lambdaeventsourcedef.json"
	w.Deliver(w.Upload(key, "orders", "a"))
	w.CheckWiring("applied", map[string]string{"orders": "a"})

	ctx := context.Background()
	versions, err := w.S3.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String(deployertest.Bucket), Prefix: aws.String(key)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Fixture.Lambda.DeleteFunction(ctx, &awslambda.DeleteFunctionInput{FunctionName: aws.String("orders")}); err != nil {
		t.Fatal(err)
	}
	marker := w.Remove(key)
	for _, v := range versions.Versions {
		if _, err := w.S3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(deployertest.Bucket), Key: aws.String(key), VersionId: v.VersionId}); err != nil {
			t.Fatal(err)
		}
	}
	removed, _ := json.Marshal(bucket.S3RemovalEvent(deployertest.Bucket, key, marker, w.NextSequencer()))
	w.Deliver(removed)

	if diff := cmp.Diff([]string(nil), w.Wiring()); diff != "" {
		t.Errorf("after the teardown: AWS (-want +got):\n%s", diff)
	}
	if got := w.Log.Grep("cannot be read again"); len(got) != 0 {
		t.Errorf("the teardown read the file again: %q", got)
	}
}
