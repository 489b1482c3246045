package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
	"github.com/eventwire/eventwire/internal/contract"
	"github.com/google/go-cmp/cmp"
)

// The stack is synthesized once per variant (each synthesis costs seconds
// of node time); the tests then read the template as plain JSON.
var (
	stubDir string

	// fullContext turns on every optional part of the stack.
	fullContext = map[string]any{
		contract.CtxFunctionNamePrefix:   "orders-",
		contract.CtxNotificationEmail:    "ops@example.com",
		contract.CtxCodeCommitRepository: "definitions",
		contract.CtxCodeCommitBranches:   "main, release",
		contract.CtxPipelineRoleArn:      "arn:aws:iam::111122223333:role/pipeline-invoke",
		contract.CtxTargetGroupArns:      "arn:aws:elasticloadbalancing:*:123456789012:targetgroup/orders/*",
		contract.CtxAPIIDs:               []any{"a1b2c3d4e5", "f6g7h8i9j0"},
		contract.CtxAllowTakeover:        "true",
		contract.CtxDefinitionWriters:    "arn:aws:iam::123456789012:role/ci-definitions,arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Platform_*",
		contract.CtxKeyPrefixFunctions:   `{"orders/":"orders-app-","orders/payments/":"orders-pay-"}`,
		// A list as cdk.json may write it, with an account as a number.
		contract.CtxAllowedAccounts: []any{"123456789012", float64(210987654321)},
		contract.CtxAllowedRegions:  "us-east-1, eu-west-1",
		contract.CtxAllowedBuckets:  "audit-failures",
		contract.CtxKafkaHosts:      `["*.kafka.internal:9092"]`,
		// Drift detection: a cron schedule, heal on, a quarter of each
		// quota, 5 invocations at once (a number, as cdk.json writes it).
		contract.CtxDriftSchedule:    "cron(0 3 ? * MON-FRI *)",
		contract.CtxDriftHeal:        true,
		contract.CtxSweepShare:       "0.25",
		contract.CtxSweepConcurrency: float64(5),
		// Teardowns deferred by half a minute (a number).
		contract.CtxTeardownGrace: float64(30),
	}
	templates = map[string]*templateOnce{
		// The one required setting.
		"default": {ctx: map[string]any{contract.CtxFunctionNamePrefix: "orders-"}},
		"full":    {ctx: fullContext},
		// Every function of the account, explicitly.
		"all": {ctx: map[string]any{contract.CtxAllowAllFunctions: true}},
		// No drift schedule.
		"drift-off": {ctx: map[string]any{contract.CtxFunctionNamePrefix: "orders-", contract.CtxDriftSchedule: contract.DriftScheduleOff}},
	}
)

type templateOnce struct {
	ctx  map[string]any
	once sync.Once
	tmpl template
	err  error
}

func TestMain(m *testing.M) {
	code := func() int {
		defer jsii.Close()
		// A stub bootstrap: the tests need an asset, not the deployer.
		dir, err := os.MkdirTemp("", "eventwire-infra-test")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		if err := os.WriteFile(filepath.Join(dir, "bootstrap"), []byte("#!/bin/sh\n"), 0o755); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		stubDir = dir
		return m.Run()
	}()
	os.Exit(code)
}

// synth returns the template of the variant, synthesized with the feature
// flags of cdk.json plus the variant's context, as `cdk synth` would.
func synth(t *testing.T, variant string) template {
	t.Helper()
	v := templates[variant]
	v.once.Do(func() {
		ctx, err := cdkJSONContext()
		if err != nil {
			v.err = err
			return
		}
		for k, val := range v.ctx {
			ctx[k] = val
		}
		app := awscdk.NewApp(&awscdk.AppProps{Context: &ctx})
		stack := NewDeployerStack(app, "Test", &DeployerStackProps{CodePath: stubDir})
		raw := assertions.Template_FromStack(stack, nil).ToJSON()
		b, err := json.Marshal(raw)
		if err != nil {
			v.err = err
			return
		}
		v.err = json.Unmarshal(b, &v.tmpl)
	})
	if v.err != nil {
		t.Fatalf("synthesize %s stack: %v", variant, v.err)
	}
	return v.tmpl
}

func cdkJSONContext() (map[string]any, error) {
	b, err := os.ReadFile(filepath.Join("..", "cdk.json"))
	if err != nil {
		return nil, err
	}
	var cfg struct {
		App     string         `json:"app"`
		Context map[string]any `json:"context"`
	}
	if err := json.Unmarshal(b, &cfg); err != nil {
		return nil, fmt.Errorf("cdk.json: %w", err)
	}
	if cfg.Context == nil {
		cfg.Context = map[string]any{}
	}
	return cfg.Context, nil
}

type template struct {
	Resources map[string]resource `json:"Resources"`
	Outputs   map[string]any      `json:"Outputs"`
}

type resource struct {
	Type           string         `json:"Type"`
	Properties     map[string]any `json:"Properties"`
	DeletionPolicy string         `json:"DeletionPolicy"`
	DependsOn      []string       `json:"DependsOn"`
}

// ofType returns the resources of a type, keyed by logical id.
func (tm template) ofType(typ string) map[string]resource {
	out := map[string]resource{}
	for id, r := range tm.Resources {
		if r.Type == typ {
			out[id] = r
		}
	}
	return out
}

// one returns the single resource of a type whose logical id starts with
// prefix (CDK appends a hash to the construct path).
func (tm template) one(t *testing.T, typ, prefix string) resource {
	t.Helper()
	var found []string
	for id := range tm.ofType(typ) {
		if strings.HasPrefix(id, prefix) {
			found = append(found, id)
		}
	}
	if len(found) != 1 {
		t.Fatalf("want one %s with logical id %s*, got %v", typ, prefix, found)
	}
	return tm.Resources[found[0]]
}

var cdkHash = regexp.MustCompile(`[0-9A-F]{8}$`)

// render turns CloudFormation intrinsics into readable strings so that
// expectations can be written as ARNs: {"Ref": "AWS::Region"} is
// "${AWS::Region}", {"Fn::GetAtt": ["Deployer92EF8763", "Arn"]} is
// "${Deployer.Arn}", and Fn::Join joins what it renders.
func render(v any) any {
	switch v := v.(type) {
	case map[string]any:
		if len(v) == 1 {
			if ref, ok := v["Ref"].(string); ok {
				return "${" + cdkHash.ReplaceAllString(ref, "") + "}"
			}
			if ga, ok := v["Fn::GetAtt"].([]any); ok && len(ga) == 2 {
				return fmt.Sprintf("${%s.%s}", cdkHash.ReplaceAllString(fmt.Sprint(ga[0]), ""), ga[1])
			}
			if j, ok := v["Fn::Join"].([]any); ok && len(j) == 2 {
				var parts []string
				for _, p := range j[1].([]any) {
					parts = append(parts, fmt.Sprint(render(p)))
				}
				return strings.Join(parts, fmt.Sprint(j[0]))
			}
		}
		out := map[string]any{}
		for k, e := range v {
			out[k] = render(e)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = render(e)
		}
		return out
	default:
		return v
	}
}

