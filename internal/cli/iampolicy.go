package cli

import (
	"fmt"
	"regexp"
	"slices"

	"github.com/spf13/cobra"

	"github.com/eventwire/eventwire/internal/iamcalls"
)

const iamPolicyHelp = `Prints the least-privilege IAM policy (JSON) that eventwire's CLI needs,
for a CI role or a person: --mode plan for 'eventwire plan' (read-only),
--mode apply (the default) for plan, apply and destroy. It is derived from
the same table of AWS calls that the deployer stack's IAM test holds to the
code (internal/iamcalls), so it lists exactly the calls eventwire makes.

Resources are scoped where AWS allows it: functions by --function-prefix
(and event source mappings by the lambda:FunctionArn condition), the
account and region (--account, --region; default any), target groups to
those tagged eventwire:allowed=true (the deployer's default too; edit the
statement RegisterLambdaTargets to list ARNs instead), permissions to the
two push services. --table adds the deployer's table: dynamodb:Query for
'eventwire history', and for apply and destroy with --table the lease and
the records (GetItem, PutItem, UpdateItem, DeleteItem).

Examples:
  eventwire iam-policy --function-prefix shop- --account 123456789012 > eventwire-ci.json
  aws iam put-role-policy --role-name ci-deploy --policy-name eventwire --policy-document file://eventwire-ci.json
  eventwire iam-policy --mode plan --function-prefix shop- --table Eventwire-Deployments1A2B3C`

// iamPolicyFlags are the flags of iam-policy.
type iamPolicyFlags struct {
	mode, partition, account, region, prefix, table string
}

var (
	accountFlagPattern   = regexp.MustCompile(`^([0-9]{12}|\*)$`)
	regionFlagPattern    = regexp.MustCompile(`^([a-z]{2}(-[a-z]+)+-[0-9]|\*)$`)
	partitionFlagPattern = regexp.MustCompile(`^aws(-[a-z]+)*$`)
	prefixFlagPattern    = regexp.MustCompile(`^[A-Za-z0-9_-]{0,63}$`)
	tableFlagPattern     = regexp.MustCompile(`^[A-Za-z0-9_.-]{3,255}$`)
)

func (a *app) iamPolicyCommand() *cobra.Command {
	var f iamPolicyFlags
	cmd := &cobra.Command{
		Use:               "iam-policy",
		Short:             "Print the IAM policy the CLI needs",
		Long:              iamPolicyHelp,
		Args:              noArgs,
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, args []string) error {
			doc, err := f.policy()
			if err != nil {
				return err
			}
			if err := writeDocument(a.env.Stdout, doc); err != nil {
				a.code = ExitError
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.mode, "mode", "apply", "plan (read-only) or apply (plan, apply and destroy)")
	_ = cmd.RegisterFlagCompletionFunc("mode", cobra.FixedCompletions([]cobra.Completion{"plan", "apply"}, cobra.ShellCompDirectiveNoFileComp))
	fl.StringVar(&f.prefix, "function-prefix", "", "only functions whose names start with this (default: every function)")
	fl.StringVar(&f.account, "account", "*", "the AWS account id of the resources")
	fl.StringVar(&f.region, "region", "*", "the region of the resources")
	fl.StringVar(&f.partition, "partition", "aws", "the AWS partition (aws, aws-cn, aws-us-gov)")
	fl.StringVar(&f.table, "table", "", "the deployer's DynamoDB table, for history and for apply --table (default: no table)")
	return cmd
}

// policy checks the flags and builds the policy.
func (f iamPolicyFlags) policy() (iamcalls.Document, error) {
	for _, c := range []struct {
		flag, value, want string
		re                *regexp.Regexp
	}{
		{"account", f.account, "a 12-digit account id or *", accountFlagPattern},
		{"region", f.region, "a region such as eu-west-1, or *", regionFlagPattern},
		{"partition", f.partition, "aws, aws-cn or aws-us-gov", partitionFlagPattern},
		{"function-prefix", f.prefix, "a function name prefix (letters, digits, - and _)", prefixFlagPattern},
	} {
		if !c.re.MatchString(c.value) {
			return iamcalls.Document{}, fmt.Errorf("--%s %q: want %s", c.flag, c.value, c.want)
		}
	}
	if f.table != "" && !tableFlagPattern.MatchString(f.table) {
		return iamcalls.Document{}, fmt.Errorf("--table %q: want a DynamoDB table name", f.table)
	}
	if f.mode != "plan" && f.mode != "apply" {
		return iamcalls.Document{}, fmt.Errorf("--mode %s: want plan or apply", f.mode)
	}
	doc := iamcalls.Policy(iamcalls.CLI, f.mode == "apply", iamcalls.Values{
		Partition: f.partition, Region: f.region, Account: f.account,
		Function: f.prefix + "*", Qualifier: "*", Mapping: "*", TargetGroup: "*",
		API: "*", Route: "*", Integration: "*", Table: f.table,
	})
	if f.table == "" {
		doc.Statement = withoutGrant(doc.Statement, "DeploymentRecords")
	}
	return doc, nil
}

// withoutGrant drops the statements of the grants named.
func withoutGrant(sts []iamcalls.Statement, sids ...string) []iamcalls.Statement {
	var out []iamcalls.Statement
	for _, s := range sts {
		if !slices.Contains(sids, s.Sid) {
			out = append(out, s)
		}
	}
	return out
}
