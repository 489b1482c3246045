package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"github.com/eventwire/eventwire/internal/contract"
	"github.com/eventwire/eventwire/internal/definition"
)

// contextKeys are the context parameters the stack reads
// (contract.Settings); any other key written like one (lower camel case) is
// a mistake.
var contextKeys = func() []string {
	var keys []string
	for _, s := range contract.Settings {
		if s.Context != "" {
			keys = append(keys, s.Context)
		}
	}
	return keys
}()

// removedKeys are context parameters that no longer exist, with what to
// do instead.
var removedKeys = map[string]string{
	"pipelineAccount": "it let any principal of an account invoke the deployer; name the pipeline's role with " + contract.CtxPipelineRoleArn + " instead (a role of another account works)",
}

// settings are the context parameters, read once.
type settings struct {
	functionNamePrefix string
	allowAllFunctions  bool
	notificationEmail  string
	repository         string
	branches           []string
	pipelineRoleArn    string
	targetGroupArns    []string
	apiIDs             []string
	allowTakeover      bool
	definitionWriters  []string
	keyPrefixFunctions map[string]string
	allowed            definition.Policy
	sweep              sweepSettings
	// keys are every context key of the app; problems checks them.
	keys []string
	// malformed are values that could not be read at all.
	malformed []string
}

// readSettings reads the context parameters of the stack's app.
func readSettings(stack awscdk.Stack) settings {
	ctx := func(key string) any { return stack.Node().TryGetContext(jsii.String(key)) }
	s := settings{
		functionNamePrefix: scalar(ctx(contract.CtxFunctionNamePrefix)),
		notificationEmail:  scalar(ctx(contract.CtxNotificationEmail)),
		repository:         scalar(ctx(contract.CtxCodeCommitRepository)),
		branches:           stringList(ctx(contract.CtxCodeCommitBranches)),
		pipelineRoleArn:    scalar(ctx(contract.CtxPipelineRoleArn)),
		targetGroupArns:    stringList(ctx(contract.CtxTargetGroupArns)),
		apiIDs:             stringList(ctx(contract.CtxAPIIDs)),
		definitionWriters:  stringList(ctx(contract.CtxDefinitionWriters)),
		allowed: definition.Policy{
			Accounts:   stringList(ctx(contract.CtxAllowedAccounts)),
			Regions:    stringList(ctx(contract.CtxAllowedRegions)),
			Buckets:    stringList(ctx(contract.CtxAllowedBuckets)),
			KafkaHosts: stringList(ctx(contract.CtxKafkaHosts)),
		},
		sweep: sweepSettings{
			schedule: scalar(ctx(contract.CtxDriftSchedule)), share: scalar(ctx(contract.CtxSweepShare)), concurrency: scalar(ctx(contract.CtxSweepConcurrency)),
			teardownGrace: scalar(ctx(contract.CtxTeardownGrace)),
		},
	}
	if all, ok := stack.Node().GetAllContext(nil).(map[string]any); ok {
		for k := range all {
			s.keys = append(s.keys, k)
		}
		sort.Strings(s.keys)
	}
	var err error
	for key, dst := range map[string]*bool{contract.CtxAllowAllFunctions: &s.allowAllFunctions, contract.CtxAllowTakeover: &s.allowTakeover, contract.CtxDriftHeal: &s.sweep.heal} {
		if *dst, err = boolean(ctx(key)); err != nil {
			s.malformed = append(s.malformed, fmt.Sprintf("context parameter %s: %v", key, err))
		}
	}
	if s.keyPrefixFunctions, err = stringMap(ctx(contract.CtxKeyPrefixFunctions)); err != nil {
		s.malformed = append(s.malformed, fmt.Sprintf("context parameter %s: %v", contract.CtxKeyPrefixFunctions, err))
	}
	sort.Strings(s.malformed)
	return s
}