// strs normalizes a string-or-list policy field to a sorted list.
func strs(v any) []string {
	var out []string
	switch v := render(v).(type) {
	case nil:
	case []any:
		for _, e := range v {
			out = append(out, fmt.Sprint(e))
		}
	default:
		out = []string{fmt.Sprint(v)}
	}
	sort.Strings(out)
	return out
}

func get(v any, path ...string) any {
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}

func diff(t *testing.T, what string, want, got any, opts ...cmp.Option) {
	t.Helper()
	if d := cmp.Diff(want, got, opts...); d != "" {
		t.Errorf("%s (-want +got):\n%s", what, d)
	}
}

const (
	fnArn     = "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:"
	esmArn    = "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:event-source-mapping:*"
	tgArn     = "arn:${AWS::Partition}:elasticloadbalancing:${AWS::Region}:${AWS::AccountId}:targetgroup/*/*"
	repoArn   = "arn:${AWS::Partition}:codecommit:${AWS::Region}:${AWS::AccountId}:definitions"
	deployer  = "${Deployer.Arn}"
	defBucket = "${Definitions.Arn}"
)

func TestDefinitionsBucket(t *testing.T) {
	tm := synth(t, "default")
	b := tm.one(t, "AWS::S3::Bucket", "Definitions")
	p := b.Properties
	diff(t, "versioning", "Enabled", get(p, "VersioningConfiguration", "Status"))
	diff(t, "encryption", []any{map[string]any{
		"ServerSideEncryptionByDefault": map[string]any{"SSEAlgorithm": "AES256"},
	}}, get(p, "BucketEncryption", "ServerSideEncryptionConfiguration"))
	diff(t, "public access block", map[string]any{
		"BlockPublicAcls": true, "BlockPublicPolicy": true, "IgnorePublicAcls": true, "RestrictPublicBuckets": true,
	}, p["PublicAccessBlockConfiguration"])
	diff(t, "access logs", map[string]any{
		"DestinationBucketName": "${AccessLogs}", "LogFilePrefix": "definitions/",
	}, render(p["LoggingConfiguration"]))
	diff(t, "deletion policy", "Retain", b.DeletionPolicy)

	// The access-log bucket itself: encrypted, private, expiring.
	logs := tm.one(t, "AWS::S3::Bucket", "AccessLogs").Properties
	diff(t, "access-log bucket encryption", "AES256",
		get(get(logs, "BucketEncryption", "ServerSideEncryptionConfiguration").([]any)[0], "ServerSideEncryptionByDefault", "SSEAlgorithm"))
	diff(t, "access-log bucket public access block", true, get(logs, "PublicAccessBlockConfiguration", "RestrictPublicBuckets"))
	diff(t, "access-log expiration", []any{map[string]any{"ExpirationInDays": float64(accessLogExpirationDays), "Status": "Enabled"}},
		get(logs, "LifecycleConfiguration", "Rules"))

	// TLS only, on both buckets; S3 may write access logs.
	for _, name := range []string{"Definitions", "AccessLogs"} {
		t.Run(name+"Policy", func(t *testing.T) {
			pol := tm.one(t, "AWS::S3::BucketPolicy", name+"Policy").Properties
			var tlsDeny bool
			for _, s := range get(pol, "PolicyDocument", "Statement").([]any) {
				if get(s, "Effect") == "Deny" && cmp.Equal(get(s, "Condition"), map[string]any{"Bool": map[string]any{"aws:SecureTransport": "false"}}) {
					tlsDeny = true
					diff(t, "TLS deny resources", []string{"${" + name + ".Arn}", "${" + name + ".Arn}/*"}, strs(get(s, "Resource")))
				}
			}
			if !tlsDeny {
				t.Errorf("no statement denies requests without TLS in %s's policy", name)
			}
		})
	}
	logsPol := render(tm.one(t, "AWS::S3::BucketPolicy", "AccessLogsPolicy").Properties)
	if !strings.Contains(fmt.Sprint(logsPol), "logging.s3.amazonaws.com") {
		t.Errorf("access-log bucket policy does not let S3 log delivery write: %v", logsPol)
	}
}

func TestBucketNotifications(t *testing.T) {
	tm := synth(t, "default")
	n := tm.one(t, "Custom::S3BucketNotifications", "DefinitionsNotifications")
	filter := func(suffix string) map[string]any {
		return map[string]any{"Key": map[string]any{"FilterRules": []any{
			map[string]any{"Name": "suffix", "Value": suffix},
		}}}
	}
	// The definition files, and the _lambdadef.json beside them.
	def, sib := filter("_lambdaeventsourcedef.json"), filter("_lambdadef.json")
	diff(t, "notifications", map[string]any{
		"LambdaFunctionConfigurations": []any{
			map[string]any{"Events": []any{"s3:ObjectCreated:*"}, "Filter": def, "LambdaFunctionArn": deployer},
			map[string]any{"Events": []any{"s3:ObjectRemoved:*"}, "Filter": def, "LambdaFunctionArn": deployer},
			map[string]any{"Events": []any{"s3:ObjectCreated:*"}, "Filter": sib, "LambdaFunctionArn": deployer},
			map[string]any{"Events": []any{"s3:ObjectRemoved:*"}, "Filter": sib, "LambdaFunctionArn": deployer},
		},
	}, render(n.Properties["NotificationConfiguration"]))
	diff(t, "bucket", "${Definitions}", render(n.Properties["BucketName"]))

	// S3 may invoke the deployer, from this bucket and account only.
	var found bool
	for _, p := range tm.ofType("AWS::Lambda::Permission") {
		if p.Properties["Principal"] == "s3.amazonaws.com" {
			found = true
			diff(t, "s3 permission", map[string]any{
				"Action": "lambda:InvokeFunction", "FunctionName": deployer, "Principal": "s3.amazonaws.com",
				"SourceAccount": "${AWS::AccountId}", "SourceArn": defBucket,
			}, render(p.Properties))
		}
	}
	if !found {
		t.Error("no permission lets S3 invoke the deployer")
	}
}

