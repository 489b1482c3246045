package trigger

import (
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codecommit"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/eventwire/eventwire/internal/definition"
	"github.com/eventwire/eventwire/internal/records"
)

// Environment variables of the deployer function (set by the stack).
const (
	// EnvTable names the DynamoDB table of records, sequencers and leases.
	// Required.
	EnvTable = "EVENTWIRE_TABLE"
	// EnvLeaseSeconds is the length of a function's lease, in seconds
	// (at least until the invocation's deadline, whatever it says).
	// Optional.
	EnvLeaseSeconds = "EVENTWIRE_LEASE_SECONDS"
	// EnvFunctionPrefix is the name prefix of the functions the stack lets
	// the deployer wire. IAM enforces it; the deployer also refuses a file
	// naming another function, as a final validation error rather than
	// an AccessDenied that Lambda would retry.
	EnvFunctionPrefix = "EVENTWIRE_FUNCTION_PREFIX"
	// envSelf is the deployer's own function name, set by Lambda.
	envSelf = "AWS_LAMBDA_FUNCTION_NAME"
)

// Settings are the deployer's settings from its environment.
type Settings struct {
	Table          string
	LeaseDuration  time.Duration
	FunctionPrefix string
	// Self is the deployer's own function name (AWS_LAMBDA_FUNCTION_NAME),
	// which no definition file may wire.
	Self string
}

// SettingsFromEnv reads the settings with getenv (os.Getenv).
func SettingsFromEnv(getenv func(string) string) (Settings, error) {
	s := Settings{Table: getenv(EnvTable), FunctionPrefix: getenv(EnvFunctionPrefix), Self: getenv(envSelf)}
	if s.Table == "" {
		return s, fmt.Errorf("environment variable %s (the DynamoDB table of deployment records) is not set", EnvTable)
	}
	if v := getenv(EnvLeaseSeconds); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return s, fmt.Errorf("environment variable %s: %q is not a positive number of seconds", EnvLeaseSeconds, v)
		}
		s.LeaseDuration = time.Duration(n) * time.Second
	}
	return s, nil
}

// NewFromConfig builds the deployer's handler on an AWS configuration:
// the SDK clients of every source, the records table of s, and d (the
// reconciler). s3Opts apply to both S3 clients (path-style addressing for
// an emulator, for instance).
func NewFromConfig(cfg aws.Config, d Deployer, s Settings, log *slog.Logger, s3Opts ...func(*s3.Options)) *Handler {
	return New(Config{
		Deployer:       d,
		Store:          records.New(dynamodb.NewFromConfig(cfg), s.Table, records.Options{}),
		Parse:          definition.Parse,
		S3:             s3.NewFromConfig(cfg, s3Opts...),
		CodeCommit:     codecommit.NewFromConfig(cfg),
		CodePipeline:   codepipeline.NewFromConfig(cfg),
		ArtifactS3:     NewArtifactS3(cfg, s3Opts...),
		Logger:         log,
		LeaseDuration:  s.LeaseDuration,
		FunctionPrefix: s.FunctionPrefix,
		Self:           s.Self,
	})
}
