package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/google/go-cmp/cmp"

	"github.com/eventwire/eventwire/internal/definition"
)

// foreignFile names a stream of the caller's account (moto's 123456789012,
// us-east-1) whose failed records go to a queue of another account, and a
// self-managed Kafka cluster.
const foreignFile = `{"FunctionName": "orders", "PullEventSources": {"EventSourceMapping": [
  {"EventSourceArn": "arn:aws:kinesis:us-east-1:123456789012:stream/clicks", "StartingPosition": "LATEST",
   "DestinationConfig": {"OnFailure": {"Destination": "arn:aws:sqs:us-east-1:210987654321:exfiltrate"}}},
  {"SelfManagedEventSource": {"Endpoints": {"KAFKA_BOOTSTRAP_SERVERS": ["kafka.example.com:9092"]}},
   "Topics": ["audit"], "StartingPosition": "LATEST"}]}}`

// The errors foreignFile has, at positions found without the parser.
var (
	foreignAccountErr = "orders/_lambdaeventsourcedef.json:" + posOf(`"arn:aws:sqs:us-east-1:210987654321`) +
		": PullEventSources.EventSourceMapping[0].DestinationConfig.OnFailure.Destination: account 210987654321 is not an allowed account (allowed: %s)"
	kafkaHostErr = "orders/_lambdaeventsourcedef.json:" + posOf(`"kafka.example.com:9092"`) +
		": PullEventSources.EventSourceMapping[1].SelfManagedEventSource.Endpoints.KAFKA_BOOTSTRAP_SERVERS[0]: Kafka host kafka.example.com:9092 is not an allowed host (allowed: %s)"
)

// posOf is the line:column of needle in foreignFile.
func posOf(needle string) string {
	i := strings.Index(foreignFile, needle)
	return fmt.Sprintf("%d:%d", strings.Count(foreignFile[:i], "\n")+1, i-strings.LastIndex(foreignFile[:i], "\n"))
}

// validateIn runs validate on dir's files from inside dir (where a
// .eventwire.json is looked for), with no AWS.
func validateIn(t *testing.T, dir string, args ...string) (int, []string, string) {
	t.Helper()
	t.Chdir(dir)
	code, stdout, stderr := runCLI(append(append([]string{"validate"}, args...), ".")...)
	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	return code, lines, stderr
}

func TestValidate_Allowlists(t *testing.T) {
	tests := []struct {
		name   string
		config string // .eventwire.json, if any
		args   []string
		code   int
		want   []string // stdout lines
	}{
		{name: "none given: not checked (no AWS call to find the caller's own)", code: ExitOK,
			want: []string{"1 file checked, all valid"}},
		{name: "accounts by flag: buckets and hosts none", args: []string{"--allowed-accounts", "123456789012"}, code: ExitError,
			want: []string{fmt.Sprintf(foreignAccountErr, "123456789012"), fmt.Sprintf(kafkaHostErr, "none"), "1 file checked, 2 errors in 1 file"}},
		{name: "hosts by flag: accounts unchecked", args: []string{"--kafka-hosts", "*.example.com:9092"}, code: ExitOK,
			want: []string{"1 file checked, all valid"}},
		{name: "config file", config: `{"allowedAccounts": ["123456789012", "111122223333"], "kafkaHosts": ["kafka.example.com:*"]}`, code: ExitError,
			want: []string{fmt.Sprintf(foreignAccountErr, "123456789012, 111122223333"), "1 file checked, 1 error in 1 file"}},
		{name: "a flag wins over the file", config: `{"allowedAccounts": ["123456789012"], "kafkaHosts": ["kafka.example.com:*"]}`,
			args: []string{"--allowed-accounts", "123456789012,210987654321"}, code: ExitOK, want: []string{"1 file checked, all valid"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			write(t, filepath.Join(dir, "orders", "_lambdaeventsourcedef.json"), foreignFile)
			if tt.config != "" {
				write(t, filepath.Join(dir, ConfigFileName), tt.config)
			}
			code, got, stderr := validateIn(t, dir, tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tt.code, stderr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("stdout (-want +got):\n%s", diff)
			}
		})
	}
}