func TestDeployerFunction(t *testing.T) {
	tm := synth(t, "full")
	p := render(tm.one(t, "AWS::Lambda::Function", "Deployer").Properties).(map[string]any)
	for _, c := range []struct {
		field string
		want  any
	}{
		{"Runtime", "provided.al2023"},
		{"Architectures", []any{"arm64"}},
		{"Handler", "bootstrap"},
		{"Timeout", float64(300)},
		{"MemorySize", float64(256)},
		{"Role", "${DeployerRole.Arn}"},
		{"LoggingConfig", map[string]any{"LogFormat": "JSON", "ApplicationLogLevel": "INFO", "LogGroup": "${DeployerLogs}"}},
		{"Environment", map[string]any{"Variables": map[string]any{
			"EVENTWIRE_TABLE":                "${Deployments}",
			"EVENTWIRE_LEASE_SECONDS":        "360",
			"EVENTWIRE_FUNCTION_PREFIX":      "orders-",
			"EVENTWIRE_ALLOW_TAKEOVER":       "true",
			"EVENTWIRE_BUCKET":               "${Definitions}",
			"EVENTWIRE_REPOSITORY":           "definitions",
			"EVENTWIRE_BRANCHES":             `["main","release"]`,
			"EVENTWIRE_KEY_PREFIX_FUNCTIONS": `{"orders/":"orders-app-","orders/payments/":"orders-pay-"}`,
			// Unset in the default stack: the deployer's own account
			// and region, no bucket, no Kafka host.
			"EVENTWIRE_ALLOWED_ACCOUNTS": "123456789012,210987654321",
			"EVENTWIRE_ALLOWED_REGIONS":  "us-east-1,eu-west-1",
			"EVENTWIRE_ALLOWED_BUCKETS":  "audit-failures",
			"EVENTWIRE_KAFKA_HOSTS":      "*.kafka.internal:9092",
			// apiIds and targetGroupArns, checked by the deployer too.
			"EVENTWIRE_API_IDS":       "a1b2c3d4e5,f6g7h8i9j0",
			"EVENTWIRE_TARGET_GROUPS": "arn:aws:elasticloadbalancing:*:123456789012:targetgroup/orders/*",
			// The sweep's queue and settings.
			"EVENTWIRE_SWEEP_QUEUE_URL":   "${SweepQueue}",
			"EVENTWIRE_SWEEP_QUEUE_ARN":   "${SweepQueue.Arn}",
			"EVENTWIRE_DRIFT_HEAL":        "true",
			"EVENTWIRE_SWEEP_SHARE":       "0.25",
			"EVENTWIRE_SWEEP_CONCURRENCY": "5",
			// Teardowns are deferred through the sweep queue.
			"EVENTWIRE_TEARDOWN_GRACE_SECONDS": "30",
		}}},
	} {
		diff(t, c.field, c.want, p[c.field])
	}
	// The default stack sets neither: the deployer refuses every API
	// source, and leaves target groups to the role's tag condition.
	defaults := render(synth(t, "default").one(t, "AWS::Lambda::Function", "Deployer").Properties)
	for _, name := range []string{contract.EnvAPIIDs, contract.EnvTargetGroups} {
		if v := get(defaults, "Environment", "Variables", name); v != nil {
			t.Errorf("default stack sets %s=%v", name, v)
		}
	}
	if s3key, _ := get(p, "Code", "S3Key").(string); !strings.HasSuffix(s3key, ".zip") {
		t.Errorf("code is not a zip asset: %v", p["Code"])
	}

	lg := tm.one(t, "AWS::Logs::LogGroup", "DeployerLogs").Properties
	diff(t, "log retention", float64(90), lg["RetentionInDays"])

	// The role has no managed policy (AWSLambdaBasicExecutionRole would
	// bring logs:* on "*").
	role := tm.one(t, "AWS::IAM::Role", "DeployerRole").Properties
	if mp, ok := role["ManagedPolicyArns"]; ok {
		t.Errorf("deployer role has managed policies: %v", render(mp))
	}
	diff(t, "trust", "lambda.amazonaws.com",
		get(get(role, "AssumeRolePolicyDocument", "Statement").([]any)[0], "Principal", "Service"))
}

func TestAsyncInvokeConfig(t *testing.T) {
	tm := synth(t, "default")
	c := render(tm.one(t, "AWS::Lambda::EventInvokeConfig", "Deployer").Properties)
	diff(t, "event invoke config", map[string]any{
		"FunctionName":             "${Deployer}",
		"Qualifier":                "$LATEST",
		"MaximumRetryAttempts":     float64(2),
		"MaximumEventAgeInSeconds": float64(7200),
		"DestinationConfig":        map[string]any{"OnFailure": map[string]any{"Destination": "${FailedEvents.Arn}"}},
	}, c)

	q := tm.one(t, "AWS::SQS::Queue", "FailedEvents").Properties
	diff(t, "queue encryption", true, q["SqsManagedSseEnabled"])
	diff(t, "queue retention", float64(14*24*3600), q["MessageRetentionPeriod"])
	qp := tm.one(t, "AWS::SQS::QueuePolicy", "FailedEvents").Properties
	if !strings.Contains(fmt.Sprint(qp), "aws:SecureTransport") {
		t.Errorf("failure queue policy does not enforce TLS: %v", qp)
	}
}

func TestAlarms(t *testing.T) {
	for _, variant := range []string{"default", "full"} {
		t.Run(variant, func(t *testing.T) {
			tm := synth(t, variant)
			alarms := map[string]any{}
			for id, a := range tm.ofType("AWS::CloudWatch::Alarm") {
				p := render(a.Properties).(map[string]any)
				alarms[cdkHash.ReplaceAllString(id, "")+" "+fmt.Sprint(p["Namespace"], "/", p["MetricName"])] = map[string]any{
					"Dimensions": p["Dimensions"], "Threshold": p["Threshold"], "Comparison": p["ComparisonOperator"],
					"Actions": p["AlarmActions"], "Statistic": p["Statistic"], "Period": p["Period"],
				}
			}
			common := func(dim, value, stat string) map[string]any {
				return map[string]any{
					"Dimensions": []any{map[string]any{"Name": dim, "Value": value}},
					"Threshold":  float64(1), "Comparison": "GreaterThanOrEqualToThreshold",
					"Actions": []any{"${Alarms}"}, "Statistic": stat, "Period": float64(300),
				}
			}
			conflicts := common("", "", "Sum")
			conflicts["Dimensions"] = nil
			diff(t, "alarms", map[string]any{
				"FailedEventsAlarm AWS/SQS/ApproximateNumberOfMessagesVisible": common("QueueName", "${FailedEvents.QueueName}", "Maximum"),
				"DeployerErrorsAlarm AWS/Lambda/Errors":                        common("FunctionName", "${Deployer}", "Sum"),
				"ConflictsAlarm Eventwire/DefinitionConflicts":                 conflicts,
				// Drift detection: the sweep's EMF metrics, per deployer
				// (its function name, as the deployer writes it), and
				// the checks given up on.
				"DriftAlarm Eventwire/DriftedFunctions":                            common("Deployer", "${Deployer}", "Sum"),
				"OrphansAlarm Eventwire/OrphanedResources":                         common("Deployer", "${Deployer}", "Sum"),
				"SweepDeadLettersAlarm AWS/SQS/ApproximateNumberOfMessagesVisible": common("QueueName", "${SweepDeadLetters.QueueName}", "Maximum"),
			}, alarms)
			// The conflicts metric counts the deployer's conflict log
			// lines (Lambda's JSON format: msg is "message").
			mf := tm.one(t, "AWS::Logs::MetricFilter", "ConflictsMetricFilter").Properties
			diff(t, "conflicts metric filter", map[string]any{
				"LogGroupName":          "${DeployerLogs}",
				"FilterPattern":         `{ $.message = "definition conflict" }`,
				"MetricTransformations": []any{map[string]any{"MetricNamespace": "Eventwire", "MetricName": "DefinitionConflicts", "MetricValue": "1"}},
			}, render(mf))

			var subs []any
			for _, s := range tm.ofType("AWS::SNS::Subscription") {
				subs = append(subs, render(s.Properties))
			}
			var want []any
			if variant == "full" {
				want = []any{map[string]any{"Protocol": "email", "Endpoint": "ops@example.com", "TopicArn": "${Alarms}"}}
			}
			diff(t, "alarm topic subscriptions", want, subs)
		})
	}
}