// allowlistEnv is the deployer's environment for the allowlists that are
// set (unset: the deployer's defaults), the APIs and target groups
// included.
func (s settings) allowlistEnv() map[string]string {
	env := map[string]string{}
	set := func(name string, list []string) {
		if len(list) > 0 {
			env[name] = strings.Join(list, ",")
		}
	}
	set(contract.EnvAllowedAccounts, s.allowed.Accounts)
	set(contract.EnvAllowedRegions, s.allowed.Regions)
	set(contract.EnvAllowedBuckets, s.allowed.Buckets)
	set(contract.EnvKafkaHosts, s.allowed.KafkaHosts)
	// The deployer refuses API sources whose API is not listed (none
	// without apiIds) as validation errors; target groups only when
	// listed, since IAM's tag condition scopes them otherwise.
	set(contract.EnvAPIIDs, s.apiIDs)
	set(contract.EnvTargetGroups, s.targetGroupArns)
	return env
}

// StackName is the stack's name from the app's context: contract.CtxStackName, or
// contract.DefaultStackName.
func StackName(app awscdk.App) (string, error) {
	name := scalar(app.Node().TryGetContext(jsii.String(contract.CtxStackName)))
	switch {
	case name == "":
		return contract.DefaultStackName, nil
	case !stackNamePattern.MatchString(name):
		return "", fmt.Errorf("context parameter %s: %q is not a CloudFormation stack name (a letter, then letters, digits and -, up to 128 characters)", contract.CtxStackName, name)
	}
	return name, nil
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

// boolean reads true or false, as a JSON boolean or a string.
func boolean(v any) (bool, error) {
	switch s := scalar(v); s {
	case "", "false":
		return false, nil
	case "true":
		return true, nil
	default:
		return false, fmt.Errorf("%q is neither true nor false", s)
	}
}

// stringMap reads a JSON object of strings, given as an object (cdk.json)
// or as its JSON text (cdk -c).
func stringMap(v any) (map[string]string, error) {
	var raw map[string]any
	switch v := v.(type) {
	case nil:
		return nil, nil
	case map[string]any:
		raw = v
	case string:
		if strings.TrimSpace(v) == "" {
			return nil, nil
		}
		if err := json.Unmarshal([]byte(v), &raw); err != nil {
			return nil, fmt.Errorf("not a JSON object of strings ({\"KEY-PREFIX/\": \"FUNCTION-PREFIX\"}): %w", err)
		}
	default:
		return nil, fmt.Errorf("%v is not a JSON object of strings", v)
	}
	out := map[string]string{}
	for k, e := range raw {
		s, ok := e.(string)
		if !ok {
			return nil, fmt.Errorf("the value of %q is %v, not a string", k, e)
		}
		out[k] = s
	}
	return out, nil
}

// Patterns of the context parameters' values.
var (
	// Lambda function names: letters, digits, - and _. A prefix with any
	// other character could widen the deployer's IAM resource patterns
	// (* and ? are IAM wildcards) or match no function at all.
	functionNamePrefixPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{0,63}$`)
	roleArnPattern            = regexp.MustCompile(`^arn:aws[a-z-]*:iam::[0-9]{12}:role/[\w+=,.@/-]+$`)
	// Writers may be role patterns (an SSO role's name ends in a random
	// suffix), in the account named.
	writerArnPattern  = regexp.MustCompile(`^arn:aws[a-z-]*:iam::[0-9]{12}:role/[\w+=,.@/*?-]+$`)
	repositoryPattern = regexp.MustCompile(`^[\w.-]{1,100}$`)
	// Git allows much in a branch name; the EventBridge pattern and the
	// deployer's comparison take it literally. No spaces, no wildcards.
	branchPattern = regexp.MustCompile(`^[^\s*?\[\]\\~^:]{1,256}$`)
	emailPattern  = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[^@\s]+$`)
	// A target group ARN, IAM wildcards allowed in its region, account,
	// name and id.
	targetGroupArnPattern = regexp.MustCompile(`^arn:aws[a-z-]*:elasticloadbalancing:[a-z0-9*?-]+:[0-9*?]{1,12}:targetgroup/[A-Za-z0-9*?-]+/[0-9a-f*?]+$`)
	apiIDPattern          = regexp.MustCompile(`^([a-z0-9]{10}|\*)$`)
	keyPrefixPattern      = regexp.MustCompile(`^[^/*?][^*?]*/$`)
	stackNamePattern      = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9-]{0,127}$`)
)

// problems returns what is wrong with the context parameters, one message
// each; the stack reports them as synthesis errors.
func (s settings) problems() []string {
	out := append(s.unknownKeys(), s.malformed...)
	check := func(key, value string, re *regexp.Regexp, want string) {
		if value != "" && !re.MatchString(value) {
			out = append(out, fmt.Sprintf("context parameter %s: %q is not %s", key, value, want))
		}
	}
	checkAll := func(key string, values []string, re *regexp.Regexp, want string) {
		for _, v := range values {
			check(key, v, re, want)
		}
	}
	check(contract.CtxFunctionNamePrefix, s.functionNamePrefix, functionNamePrefixPattern,
		"a function name prefix (letters, digits, - and _, up to 63 characters)")
	check(contract.CtxNotificationEmail, s.notificationEmail, emailPattern, "an email address")
	check(contract.CtxCodeCommitRepository, s.repository, repositoryPattern,
		"a CodeCommit repository name (letters, digits, ., - and _, up to 100 characters)")
	checkAll(contract.CtxCodeCommitBranches, s.branches, branchPattern, "a branch name (no spaces or wildcards)")
	check(contract.CtxPipelineRoleArn, s.pipelineRoleArn, roleArnPattern, "an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)")
	checkAll(contract.CtxTargetGroupArns, s.targetGroupArns, targetGroupArnPattern,
		"a target group ARN (arn:aws:elasticloadbalancing:REGION:ACCOUNT:targetgroup/NAME/ID, * and ? allowed)")
	checkAll(contract.CtxAPIIDs, s.apiIDs, apiIDPattern, `an HTTP API id (10 lower-case letters and digits) or "*"`)
	checkAll(contract.CtxDefinitionWriters, s.definitionWriters, writerArnPattern,
		"an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME, * and ? allowed in the name)")
	out = append(out, s.prefixProblems()...)
	out = append(out, s.sweep.problems()...)
	for _, p := range s.allowed.Check() {
		out = append(out, fmt.Sprintf("context parameters %s, %s, %s, %s: %s", contract.CtxAllowedAccounts, contract.CtxAllowedRegions, contract.CtxAllowedBuckets, contract.CtxKafkaHosts, p))
	}
	if len(s.branches) > 0 && s.repository == "" {
		out = append(out, fmt.Sprintf("context parameter %s is set without %s: there is no repository to trigger on",
			contract.CtxCodeCommitBranches, contract.CtxCodeCommitRepository))
	}
	if s.repository != "" && len(s.branches) == 0 {
		out = append(out, fmt.Sprintf("context parameter %s is required with %s: the branches whose pushes deploy (a push to any other branch is ignored), e.g. -c %s=main",
			contract.CtxCodeCommitBranches, contract.CtxCodeCommitRepository, contract.CtxCodeCommitBranches))
	}
	return out
}

// prefixProblems checks functionNamePrefix, allowAllFunctions and
// keyPrefixFunctions together.
func (s settings) prefixProblems() []string {
	var out []string
	switch {
	case s.functionNamePrefix == "" && !s.allowAllFunctions:
		out = append(out, fmt.Sprintf("context parameter %s is required: the name prefix of the functions this deployer may wire (-c %s=shop-); "+
			"to let it wire every function of the account and region, including other stacks' and CDK's own, pass -c %s=true instead",
			contract.CtxFunctionNamePrefix, contract.CtxFunctionNamePrefix, contract.CtxAllowAllFunctions))
	case s.functionNamePrefix != "" && s.allowAllFunctions:
		out = append(out, fmt.Sprintf("context parameters %s and %s contradict each other: pass one",
			contract.CtxFunctionNamePrefix, contract.CtxAllowAllFunctions))
	}
	for _, k := range slices.Sorted(maps.Keys(s.keyPrefixFunctions)) {
		fp := s.keyPrefixFunctions[k]
		switch {
		case !keyPrefixPattern.MatchString(k):
			out = append(out, fmt.Sprintf("context parameter %s: key prefix %q is not a folder of the bucket (no leading /, no wildcards, ending in /)", contract.CtxKeyPrefixFunctions, k))
		case fp == "" || !functionNamePrefixPattern.MatchString(fp):
			out = append(out, fmt.Sprintf("context parameter %s: %q maps to %q, which is not a function name prefix (letters, digits, - and _, up to 63 characters)", contract.CtxKeyPrefixFunctions, k, fp))
		case !strings.HasPrefix(fp, s.functionNamePrefix):
			out = append(out, fmt.Sprintf("context parameter %s: %q maps to %q, which does not start with %s %q: the deployer may not wire those functions at all",
				contract.CtxKeyPrefixFunctions, k, fp, contract.CtxFunctionNamePrefix, s.functionNamePrefix))
		}
	}
	return out
}

// unknownKeys refuses context keys written like the stack's own (lower
// camel case: CDK's keys have a prefix such as @aws-cdk/ or aws:cdk:, or
// dashes) that the stack does not read, with a suggestion: a misspelt
// functionNamePrefx would otherwise deploy without its scope.
func (s settings) unknownKeys() []string {
	known := map[string]bool{}
	for _, k := range contextKeys {
		known[k] = true
	}
	var out []string
	for _, k := range s.keys {
		if known[k] || !ownKeyPattern.MatchString(k) {
			continue
		}
		if why, ok := removedKeys[k]; ok {
			out = append(out, fmt.Sprintf("context parameter %s was removed: %s", k, why))
			continue
		}
		msg := fmt.Sprintf("unknown context parameter %s", k)
		if sug := closestKey(k); sug != "" {
			msg += fmt.Sprintf(" (did you mean %s?)", sug)
		}
		out = append(out, msg+"; the parameters are listed in docs/deploy.md, Settings")
	}
	return out
}

var ownKeyPattern = regexp.MustCompile(`^[a-z][A-Za-z0-9]*$`)

// closestKey is the known key nearest to k by the module's edit distance,
// if close enough to be a typo (at most a third of the key, at most 3).
func closestKey(k string) string {
	best, bestD := "", min(3, max(1, len(k)/3))+1
	for _, c := range contextKeys {
		if d := definition.EditDistance(strings.ToLower(k), strings.ToLower(c)); d < bestD {
			best, bestD = c, d
		}
	}
	return best
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
		items = []string{scalar(v)}
	}
	var out []string
	for _, s := range items {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// Lambda's bounds of an SQS mapping's MaximumConcurrency.
const (
	minSweepConcurrency = 2
	maxSweepConcurrency = 1000
)

// sweepSettings are drift detection's context parameters, as given, and
// the teardown grace (teardowns are deferred through the sweep queue).
type sweepSettings struct {
	schedule, share, concurrency string
	teardownGrace                string
	heal                         bool
}

// sweepConfig are drift detection's settings, read (defaults applied).
type sweepConfig struct {
	// schedule is the EventBridge schedule expression, "" for none.
	schedule    string
	heal        bool
	share       float64
	concurrency int
	// teardownGrace is in seconds.
	teardownGrace int
}

// config reads the settings; problems says what is wrong with them, and
// config returns the defaults for what it cannot read. (driftHeal is read
// with the other booleans, by readSettings.)
func (s sweepSettings) config() sweepConfig {
	c := sweepConfig{schedule: contract.DefaultDriftSchedule, share: contract.DefaultSweepShare, concurrency: contract.DefaultSweepConcurrency,
		teardownGrace: contract.DefaultTeardownGraceSeconds}
	switch {
	case s.schedule == contract.DriftScheduleOff:
		c.schedule = ""
	case s.schedule != "" && scheduleProblem(s.schedule) == "":
		c.schedule = s.schedule
	}
	c.heal = s.heal
	if f, err := strconv.ParseFloat(s.share, 64); err == nil && f > 0 && f <= 1 {
		c.share = f
	}
	if n, err := strconv.Atoi(s.concurrency); err == nil && n >= minSweepConcurrency && n <= maxSweepConcurrency {
		c.concurrency = n
	}
	if n, ok := teardownGrace(s.teardownGrace); ok {
		c.teardownGrace = n
	}
	return c
}

// teardownGrace reads the teardown grace, in seconds from 0 to SQS's
// longest delay; ok is false for anything else.
func teardownGrace(v string) (int, bool) {
	n, err := strconv.Atoi(v)
	return n, err == nil && n >= 0 && n <= contract.MaxTeardownGraceSeconds
}

// problems returns what is wrong with drift detection's settings.
func (s sweepSettings) problems() []string {
	var out []string
	if s.schedule != "" && s.schedule != contract.DriftScheduleOff {
		if p := scheduleProblem(s.schedule); p != "" {
			out = append(out, fmt.Sprintf("context parameter %s: %q is not an EventBridge schedule expression (rate(1 day), rate(12 hours), cron(0 3 * * ? *), or %s): %s",
				contract.CtxDriftSchedule, s.schedule, contract.DriftScheduleOff, p))
		}
	}
	if s.share != "" {
		if f, err := strconv.ParseFloat(s.share, 64); err != nil || !(f > 0 && f <= 1) {
			out = append(out, fmt.Sprintf("context parameter %s: %q is not a share of the quotas above 0 and at most 1 (0.5 is half)", contract.CtxSweepShare, s.share))
		}
	}
	if s.concurrency != "" {
		if n, err := strconv.Atoi(s.concurrency); err != nil || n < minSweepConcurrency || n > maxSweepConcurrency {
			out = append(out, fmt.Sprintf("context parameter %s: %q is not a number of concurrent invocations from %d to %d (Lambda's bounds of MaximumConcurrency)",
				contract.CtxSweepConcurrency, s.concurrency, minSweepConcurrency, maxSweepConcurrency))
		}
	}
	if _, ok := teardownGrace(s.teardownGrace); s.teardownGrace != "" && !ok {
		out = append(out, fmt.Sprintf("context parameter %s: %q is not a number of seconds from 0 to %d (SQS's longest delay; 0: teardowns at once)",
			contract.CtxTeardownGrace, s.teardownGrace, contract.MaxTeardownGraceSeconds))
	}
	return out
}

var (
	ratePattern = regexp.MustCompile(`^rate\(([1-9][0-9]*) (minute|minutes|hour|hours|day|days)\)$`)
	cronPattern = regexp.MustCompile(`^cron\((.*)\)$`)
)

// scheduleProblem says what is wrong with an EventBridge schedule
// expression (EventBridge's rules: "Schedule expressions for rules"),
// "" if nothing is.
func scheduleProblem(expr string) string {
	if m := ratePattern.FindStringSubmatch(expr); m != nil {
		if singular := !strings.HasSuffix(m[2], "s"); singular != (m[1] == "1") {
			return "the unit is singular for 1 and plural otherwise"
		}
		return ""
	}
	m := cronPattern.FindStringSubmatch(expr)
	if m == nil {
		return "neither rate(VALUE UNIT) nor cron(FIELDS)"
	}
	fields := strings.Fields(m[1])
	if len(fields) != len(cronFields) {
		return fmt.Sprintf("cron takes 6 fields (minutes hours day-of-month month day-of-week year), not %d", len(fields))
	}
	for i, f := range fields {
		if !cronFields[i].pattern.MatchString(f) {
			return fmt.Sprintf("the %s field %q is not valid", cronFields[i].name, f)
		}
	}
	if (fields[2] == "?") == (fields[4] == "?") {
		return "one of day-of-month and day-of-week must be ?, not both"
	}
	return ""
}

// cronFields are the fields of an EventBridge cron expression, each a
// comma-separated list of values, ranges and increments.
var cronFields = []struct {
	name    string
	pattern *regexp.Regexp
}{
	{"minutes", cronField(`[0-5]?[0-9]`, "")},
	{"hours", cronField(`[01]?[0-9]|2[0-3]`, "")},
	{"day-of-month", cronField(`0?[1-9]|[12][0-9]|3[01]`, `|\?|L|LW|(0?[1-9]|[12][0-9]|3[01])W`)},
	{"month", cronField(`0?[1-9]|1[0-2]|JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC`, "")},
	{"day-of-week", cronField(`[1-7]|SUN|MON|TUE|WED|THU|FRI|SAT`, `|\?|[1-7]?L|[1-7]#[1-5]|(SUN|MON|TUE|WED|THU|FRI|SAT)#[1-5]`)},
	{"year", cronField(`19[7-9][0-9]|2[01][0-9][0-9]`, "")},
}

// cronField matches a list of VALUE, VALUE-VALUE, * and
// (*|VALUE|VALUE-VALUE)/STEP items, or one of the special forms.
func cronField(value, special string) *regexp.Regexp {
	v := `(?:` + value + `)`
	item := `(?:\*|` + v + `(?:-` + v + `)?)(?:/[0-9]{1,3})?`
	return regexp.MustCompile(`^(?:` + item + `(?:,` + item + `)*` + special + `)$`)
}
