package main

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"github.com/eventwire/eventwire/internal/definition"
	"github.com/eventwire/eventwire/internal/trigger"
)

// Context parameters (cdk -c name=value, or "context" in cdk.json).
const (
	// CtxFunctionNamePrefix limits the functions the deployer may wire to
	// names starting with this prefix. Empty: every function of the account
	// in the stack's region.
	CtxFunctionNamePrefix = "functionNamePrefix"
	// CtxNotificationEmail subscribes an email address to the alarm topic.
	CtxNotificationEmail = "notificationEmail"
	// CtxCodeCommitRepository names an existing CodeCommit repository whose
	// pushes trigger the deployer.
	CtxCodeCommitRepository = "codeCommitRepository"
	// CtxCodeCommitBranches limits the CodeCommit trigger to these branches
	// (comma-separated or a JSON list). Empty: every branch.
	CtxCodeCommitBranches = "codeCommitBranches"
	// CtxPipelineRoleArn is the role of a CodePipeline (its service role or
	// the Invoke action's role) that may invoke the deployer.
	CtxPipelineRoleArn = "pipelineRoleArn"
	// CtxPipelineAccount lets any principal of that account that holds
	// lambda:InvokeFunction in its own policies invoke the deployer (for
	// pipelines in another account).
	CtxPipelineAccount = "pipelineAccount"
	// What definition files may point at (lists: comma-separated or JSON):
	// the accounts and regions of every ARN (default: the deployer's own),
	// S3 buckets as failure destinations, by name, and HOST:PORT patterns
	// of self-managed Kafka servers and schema registries (default: none).
	// "*" allows anything. Set as the deployer's trigger.EnvAllowedAccounts
	// and the rest.
	CtxAllowedAccounts = "allowedAccounts"
	CtxAllowedRegions  = "allowedRegions"
	CtxAllowedBuckets  = "allowedBuckets"
	CtxKafkaHosts      = "kafkaHosts"
)

// settings are the context parameters, read once.
type settings struct {
	functionNamePrefix string
	notificationEmail  string
	repository         string
	branches           []string
	pipelineRoleArn    string
	pipelineAccount    string
	allowed            definition.Policy
}

// readSettings reads the context parameters of the stack's app.
func readSettings(stack awscdk.Stack) settings {
	str := func(key string) string {
		return scalar(stack.Node().TryGetContext(jsii.String(key)))
	}
	list := func(key string) []string { return stringList(stack.Node().TryGetContext(jsii.String(key))) }
	return settings{
		functionNamePrefix: str(CtxFunctionNamePrefix),
		notificationEmail:  str(CtxNotificationEmail),
		repository:         str(CtxCodeCommitRepository),
		branches:           stringList(stack.Node().TryGetContext(jsii.String(CtxCodeCommitBranches))),
		pipelineRoleArn:    str(CtxPipelineRoleArn),
		pipelineAccount:    str(CtxPipelineAccount),
		allowed: definition.Policy{
			Accounts:   list(CtxAllowedAccounts),
			Regions:    list(CtxAllowedRegions),
			Buckets:    list(CtxAllowedBuckets),
			KafkaHosts: list(CtxKafkaHosts),
		},
	}
}

// allowlistEnv is the deployer's environment for the allowlists that are
// set (unset: the deployer's defaults).
func (s settings) allowlistEnv() map[string]string {
	env := map[string]string{}
	set := func(name string, list []string) {
		if len(list) > 0 {
			env[name] = strings.Join(list, ",")
		}
	}
	set(trigger.EnvAllowedAccounts, s.allowed.Accounts)
	set(trigger.EnvAllowedRegions, s.allowed.Regions)
	set(trigger.EnvAllowedBuckets, s.allowed.Buckets)
	set(trigger.EnvKafkaHosts, s.allowed.KafkaHosts)
	return env
}

// scalar reads a context value given as a string (cdk -c) or as a JSON
// scalar in cdk.json: a number such as an account id is written out in
// full, not as 1.23456789012e+11.
func scalar(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	default:
		return strings.TrimSpace(fmt.Sprint(v))
	}
}

// Patterns of the context parameters' values.
var (
	// Lambda function names: letters, digits, - and _. A prefix with any
	// other character could widen the deployer's IAM resource patterns
	// (* and ? are IAM wildcards) or match no function at all.
	functionNamePrefixPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{0,63}$`)
	accountPattern            = regexp.MustCompile(`^[0-9]{12}$`)
	roleArnPattern            = regexp.MustCompile(`^arn:aws[a-z-]*:iam::[0-9]{12}:role/[\w+=,.@/-]+$`)
	repositoryPattern         = regexp.MustCompile(`^[\w.-]{1,100}$`)
	emailPattern              = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[^@\s]+$`)
)

// problems returns what is wrong with the context parameters, one message
// each; the stack reports them as synthesis errors.
func (s settings) problems() []string {
	var out []string
	check := func(key, value string, re *regexp.Regexp, want string) {
		if value != "" && !re.MatchString(value) {
			out = append(out, fmt.Sprintf("context parameter %s: %q is not %s", key, value, want))
		}
	}
	check(CtxFunctionNamePrefix, s.functionNamePrefix, functionNamePrefixPattern,
		"a function name prefix (letters, digits, - and _, up to 63 characters)")
	check(CtxNotificationEmail, s.notificationEmail, emailPattern, "an email address")
	check(CtxCodeCommitRepository, s.repository, repositoryPattern,
		"a CodeCommit repository name (letters, digits, ., - and _, up to 100 characters)")
	check(CtxPipelineRoleArn, s.pipelineRoleArn, roleArnPattern, "an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)")
	check(CtxPipelineAccount, s.pipelineAccount, accountPattern,
		"a 12-digit AWS account id (in cdk.json, write it as a string)")
	for _, p := range s.allowed.Check() {
		out = append(out, fmt.Sprintf("context parameters %s, %s, %s, %s: %s", CtxAllowedAccounts, CtxAllowedRegions, CtxAllowedBuckets, CtxKafkaHosts, p))
	}
	if len(s.branches) > 0 && s.repository == "" {
		out = append(out, fmt.Sprintf("context parameter %s is set without %s: there is no repository to trigger on",
			CtxCodeCommitBranches, CtxCodeCommitRepository))
	}
	return out
}

// stringList reads a context value given as a list (cdk.json) or as a
// comma-separated or JSON-list string (cdk -c).
func stringList(v any) []string {
	var items []string
	switch v := v.(type) {
	case nil:
	case []any:
		for _, s := range v {
			items = append(items, scalar(s))
		}
	case string:
		if err := json.Unmarshal([]byte(v), &items); err != nil {
			items = strings.Split(v, ",")
		}
	default:
		items = []string{fmt.Sprint(v)}
	}
	var out []string
	for _, s := range items {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}