func TestDeploymentsTable(t *testing.T) {
	tm := synth(t, "default")
	tb := tm.one(t, "AWS::DynamoDB::Table", "Deployments")
	diff(t, "table", map[string]any{
		"AttributeDefinitions": []any{
			map[string]any{"AttributeName": "pk", "AttributeType": "S"},
			map[string]any{"AttributeName": "sk", "AttributeType": "S"},
		},
		"KeySchema": []any{
			map[string]any{"AttributeName": "pk", "KeyType": "HASH"},
			map[string]any{"AttributeName": "sk", "KeyType": "RANGE"},
		},
		"BillingMode":                      "PAY_PER_REQUEST",
		"PointInTimeRecoverySpecification": map[string]any{"PointInTimeRecoveryEnabled": true},
		// SSEEnabled without a key: KMS with the AWS managed key.
		"SSESpecification":        map[string]any{"SSEEnabled": true},
		"TimeToLiveSpecification": map[string]any{"AttributeName": "expires_at", "Enabled": true},
	}, tb.Properties)
	diff(t, "deletion policy", "Retain", tb.DeletionPolicy)
}

func TestOutputs(t *testing.T) {
	tm := synth(t, "default")
	got := map[string]any{}
	for name, o := range tm.Outputs {
		got[name] = render(get(o, "Value"))
	}
	diff(t, "outputs", map[string]any{
		"FunctionName":             "${Deployer}",
		"FunctionArn":              deployer,
		"BucketName":               "${Definitions}",
		"TableName":                "${Deployments}",
		"LogGroupName":             "${DeployerLogs}",
		"FailedEventsQueueUrl":     "${FailedEvents}",
		"FailedEventsQueueArn":     "${FailedEvents.Arn}",
		"AlarmTopicArn":            "${Alarms}",
		"SweepQueueUrl":            "${SweepQueue}",
		"SweepDeadLettersQueueUrl": "${SweepDeadLetters}",
	}, got)
}

func TestCodeCommitTrigger(t *testing.T) {
	t.Run("absent by default", func(t *testing.T) {
		tm := synth(t, "default")
		for id := range tm.ofType("AWS::Events::Rule") {
			if strings.HasPrefix(id, "CodeCommitPush") {
				t.Errorf("rule %s without a repository", id)
			}
		}
	})
	t.Run("configured", func(t *testing.T) {
		tm := synth(t, "full")
		rule := render(tm.one(t, "AWS::Events::Rule", "CodeCommitPush").Properties).(map[string]any)
		diff(t, "event pattern", map[string]any{
			"source":      []any{"aws.codecommit"},
			"detail-type": []any{"CodeCommit Repository State Change"},
			"resources":   []any{repoArn},
			"detail": map[string]any{
				"event":         []any{"referenceCreated", "referenceUpdated"},
				"referenceType": []any{"branch"},
				"referenceName": []any{"main", "release"},
			},
		}, rule["EventPattern"])
		targets := rule["Targets"].([]any)
		if len(targets) != 1 {
			t.Fatalf("want one target, got %v", targets)
		}
		target := targets[0].(map[string]any)
		diff(t, "target", deployer, target["Arn"])
		// A push EventBridge cannot deliver is kept in the failure queue,
		// which lets this rule (and only it) send there.
		diff(t, "target dead-letter queue", map[string]any{"Arn": "${FailedEvents.Arn}"}, target["DeadLetterConfig"])
		diff(t, "failure queue policy", []any{failedEventsSend("${CodeCommitPush.Arn}"), failedEventsSend("${DriftSchedule.Arn}")},
			failedEventsSenders(t, tm))
		// The event is delivered as EventBridge emits it (the deployer
		// reads CodeCommit state changes directly): no transformation.
		for _, k := range []string{"Input", "InputPath", "InputTransformer"} {
			if v, ok := target[k]; ok {
				t.Errorf("target has %s %v; want the event as is", k, v)
			}
		}

		diff(t, "EventBridge's permissions", []string{"${CodeCommitPush.Arn}", "${DriftSchedule.Arn}"}, eventsInvokers(tm))
	})
}

func TestPipelinePermissions(t *testing.T) {
	collect := func(tm template) []any {
		var got []any
		for _, p := range tm.ofType("AWS::Lambda::Permission") {
			pr := p.Properties["Principal"]
			if pr == "s3.amazonaws.com" || pr == "events.amazonaws.com" {
				continue
			}
			got = append(got, render(p.Properties))
		}
		sort.Slice(got, func(i, j int) bool { return fmt.Sprint(got[i]) < fmt.Sprint(got[j]) })
		return got
	}
	diff(t, "default: no pipeline permission", []any(nil), collect(synth(t, "default")))
	// One role, no account-wide grant (pipelineAccount is gone).
	diff(t, "pipeline permissions", []any{
		map[string]any{"Action": "lambda:InvokeFunction", "FunctionName": deployer, "Principal": "arn:aws:iam::111122223333:role/pipeline-invoke"},
	}, collect(synth(t, "full")))
}

// statement is a policy statement with intrinsics rendered.
type statement struct {
	Sid        string
	Effect     string
	Actions    []string
	Resources  []string
	Conditions any
}

// policies returns every statement of every identity policy of the
// template, keyed by the policy's logical id.
func policies(tm template) map[string][]statement {
	out := map[string][]statement{}
	add := func(id string, doc any) {
		for _, s := range get(doc, "Statement").([]any) {
			m := s.(map[string]any)
			sid, _ := m["Sid"].(string)
			eff, _ := m["Effect"].(string)
			out[id] = append(out[id], statement{
				Sid: sid, Effect: eff, Actions: strs(m["Action"]), Resources: strs(m["Resource"]),
				Conditions: render(m["Condition"]),
			})
		}
	}
	for id, r := range tm.Resources {
		switch r.Type {
		case "AWS::IAM::Policy", "AWS::IAM::ManagedPolicy":
			add(id, r.Properties["PolicyDocument"])
		case "AWS::IAM::Role":
			if inline, ok := r.Properties["Policies"].([]any); ok {
				for _, p := range inline {
					add(id, get(p, "PolicyDocument"))
				}
			}
		}
	}
	return out
}