// pushFile wires orders to a target group and an HTTP API route.
const pushFile = `{"FunctionName": "orders", "PushEventSources": [
  {"Service": "elasticloadbalancing.amazonaws.com", "TargetGroupArn": "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/orders-tg/50dc6c495c0c9188"},
  {"Service": "apigateway.amazonaws.com", "ApiId": "a1b2c3d4e5", "RouteId": "r0ut3id"}]}`

// APIs and target groups are checked only when a flag or the config file
// lists them (the stack's apiIds and targetGroupArns), at the value's
// line:column.
func TestValidate_APIsAndTargetGroups(t *testing.T) {
	pos := func(needle string) string {
		i := strings.Index(pushFile, needle)
		return fmt.Sprintf("%d:%d", strings.Count(pushFile[:i], "\n")+1, i-strings.LastIndex(pushFile[:i], "\n"))
	}
	apiErr := "orders/_lambdaeventsourcedef.json:" + pos(`"a1b2c3d4e5"`) +
		": PushEventSources[1].ApiId: API a1b2c3d4e5 is not an allowed API (allowed: %s)"
	tgErr := "orders/_lambdaeventsourcedef.json:" + pos(`"arn:aws:elasticloadbalancing`) +
		": PushEventSources[0].TargetGroupArn: target group arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/orders-tg/50dc6c495c0c9188 is not an allowed target group (allowed: %s)"
	tests := []struct {
		name   string
		config string
		args   []string
		code   int
		want   []string
	}{
		{name: "none given: not checked", code: ExitOK, want: []string{"1 file checked, all valid"}},
		{name: "unlisted API by flag", args: []string{"--api-ids", "f6g7h8i9j0"}, code: ExitError,
			want: []string{fmt.Sprintf(apiErr, "f6g7h8i9j0"), "1 file checked, 1 error in 1 file"}},
		{name: "listed API and target group pattern by flags",
			args: []string{"--api-ids", "f6g7h8i9j0,a1b2c3d4e5", "--target-groups", "arn:aws:elasticloadbalancing:*:123456789012:targetgroup/orders-*/*"},
			code: ExitOK, want: []string{"1 file checked, all valid"}},
		{name: "config file keys", config: `{"apiIds": ["f6g7h8i9j0"], "targetGroupArns": ["arn:aws:elasticloadbalancing:*:123456789012:targetgroup/billing-*/*"]}`,
			code: ExitError, want: []string{
				fmt.Sprintf(tgErr, "arn:aws:elasticloadbalancing:*:123456789012:targetgroup/billing-*/*"),
				fmt.Sprintf(apiErr, "f6g7h8i9j0"), "1 file checked, 2 errors in 1 file"}},
		{name: "an empty list in the file allows none", config: `{"apiIds": []}`, code: ExitError,
			want: []string{"orders/_lambdaeventsourcedef.json:" + pos(`"a1b2c3d4e5"`) + ": PushEventSources[1].ApiId: " + definition.APIsNotEnabled,
				"1 file checked, 1 error in 1 file"}},
		{name: "a flag wins over the file", config: `{"apiIds": ["f6g7h8i9j0"]}`, args: []string{"--api-ids", "*"},
			code: ExitOK, want: []string{"1 file checked, all valid"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			write(t, filepath.Join(dir, "orders", "_lambdaeventsourcedef.json"), pushFile)
			if tt.config != "" {
				write(t, filepath.Join(dir, ConfigFileName), tt.config)
			}
			code, got, stderr := validateIn(t, dir, tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tt.code, stderr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("stdout (-want +got):\n%s", diff)
			}
		})
	}
}

