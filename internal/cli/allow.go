package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/spf13/cobra"

	"github.com/eventwire/eventwire/internal/definition"
)

// ConfigFileName is the allowlist file read from the working directory
// when --config names none.
const ConfigFileName = ".eventwire.json"

// allowFlags say what definition files may point at (definition.Policy):
// flags, else the config file, else the defaults.
type allowFlags struct {
	accounts, regions, buckets, kafkaHosts string
	apiIDs, targetGroups                   string
	config                                 string
}

func (a *allowFlags) register(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.StringVar(&a.accounts, "allowed-accounts", "", "accounts every ARN must be in, comma-separated, or * (plan and apply default to the caller's own)")
	fs.StringVar(&a.regions, "allowed-regions", "", "regions every ARN must be in, comma-separated, or * (plan and apply default to the caller's own)")
	fs.StringVar(&a.buckets, "allowed-buckets", "", "S3 buckets an OnFailure destination may name, comma-separated (default: none)")
	fs.StringVar(&a.kafkaHosts, "kafka-hosts", "", "HOST:PORT patterns of self-managed Kafka servers and schema registries, such as *.kafka.internal:9092 (default: none)")
	fs.StringVar(&a.apiIDs, "api-ids", "", "HTTP API ids whose routes files may wire, comma-separated, or * (default: not checked)")
	fs.StringVar(&a.targetGroups, "target-groups", "", "target group ARN patterns files may register in, * and ? allowed, comma-separated (default: not checked)")
	fs.StringVar(&a.config, "config", "", "the allowlist file (default: "+ConfigFileName+" in the working directory, if there is one)")
}

// configFile is the config file's format; its keys are the stack's
// context parameters.
type configFile struct {
	AllowedAccounts []string `json:"allowedAccounts"`
	AllowedRegions  []string `json:"allowedRegions"`
	AllowedBuckets  []string `json:"allowedBuckets"`
	KafkaHosts      []string `json:"kafkaHosts"`
	APIIDs          []string `json:"apiIds"`
	TargetGroupArns []string `json:"targetGroupArns"`
}

// given reads the config file and the flags (a flag wins over the file,
// list by list) and checks the values. given is false when neither says
// anything.
func (a *allowFlags) given() (p definition.Policy, given bool, err error) {
	var c configFile
	name := a.config
	if name == "" {
		name = ConfigFileName
	}
	data, err := os.ReadFile(name)
	switch {
	case errors.Is(err, fs.ErrNotExist) && a.config == "":
	case err != nil:
		return p, false, fmt.Errorf("read allowlist file: %w", err)
	default:
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&c); err != nil {
			return p, false, fmt.Errorf("allowlist file %s: %w", name, err)
		}
		given = true
	}
	pick := func(flagValue string, fromFile []string) []string {
		if flagValue != "" {
			given = true
			return definition.SplitList(flagValue)
		}
		return fromFile
	}
	p = definition.Policy{
		Accounts:   pick(a.accounts, c.AllowedAccounts),
		Regions:    pick(a.regions, c.AllowedRegions),
		Buckets:    pick(a.buckets, c.AllowedBuckets),
		KafkaHosts: pick(a.kafkaHosts, c.KafkaHosts),
		// Nil unless given: not checked.
		APIs:         pick(a.apiIDs, c.APIIDs),
		TargetGroups: pick(a.targetGroups, c.TargetGroupArns),
	}
	if bad := p.Check(); len(bad) > 0 {
		return p, false, fmt.Errorf("allowlists: %s", strings.Join(bad, "; "))
	}
	return p, given, nil
}

// validatePolicy is what validate checks: only what the flags or the
// config file give (nil when they give nothing), with accounts and regions
// unchecked when they name none, since finding the caller's own would call
// AWS. Buckets and Kafka hosts not given are none, as in plan and apply.
func (a *allowFlags) validatePolicy() (*definition.Policy, error) {
	p, given, err := a.given()
	if err != nil || !given {
		return nil, err
	}
	return withAny(p), nil
}

// withAny is p with accounts and regions it does not name unchecked.
func withAny(p definition.Policy) *definition.Policy {
	p.Accounts, p.Regions = orAny(p.Accounts), orAny(p.Regions)
	return &p
}

// loadFiles is plan's and apply's loadFiles: the files are checked against
// the allowlists, with the caller's own account (STS GetCallerIdentity, a
// read that needs no permission) and region where none is given, so that
// every problem of every file is reported at once.
func (a *allowFlags) loadFiles(ctx context.Context, paths []string, env Env, command string) ([]*definition.File, bool) {
	p, _, err := a.given()
	if err == nil {
		err = callerDefaults(ctx, env, &p)
	}
	if err != nil {
		fmt.Fprintf(env.Stderr, "eventwire %s: %v\n", command, err)
		return nil, false
	}
	return loadFiles(paths, &p, env.Stderr)
}

func orAny(list []string) []string {
	if list == nil {
		return []string{"*"}
	}
	return list
}

// callerDefaults fills the caller's own region and account where p has
// none. A region is needed whatever the allowlists say: plan and apply
// call AWS in it, and without one every call fails (after its retries).
func callerDefaults(ctx context.Context, env Env, p *definition.Policy) error {
	cfg, err := env.AWSConfig(ctx)
	if err != nil {
		return fmt.Errorf("load AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		return errors.New("no AWS region: set AWS_REGION, or a region in your AWS profile (AWS_PROFILE): eventwire calls AWS in that region")
	}
	if p.Regions == nil {
		p.Regions = []string{cfg.Region}
	}
	if p.Accounts == nil {
		out, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if err != nil {
			return fmt.Errorf("find the caller's account (the default of --allowed-accounts): %w", err)
		}
		p.Accounts = []string{aws.ToString(out.Account)}
	}
	return nil
}