// TestIAM_NoWildcardActions: no Allow statement anywhere in the template
// (identity or resource policy) names a wildcard action.
func TestIAM_NoWildcardActions(t *testing.T) {
	for _, variant := range []string{"default", "full"} {
		t.Run(variant, func(t *testing.T) {
			tm := synth(t, variant)
			for id, sts := range policies(tm) {
				for _, s := range sts {
					for _, a := range s.Actions {
						if strings.Contains(a, "*") {
							t.Errorf("%s: statement %q allows wildcard action %q", id, s.Sid, a)
						}
					}
				}
			}
			// Resource policies: only Deny statements (TLS enforcement) may
			// use a wildcard action.
			for id, r := range tm.Resources {
				doc, ok := r.Properties["PolicyDocument"]
				if !ok || strings.HasPrefix(r.Type, "AWS::IAM::") {
					continue
				}
				for _, s := range get(doc, "Statement").([]any) {
					if get(s, "Effect") == "Deny" {
						continue
					}
					for _, a := range strs(get(s, "Action")) {
						if strings.Contains(a, "*") {
							t.Errorf("%s (%s): Allow statement with wildcard action %q", id, r.Type, a)
						}
					}
				}
			}
		})
	}
}

// TestIAM_DeployerPolicy asserts the deployer role's policy statement by
// statement: actions, resources and conditions, for every function of the
// account (allowAllFunctions), the one required setting (a prefix: target
// groups by tag, no API), and every option.
func TestIAM_DeployerPolicy(t *testing.T) {
	tagged := map[string]any{"StringEquals": map[string]any{"aws:ResourceTag/eventwire:allowed": "true"}}
	for _, c := range []struct {
		variant string
		fnGlob  string
		full    bool
	}{
		{"all", fnArn + "*", false},
		{"default", fnArn + "orders-*", false},
		{"full", fnArn + "orders-*", true},
	} {
		t.Run(c.variant, func(t *testing.T) {
			tm := synth(t, c.variant)
			var role string
			for id, r := range tm.ofType("AWS::IAM::Policy") {
				if strings.HasPrefix(id, "DeployerRoleDefaultPolicy") {
					role = id
					diff(t, "attached to", []string{"${DeployerRole}"}, strs(r.Properties["Roles"]))
				}
			}
			if role == "" {
				t.Fatal("no default policy on the deployer role")
			}
			fnCond := map[string]any{"ArnLike": map[string]any{"lambda:FunctionArn": c.fnGlob}}
			want := []statement{
				// Added by CDK: the log group grant and the on-failure
				// destination, each on its one resource.
				{"", "Allow", []string{"logs:CreateLogStream", "logs:PutLogEvents"}, []string{"${DeployerLogs.Arn}"}, nil},
				{"", "Allow", []string{"sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:SendMessage"}, []string{"${FailedEvents.Arn}"}, nil},

				{"ReadTargetFunctions", "Allow", []string{"lambda:GetFunctionConfiguration", "lambda:GetPolicy", "lambda:ListAliases"}, []string{c.fnGlob}, nil},
				{"ManagePushPermissions", "Allow", []string{"lambda:AddPermission", "lambda:RemovePermission"}, []string{c.fnGlob},
					map[string]any{"StringEquals": map[string]any{"lambda:Principal": []any{"elasticloadbalancing.amazonaws.com", "apigateway.amazonaws.com"}}}},
				{"CreateMappings", "Allow", []string{"lambda:CreateEventSourceMapping"}, []string{"*"}, fnCond},
				{"ManageMappings", "Allow", []string{"lambda:DeleteEventSourceMapping", "lambda:GetEventSourceMapping", "lambda:UpdateEventSourceMapping"}, []string{esmArn}, fnCond},
				{"ListMappings", "Allow", []string{"lambda:ListEventSourceMappings"}, []string{"*"}, nil},
				{"TagMappings", "Allow", []string{"lambda:ListTags", "lambda:TagResource", "lambda:UntagResource"}, []string{esmArn}, nil},
			}
			if c.full {
				api := func(path string) []string {
					return []string{"arn:${AWS::Partition}:apigateway:${AWS::Region}::/apis/a1b2c3d4e5/" + path, "arn:${AWS::Partition}:apigateway:${AWS::Region}::/apis/f6g7h8i9j0/" + path}
				}
				want = append(want,
					statement{"ReadHttpApis", "Allow", []string{"apigateway:GET"}, strs(toAny(concat(api("routes"), api("routes/*"), api("integrations"), api("integrations/*"), api("stages")))), nil},
					statement{"WireHttpApiRoutes", "Allow", []string{"apigateway:PATCH"}, api("routes/*"), nil},
					statement{"CreateHttpApiIntegrations", "Allow", []string{"apigateway:POST"}, api("integrations"), nil},
					statement{"DeleteHttpApiIntegrations", "Allow", []string{"apigateway:DELETE"}, api("integrations/*"), nil})
			}
			want = append(want, statement{"DescribeTargetGroups", "Allow", []string{"elasticloadbalancing:DescribeTargetGroups", "elasticloadbalancing:DescribeTargetHealth"}, []string{"*"}, nil})
			if c.full {
				want = append(want, statement{"RegisterLambdaTargets", "Allow", []string{"elasticloadbalancing:DeregisterTargets", "elasticloadbalancing:RegisterTargets"},
					[]string{"arn:aws:elasticloadbalancing:*:123456789012:targetgroup/orders/*"}, nil})
			} else {
				want = append(want, statement{"RegisterLambdaTargets", "Allow", []string{"elasticloadbalancing:DeregisterTargets", "elasticloadbalancing:RegisterTargets"}, []string{tgArn}, tagged})
			}
			want = append(want,
				statement{"ReadDefinitions", "Allow", []string{"s3:GetObject", "s3:GetObjectVersion"}, []string{defBucket + "/*"}, nil},
				statement{"ListDefinitions", "Allow", []string{"s3:ListBucket", "s3:ListBucketVersions"}, []string{defBucket}, nil},
				statement{"DeploymentRecords", "Allow", []string{"dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem"}, []string{"${Deployments.Arn}"}, nil},
				statement{"AnswerPipelineJobs", "Allow", []string{"codepipeline:GetJobDetails", "codepipeline:PutJobFailureResult", "codepipeline:PutJobSuccessResult"}, []string{"*"}, nil})
			if c.full {
				want = append(want, statement{"ReadRepository", "Allow", []string{"codecommit:GetBranch", "codecommit:GetCommit", "codecommit:GetDifferences", "codecommit:GetFile"}, []string{repoArn}, nil})
			}
			want = append(want,
				// Added by CDK's SqsEventSource: the mapping's calls on the
				// sweep queue, on its ARN only.
				statement{"", "Allow", []string{"sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:ReceiveMessage"}, []string{"${SweepQueue.Arn}"}, nil},
				statement{"EnqueueSweepChecks", "Allow", []string{"sqs:SendMessage"}, []string{"${SweepQueue.Arn}"}, nil},
			)
			diff(t, "deployer policy", want, policies(tm)[role])
		})
	}
}

func toAny(list []string) []any {
	out := make([]any, len(list))
	for i, s := range list {
		out[i] = s
	}
	return out
}