func TestValidate_BadAllowlists(t *testing.T) {
	tests := []struct {
		name, config string
		args         []string
		want         string
	}{
		{"unknown key in the file", `{"allowedAcounts": ["123456789012"]}`, nil, `allowlist file .eventwire.json: json: unknown field "allowedAcounts"`},
		{"bad value", "", []string{"--kafka-hosts", "kafka.example.com"}, `allowlists: kafka hosts: "kafka.example.com" is not HOST:PORT`},
		{"missing --config file", "", []string{"--config", "nowhere.json"}, "read allowlist file: open nowhere.json"},
		{"bad target group", "", []string{"--target-groups", "orders-tg"}, `allowlists: target groups: "orders-tg" is not a target group ARN`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			write(t, filepath.Join(dir, "orders", "_lambdaeventsourcedef.json"), foreignFile)
			if tt.config != "" {
				write(t, filepath.Join(dir, ConfigFileName), tt.config)
			}
			code, _, stderr := validateIn(t, dir, tt.args...)
			if code != ExitError || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d, stderr %q; want 1 and %q", code, stderr, tt.want)
			}
		})
	}
}

// plan and apply default to the caller's account and region (moto's
// credentials: 123456789012, us-east-1): a foreign destination and a
// Kafka host are refused at their line:column, all at once, and nothing
// but STS GetCallerIdentity is sent to AWS.
func TestPlanApply_DefaultAllowlistsFromCredentials(t *testing.T) {
	for _, cmd := range [][]string{{"plan"}, {"apply", "--yes"}} {
		t.Run(cmd[0], func(t *testing.T) {
			w := newWorld(t)
			w.write(foreignFile)
			code, _, stderr := w.run(append(cmd, w.dir)...)
			if code != ExitError {
				t.Errorf("exit %d, want 1", code)
			}
			for _, want := range []string{fmt.Sprintf(foreignAccountErr, "123456789012"), fmt.Sprintf(kafkaHostErr, "none"), "1 file checked, 2 errors in 1 file"} {
				if !strings.Contains(stderr, want) {
					t.Errorf("stderr lacks %q:\n%s", want, stderr)
				}
			}
			if diff := cmp.Diff([]string{"STS.GetCallerIdentity"}, w.calls.All()); diff != "" {
				t.Errorf("AWS calls (-want +got):\n%s", diff)
			}
		})
	}
}

// With accounts and regions given, plan does not ask STS; the allowed
// ones are applied.
func TestPlan_GivenAllowlistsNeedNoSTS(t *testing.T) {
	w := newWorld(t)
	w.write(foreignFile)
	code, _, stderr := w.run("plan", "--allowed-accounts", "123456789012,210987654321", "--allowed-regions", "us-east-1",
		"--kafka-hosts", "*.example.com:9092", w.dir)
	// Valid now: planning fails on moto's missing stream, after the
	// allowlists passed.
	if strings.Contains(stderr, "not an allowed") {
		t.Errorf("exit %d, stderr:\n%s", code, stderr)
	}
	for _, c := range w.calls.All() {
		if strings.HasPrefix(c, "STS.") {
			t.Errorf("AWS calls include %s", c)
		}
	}
}

func write(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestPlan_NoRegion_SaysHowToSetIt: without a region every AWS call fails
// after its retries, whatever the allowlists say: plan stops before the
// first call, and says how to set one (not --allowed-regions, which names
// what files may point at, not where eventwire calls AWS).
func TestPlan_NoRegion_SaysHowToSetIt(t *testing.T) {
	for _, args := range [][]string{
		{"plan", filepath.Join("..", "..", "examples", "orders")},
		{"plan", "--allowed-regions", "us-east-1", "--allowed-accounts", "123456789012", filepath.Join("..", "..", "examples", "orders")},
	} {
		code, _, stderr := runWith(aws.Config{}, args...)
		if code != 1 || !strings.Contains(stderr, "no AWS region: set AWS_REGION") || strings.Contains(stderr, "--allowed-regions") {
			t.Errorf("%v: exit %d, stderr %q; want 1 and how to set a region", args, code, stderr)
		}
	}
}
