package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/eventwire/eventwire/internal/cli"
	"github.com/eventwire/eventwire/internal/deployer"
	"github.com/eventwire/eventwire/internal/deployer/bucket"
	"github.com/eventwire/eventwire/internal/deployer/compose"
	"github.com/eventwire/eventwire/internal/reconcile"
	"github.com/eventwire/eventwire/internal/records"
)

// The demo's deployer settings: the bucket the stack would create, and its
// table of deployment records.
const (
	demoBucket = "eventwire-definitions"
	demoTable  = "eventwire-deployments"
	demoKey    = "orders/_lambdaeventsourcedef.json"
)

// pathStyle: moto serves buckets by path and sends no response checksums.
func pathStyle(o *s3.Options) {
	o.UsePathStyle = true
	o.DisableLogOutputChecksumValidationSkipped = true
}

// runLambda shows the deployer Lambda's path: a definition file uploaded to
// S3, and the real handler invoked (through aws-lambda-go's handler
// wrapper, with a lambdacontext, as the Lambda runtime does) with the event
// that upload produces, logging as the deployed function does.
func runLambda(ctx context.Context, cfg aws.Config, work string, w io.Writer) error {
	step(w, "The deployer Lambda: a definition uploaded to S3")
	s3c := s3.NewFromConfig(cfg, pathStyle)
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(demoBucket)}); err != nil {
		return fmt.Errorf("create bucket %s: %w", demoBucket, err)
	}
	if _, err := s3c.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{
		Bucket:                  aws.String(demoBucket),
		VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusEnabled},
	}); err != nil {
		return fmt.Errorf("enable versioning of %s: %w", demoBucket, err)
	}
	if err := records.CreateTable(ctx, dynamodb.NewFromConfig(cfg), demoTable); err != nil {
		return err
	}
	fmt.Fprintf(w, "bucket %s (versioned), table %s\n", demoBucket, demoTable)

	// The team halves the orders batch size and uploads the file.
	b, err := os.ReadFile(filepath.Join(work, "examples", "orders", "_lambdaeventsourcedef.json"))
	if err != nil {
		return err
	}
	changed := strings.Replace(string(b), `"BatchSize": 10`, `"BatchSize": 5`, 1)
	if changed == string(b) {
		return fmt.Errorf("examples/orders: no \"BatchSize\": 10 to change")
	}
	put, err := s3c.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(demoBucket), Key: aws.String(demoKey), Body: strings.NewReader(changed),
	})
	if err != nil {
		return fmt.Errorf("put %s: %w", demoKey, err)
	}
	fmt.Fprintf(w, "uploaded s3://%s/%s (BatchSize 10 → 5), version %s\n", demoBucket, demoKey, aws.ToString(put.VersionId))

	event, err := json.Marshal(bucket.S3PutEvent(demoBucket, demoKey, aws.ToString(put.VersionId), "0062F0A1B2C3D4E5F6"))
	if err != nil {
		return err
	}
	log := slog.New(newLambdaLog(w))
	handler := compose.NewFromConfig(cfg, reconcile.New(cfg, reconcile.Options{Logger: log}).Runs(),
		deployer.Settings{Table: demoTable, Bucket: demoBucket}, log, pathStyle)
	fmt.Fprintf(w, "\ninvoking the deployer's handler with the S3 event, request id %s (its log lines follow, as CloudWatch Logs receives them):\n", demoRequestID)
	if _, err := lambda.NewHandler(handler.Handle).Invoke(invocation(ctx), event); err != nil {
		return fmt.Errorf("deployer: %w", err)
	}

	step(w, "The deployment record")
	env := cli.Env{Stdin: strings.NewReader(""), Stdout: w, Stderr: w}
	fmt.Fprintf(w, "\n$ eventwire history -v --table %s orders\n", demoTable)
	env.AWSConfig = func(context.Context) (aws.Config, error) { return cfg, nil }
	if code := cli.Run(ctx, []string{"history", "-v", "--table", demoTable, "orders"}, env); code != 0 {
		return fmt.Errorf("eventwire history: exit %d", code)
	}
	return nil
}