// TestIAM_SelfGuard: the deployer may not change its own permissions or
// mappings, even when functionNamePrefix matches its name.
func TestIAM_SelfGuard(t *testing.T) {
	tm := synth(t, "default")
	var guard string
	for id := range tm.ofType("AWS::IAM::Policy") {
		if strings.HasPrefix(id, "DeployerSelfGuard") {
			guard = id
		}
	}
	if guard == "" {
		t.Fatal("no DeployerSelfGuard policy")
	}
	diff(t, "attached to", []string{"${DeployerRole}"}, strs(tm.Resources[guard].Properties["Roles"]))
	self := []any{deployer, deployer + ":*"}
	diff(t, "guard statements", []statement{
		{"DenyOwnPermissions", "Deny", []string{"lambda:AddPermission", "lambda:RemovePermission"}, []string{deployer, deployer + ":*"}, nil},
		{"DenyOwnMappings", "Deny", []string{"lambda:CreateEventSourceMapping", "lambda:DeleteEventSourceMapping", "lambda:UpdateEventSourceMapping"}, []string{"*"},
			map[string]any{"ArnLike": map[string]any{"lambda:FunctionArn": self}}},
	}, policies(tm)[guard])
	// The function must not wait for the guard (which names it): no cycle.
	for _, dep := range tm.one(t, "AWS::Lambda::Function", "Deployer").DependsOn {
		if dep == guard {
			t.Errorf("the deployer function depends on %s, which references it", guard)
		}
	}
}

// TestIAM_ResourceStarOnlyWhereRequired: Resource "*" appears only in the
// statements whose actions support no resource type (each commented in
// iam.go), in every identity policy of the template.
func TestIAM_ResourceStarOnlyWhereRequired(t *testing.T) {
	allowed := map[string]bool{
		"CreateMappings":       true, // condition lambda:FunctionArn instead
		"ListMappings":         true,
		"DescribeTargetGroups": true,
		"AnswerPipelineJobs":   true,
	}
	for _, variant := range []string{"default", "full"} {
		t.Run(variant, func(t *testing.T) {
			for id, sts := range policies(synth(t, variant)) {
				for _, s := range sts {
					if s.Effect != "Allow" {
						continue // a Deny on "*" only narrows
					}
					for _, r := range s.Resources {
						if r == "*" && !allowed[s.Sid] {
							t.Errorf("%s: statement %q %v on Resource \"*\"", id, s.Sid, s.Actions)
						}
					}
				}
			}
		})
	}
}

func TestStringList(t *testing.T) {
	for _, c := range []struct {
		in   any
		want []string
	}{
		{nil, nil},
		{"", nil},
		{"main", []string{"main"}},
		{"main, release ,", []string{"main", "release"}},
		{`["main","release"]`, []string{"main", "release"}},
		{[]any{"main", " dev "}, []string{"main", "dev"}},
	} {
		t.Run(fmt.Sprint(c.in), func(t *testing.T) {
			diff(t, "branches", c.want, stringList(c.in))
		})
	}
}

// TestIAM_NoManagedPolicies: no role of the stack has a managed policy
// (AWS managed policies such as AWSLambdaBasicExecutionRole, which CDK
// attaches to its custom resources' roles, grant on Resource "*").
func TestIAM_NoManagedPolicies(t *testing.T) {
	for _, variant := range []string{"default", "full"} {
		t.Run(variant, func(t *testing.T) {
			tm := synth(t, variant)
			for id, r := range tm.ofType("AWS::IAM::Role") {
				if mp, ok := r.Properties["ManagedPolicyArns"]; ok {
					t.Errorf("role %s has managed policies: %v", id, render(mp))
				}
			}
			diff(t, "managed policies", 0, len(tm.ofType("AWS::IAM::ManagedPolicy")))
		})
	}
}

// TestNotificationsHandlerRole: CDK's bucket-notifications custom resource
// runs with a role that may configure this bucket's notifications and
// write its own logs, nothing else.
func TestNotificationsHandlerRole(t *testing.T) {
	tm := synth(t, "default")
	var handlers []string
	for id, r := range tm.ofType("AWS::Lambda::Function") {
		if strings.HasPrefix(id, "BucketNotificationsHandler") {
			handlers = append(handlers, id)
			diff(t, "handler role", "${NotificationsHandlerRole.Arn}", render(r.Properties["Role"]))
		}
	}
	diff(t, "notification handlers", 1, len(handlers))

	var got []statement
	for id, sts := range policies(tm) {
		r := tm.Resources[id]
		if r.Type == "AWS::IAM::Policy" && contains(strs(r.Properties["Roles"]), "${NotificationsHandlerRole}") {
			got = append(got, sts...)
		}
	}
	sort.Slice(got, func(i, j int) bool { return got[i].Sid < got[j].Sid })
	logGroups := "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:/aws/lambda/${AWS::StackName}-*"
	diff(t, "handler role statements", []statement{
		{"", "Allow", []string{"s3:PutBucketNotification"}, []string{defBucket}, nil},
		{"HandlerLogGroup", "Allow", []string{"logs:CreateLogGroup"}, []string{logGroups}, nil},
		{"HandlerLogs", "Allow", []string{"logs:CreateLogStream", "logs:PutLogEvents"}, []string{logGroups + ":*"}, nil},
	}, got)
}

func TestScalar(t *testing.T) {
	for _, c := range []struct {
		in   any
		want string
	}{
		{nil, ""},
		{" orders- ", "orders-"},
		{float64(123456789012), "123456789012"}, // a number in cdk.json
		{float64(1.5), "1.5"},
		{true, "true"},
	} {
		t.Run(fmt.Sprint(c.in), func(t *testing.T) {
			diff(t, "scalar", c.want, scalar(c.in))
		})
	}
}

func TestSettingsProblems(t *testing.T) {
	valid := settings{
		functionNamePrefix: "orders-", notificationEmail: "ops@example.com",
		repository: "definitions", branches: []string{"main"},
		pipelineRoleArn:    "arn:aws:iam::111122223333:role/service-role/pipeline-invoke",
		targetGroupArns:    []string{"arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/orders-*/*"},
		apiIDs:             []string{"a1b2c3d4e5"},
		definitionWriters:  []string{"arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Platform_*"},
		keyPrefixFunctions: map[string]string{"team-a/": "orders-a-"},
		keys:               []string{"@aws-cdk/core:checkSecretUsage", "aws:cdk:enable-path-metadata", "acknowledged-issue-numbers", contract.CtxFunctionNamePrefix},
	}
	for _, c := range []struct {
		name string
		edit func(*settings)
		want []string
	}{
		{"valid", func(*settings) {}, nil},
		{"every function, explicitly", func(s *settings) { *s = settings{allowAllFunctions: true} }, nil},
		{"no prefix", func(s *settings) { *s = settings{} }, []string{
			"context parameter functionNamePrefix is required: the name prefix of the functions this deployer may wire (-c functionNamePrefix=shop-); " +
				"to let it wire every function of the account and region, including other stacks' and CDK's own, pass -c allowAllFunctions=true instead"}},
		{"prefix and every function", func(s *settings) { s.allowAllFunctions = true },
			[]string{"context parameters functionNamePrefix and allowAllFunctions contradict each other: pass one"}},
		{"prefix with an IAM wildcard", func(s *settings) { s.functionNamePrefix = "orders-*" },
			[]string{`context parameter functionNamePrefix: "orders-*" is not a function name prefix (letters, digits, - and _, up to 63 characters)`,
				`context parameter keyPrefixFunctions: "team-a/" maps to "orders-a-", which does not start with functionNamePrefix "orders-*": the deployer may not wire those functions at all`}},
		{"prefix that is an ARN", func(s *settings) {
			s.functionNamePrefix = "arn:aws:lambda:us-east-1:1:function:x"
			s.keyPrefixFunctions = nil
		},
			[]string{`context parameter functionNamePrefix: "arn:aws:lambda:us-east-1:1:function:x" is not a function name prefix (letters, digits, - and _, up to 63 characters)`}},
		{"email", func(s *settings) { s.notificationEmail = "ops" },
			[]string{`context parameter notificationEmail: "ops" is not an email address`}},
		{"repository", func(s *settings) { s.repository = "arn:aws:codecommit:us-east-1:1:definitions" },
			[]string{`context parameter codeCommitRepository: "arn:aws:codecommit:us-east-1:1:definitions" is not a CodeCommit repository name (letters, digits, ., - and _, up to 100 characters)`}},
		{"branches without a repository", func(s *settings) { s.repository = "" },
			[]string{"context parameter codeCommitBranches is set without codeCommitRepository: there is no repository to trigger on"}},
		{"a repository without branches", func(s *settings) { s.branches = nil },
			[]string{"context parameter codeCommitBranches is required with codeCommitRepository: the branches whose pushes deploy (a push to any other branch is ignored), e.g. -c codeCommitBranches=main"}},
		{"a branch pattern", func(s *settings) { s.branches = []string{"release/*"} },
			[]string{`context parameter codeCommitBranches: "release/*" is not a branch name (no spaces or wildcards)`}},
		{"role name instead of ARN", func(s *settings) { s.pipelineRoleArn = "pipeline-invoke" },
			[]string{`context parameter pipelineRoleArn: "pipeline-invoke" is not an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)`}},
		{"target group name", func(s *settings) { s.targetGroupArns = []string{"orders-tg"} },
			[]string{`context parameter targetGroupArns: "orders-tg" is not a target group ARN (arn:aws:elasticloadbalancing:REGION:ACCOUNT:targetgroup/NAME/ID, * and ? allowed)`}},
		{"load balancer ARN", func(s *settings) {
			s.targetGroupArns = []string{"arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/x/1"}
		}, []string{`context parameter targetGroupArns: "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/x/1" is not a target group ARN (arn:aws:elasticloadbalancing:REGION:ACCOUNT:targetgroup/NAME/ID, * and ? allowed)`}},
		{"Kafka host without a port", func(s *settings) { s.allowed.KafkaHosts = []string{"kafka.internal"} },
			[]string{`context parameters allowedAccounts, allowedRegions, allowedBuckets, kafkaHosts: kafka hosts: "kafka.internal" is not HOST:PORT (a name, *.DOMAIN or *; a port or *)`}},
		{"api id pattern", func(s *settings) { s.apiIDs = []string{"a1b2*"} },
			[]string{`context parameter apiIds: "a1b2*" is not an HTTP API id (10 lower-case letters and digits) or "*"`}},
		{"every api", func(s *settings) { s.apiIDs = []string{"*"} }, nil},
		{"writer in no account", func(s *settings) { s.definitionWriters = []string{"arn:aws:iam::*:role/ci"} },
			[]string{`context parameter definitionWriters: "arn:aws:iam::*:role/ci" is not an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME, * and ? allowed in the name)`}},
		{"key prefix without its slash", func(s *settings) { s.keyPrefixFunctions = map[string]string{"team-a": "orders-a-"} },
			[]string{`context parameter keyPrefixFunctions: key prefix "team-a" is not a folder of the bucket (no leading /, no wildcards, ending in /)`}},
		{"key prefix to a pattern", func(s *settings) { s.keyPrefixFunctions = map[string]string{"team-a/": "orders-a-*"} },
			[]string{`context parameter keyPrefixFunctions: "team-a/" maps to "orders-a-*", which is not a function name prefix (letters, digits, - and _, up to 63 characters)`}},
		{"key prefix outside the prefix", func(s *settings) { s.keyPrefixFunctions = map[string]string{"team-a/": "billing-"} },
			[]string{`context parameter keyPrefixFunctions: "team-a/" maps to "billing-", which does not start with functionNamePrefix "orders-": the deployer may not wire those functions at all`}},
		{"misspelt key", func(s *settings) { s.keys = append(s.keys, "functionNamePrefx", "codeCommitBranch") }, []string{
			"unknown context parameter codeCommitBranch (did you mean codeCommitBranches?); the parameters are listed in docs/deploy.md, Settings",
			"unknown context parameter functionNamePrefx (did you mean functionNamePrefix?); the parameters are listed in docs/deploy.md, Settings"}},
		{"unknown key", func(s *settings) { s.keys = append(s.keys, "region") },
			[]string{"unknown context parameter region; the parameters are listed in docs/deploy.md, Settings"}},
		{"removed key", func(s *settings) { s.keys = append(s.keys, "pipelineAccount") }, []string{
			"context parameter pipelineAccount was removed: it let any principal of an account invoke the deployer; name the pipeline's role with pipelineRoleArn instead (a role of another account works)"}},
		{"malformed", func(s *settings) {
			s.malformed = []string{"context parameter allowTakeover: \"yes\" is neither true nor false"}
		},
			[]string{"context parameter allowTakeover: \"yes\" is neither true nor false"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := valid
			c.edit(&s)
			sort.Strings(s.keys)
			diff(t, "problems", c.want, s.problems())
		})
	}
}

// TestReadSettings reads the values as cdk -c gives them (strings) and as
// cdk.json does (JSON values).
func TestReadSettings(t *testing.T) {
	for _, c := range []struct {
		name string
		ctx  map[string]any
		want settings
	}{
		{"strings", map[string]any{
			contract.CtxFunctionNamePrefix: "orders-", contract.CtxAllowTakeover: "true", contract.CtxAPIIDs: "a1b2c3d4e5, f6g7h8i9j0",
			contract.CtxKeyPrefixFunctions: `{"team-a/":"orders-a-"}`, "functionNamePrefx": "x",
			contract.CtxDriftSchedule: "rate(6 hours)", contract.CtxDriftHeal: "true", contract.CtxSweepShare: "0.25", contract.CtxSweepConcurrency: "5",
		}, settings{
			functionNamePrefix: "orders-", allowTakeover: true, apiIDs: []string{"a1b2c3d4e5", "f6g7h8i9j0"},
			keyPrefixFunctions: map[string]string{"team-a/": "orders-a-"},
			sweep:              sweepSettings{schedule: "rate(6 hours)", heal: true, share: "0.25", concurrency: "5"},
			keys: []string{contract.CtxAllowTakeover, contract.CtxAPIIDs, contract.CtxDriftHeal, contract.CtxDriftSchedule, contract.CtxFunctionNamePrefix, "functionNamePrefx",
				contract.CtxKeyPrefixFunctions, contract.CtxSweepConcurrency, contract.CtxSweepShare},
		}},
		{"JSON values", map[string]any{
			contract.CtxAllowAllFunctions: true, contract.CtxDefinitionWriters: []any{"arn:aws:iam::123456789012:role/ci"},
			contract.CtxKeyPrefixFunctions: map[string]any{"team-a/": "orders-a-"},
			contract.CtxDriftHeal:          true, contract.CtxSweepShare: 0.25, contract.CtxSweepConcurrency: float64(5),
		}, settings{
			allowAllFunctions: true, definitionWriters: []string{"arn:aws:iam::123456789012:role/ci"},
			keyPrefixFunctions: map[string]string{"team-a/": "orders-a-"},
			sweep:              sweepSettings{heal: true, share: "0.25", concurrency: "5"},
			keys:               []string{contract.CtxAllowAllFunctions, contract.CtxDefinitionWriters, contract.CtxDriftHeal, contract.CtxKeyPrefixFunctions, contract.CtxSweepConcurrency, contract.CtxSweepShare},
		}},
		{"malformed", map[string]any{contract.CtxAllowTakeover: "yes", contract.CtxKeyPrefixFunctions: `["team-a/"]`, contract.CtxDriftHeal: "yes"}, settings{
			keys: []string{contract.CtxAllowTakeover, contract.CtxDriftHeal, contract.CtxKeyPrefixFunctions},
			malformed: []string{
				`context parameter allowTakeover: "yes" is neither true nor false`,
				`context parameter driftHeal: "yes" is neither true nor false`,
				"context parameter keyPrefixFunctions: not a JSON object of strings ({\"KEY-PREFIX/\": \"FUNCTION-PREFIX\"}): json: cannot unmarshal array into Go value of type map[string]interface {}",
			},
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx := map[string]any{}
			for k, v := range c.ctx {
				ctx[k] = v
			}
			stack := awscdk.NewStack(awscdk.NewApp(&awscdk.AppProps{Context: &ctx}), jsii.String("Read"), nil)
			got := readSettings(stack)
			// The app adds CDK's own keys; the settings keep them all.
			var keys []string
			for _, k := range got.keys {
				if _, ok := c.ctx[k]; ok {
					keys = append(keys, k)
				}
			}
			got.keys = keys
			diff(t, "settings", c.want, got, cmp.AllowUnexported(settings{}, sweepSettings{}))
		})
	}
}

// TestStackName: the stack's name is a context parameter, Eventwire by
// default.
func TestStackName(t *testing.T) {
	for _, c := range []struct {
		ctx     map[string]any
		want    string
		wantErr string
	}{
		{map[string]any{}, "Eventwire", ""},
		{map[string]any{contract.CtxStackName: "Eventwire-team-a"}, "Eventwire-team-a", ""},
		{map[string]any{contract.CtxStackName: "team a"}, "", `context parameter stackName: "team a" is not a CloudFormation stack name (a letter, then letters, digits and -, up to 128 characters)`},
	} {
		t.Run(fmt.Sprint(c.ctx), func(t *testing.T) {
			got, err := StackName(awscdk.NewApp(&awscdk.AppProps{Context: &c.ctx}))
			diff(t, "name", c.want, got)
			if fmt.Sprint(err) != c.wantErr && !(err == nil && c.wantErr == "") {
				t.Errorf("err = %v, want %s", err, c.wantErr)
			}
		})
	}
}

// TestInvalidContextFailsSynthesis: a problem is an error annotation on the
// stack, and synthesis (cdk synth, cdk deploy, go run ./infra) stops on it:
// an invalid value, a misspelt key (which would otherwise deploy without
// its scope), no prefix.
func TestInvalidContextFailsSynthesis(t *testing.T) {
	for _, c := range []struct {
		name string
		ctx  map[string]any
		want []any
	}{
		{"invalid prefix", map[string]any{contract.CtxFunctionNamePrefix: "orders-*"}, []any{
			`context parameter functionNamePrefix: "orders-*" is not a function name prefix (letters, digits, - and _, up to 63 characters)`,
		}},
		{"misspelt prefix", map[string]any{"functionNamePrefx": "orders-"}, []any{
			"unknown context parameter functionNamePrefx (did you mean functionNamePrefix?); the parameters are listed in docs/deploy.md, Settings",
			"context parameter functionNamePrefix is required: the name prefix of the functions this deployer may wire (-c functionNamePrefix=shop-); " +
				"to let it wire every function of the account and region, including other stacks' and CDK's own, pass -c allowAllFunctions=true instead",
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx, err := cdkJSONContext()
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range c.ctx {
				ctx[k] = v
			}
			app := awscdk.NewApp(&awscdk.AppProps{Context: &ctx})
			stack := NewDeployerStack(app, "Invalid", &DeployerStackProps{CodePath: stubDir})
			var errs []any
			for _, m := range *stack.Node().Metadata() {
				if *m.Type == "aws:cdk:error" {
					errs = append(errs, m.Data)
				}
			}
			diff(t, "error annotations", c.want, errs)

			defer func() {
				if recover() == nil {
					t.Error("the stack synthesized despite an error annotation")
				}
			}()
			app.Synth(nil)
		})
	}
}

// TestBucketPolicy_DefinitionWriters: with definitionWriters, the bucket
// policy denies writing and deleting definition files to every other
// principal (the deployer's role and CDK's bootstrap roles exempt);
// without, it has no such statement.
func TestBucketPolicy_DefinitionWriters(t *testing.T) {
	find := func(tm template) []any {
		var out []any
		for _, st := range get(tm.one(t, "AWS::S3::BucketPolicy", "DefinitionsPolicy").Properties, "PolicyDocument", "Statement").([]any) {
			if get(st, "Sid") == "OnlyDefinitionWritersWrite" {
				out = append(out, render(st))
			}
		}
		return out
	}
	diff(t, "default: no writer restriction", []any(nil), find(synth(t, "default")))
	diff(t, "writers", []any{map[string]any{
		"Sid": "OnlyDefinitionWritersWrite", "Effect": "Deny", "Principal": map[string]any{"AWS": "*"},
		"Action":   []any{"s3:DeleteObject", "s3:DeleteObjectVersion", "s3:PutObject", "s3:PutObjectAcl", "s3:PutObjectVersionAcl", "s3:ReplicateDelete", "s3:ReplicateObject"},
		"Resource": defBucket + "/*",
		"Condition": map[string]any{"ArnNotLike": map[string]any{"aws:PrincipalArn": []any{
			"arn:aws:iam::123456789012:role/ci-definitions",
			"arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Platform_*",
			"${DeployerRole.Arn}",
			"arn:${AWS::Partition}:iam::${AWS::AccountId}:role/cdk-hnb659fds-*",
		}}},
	}}, find(synth(t, "full")))
}
