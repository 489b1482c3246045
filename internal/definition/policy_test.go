package definition

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/eventwire/eventwire/internal/contract"
	"github.com/google/go-cmp/cmp"
)

// testPolicy is a deployer's default: its own account and region, no
// bucket, no Kafka host, plus what a case adds.
var testPolicy = Policy{Accounts: []string{"123456789012"}, Regions: []string{"us-east-1"}}

// at is the line:column of the first occurrence of needle in doc, found
// independently of the parser.
func at(t *testing.T, doc, needle string) string {
	t.Helper()
	i := strings.Index(doc, needle)
	if i < 0 {
		t.Fatalf("%q not in the document", needle)
	}
	line := strings.Count(doc[:i], "\n") + 1
	col := i - strings.LastIndex(doc[:i], "\n")
	return fmt.Sprintf("%d:%d", line, col)
}

// policyErrors parses doc with p and returns its errors as
// "LINE:COL PATH: MSG".
func policyErrors(t *testing.T, p Policy, doc, sibling string) []string {
	t.Helper()
	var sib []byte
	if sibling != "" {
		sib = []byte(sibling)
	}
	_, err := p.Parse("f/"+contract.DefinitionFileName, []byte(doc), sib)
	if err == nil {
		return nil
	}
	var errs Errors
	if !errors.As(err, &errs) {
		t.Fatalf("error is %T, want Errors: %v", err, err)
	}
	var out []string
	for _, e := range errs {
		prefix := ""
		if e.File != "f/"+contract.DefinitionFileName {
			prefix = e.File + " "
		}
		out = append(out, fmt.Sprintf("%s%d:%d %s: %s", prefix, e.Line, e.Column, e.Path, e.Msg))
	}
	return out
}

func TestPolicy_Parse(t *testing.T) {
	const esm = "PullEventSources.EventSourceMapping"
	kinesis := func(arn, extra string) string {
		return `{"FunctionName": "orders", "PullEventSources": {"EventSourceMapping": {
  "EventSourceArn": "` + arn + `",
  "StartingPosition": "LATEST"` + extra + `}}}`
	}
	sqs := func(arn string) string {
		return `{"FunctionName": "orders", "PullEventSources": {"EventSourceMapping": {
  "EventSourceArn": "` + arn + `"}}}`
	}
	selfManaged := func(hosts string) string {
		return `{"FunctionName": "audit", "PullEventSources": {"EventSourceMapping": {
  "SelfManagedEventSource": {"Endpoints": {"KAFKA_BOOTSTRAP_SERVERS": [` + hosts + `]}},
  "Topics": ["audit"], "StartingPosition": "LATEST"}}}`
	}
	onFailure := func(dest string) string {
		return `,
  "DestinationConfig": {"OnFailure": {"Destination": "` + dest + `"}}`
	}
	const stream = "arn:aws:kinesis:us-east-1:123456789012:stream/clicks"
	tests := []struct {
		name    string
		policy  Policy
		doc     string
		sibling string
		// want: needle (whose position the error must have), path, message.
		want [][3]string
	}{
		{
			name: "own account and region", policy: testPolicy,
			doc: kinesis(stream, onFailure("arn:aws:sqs:us-east-1:123456789012:dlq")),
		},
		{
			name: "foreign-account stream", policy: testPolicy,
			doc: kinesis("arn:aws:kinesis:us-east-1:210987654321:stream/clicks", ""),
			want: [][3]string{{`"arn:aws:kinesis:us-east-1:210987654321`, esm + ".EventSourceArn",
				"account 210987654321 is not an allowed account (allowed: 123456789012)"}},
		},
		{
			name: "foreign-account OnFailure destination", policy: testPolicy,
			doc: kinesis(stream, onFailure("arn:aws:sqs:us-east-1:210987654321:exfiltrate")),
			want: [][3]string{{`"arn:aws:sqs:us-east-1:210987654321:exfiltrate"`, esm + ".DestinationConfig.OnFailure.Destination",
				"account 210987654321 is not an allowed account (allowed: 123456789012)"}},
		},
		{
			name: "foreign-region queue", policy: testPolicy,
			doc: sqs("arn:aws:sqs:eu-west-1:123456789012:orders"),
			want: [][3]string{{`"arn:aws:sqs:eu-west-1`, esm + ".EventSourceArn",
				"region eu-west-1 is not an allowed region (allowed: us-east-1)"}},
		},
		{
			name: "foreign account and region: both said", policy: testPolicy,
			doc: sqs("arn:aws:sqs:eu-west-1:210987654321:orders"),
			want: [][3]string{
				{`"arn:aws:sqs:eu-west-1`, esm + ".EventSourceArn", "account 210987654321 is not an allowed account (allowed: 123456789012)"},
				{`"arn:aws:sqs:eu-west-1`, esm + ".EventSourceArn", "region eu-west-1 is not an allowed region (allowed: us-east-1)"},
			},
		},
		{
			name: "another partition", policy: testPolicy,
			doc:  sqs("arn:aws-cn:sqs:cn-north-1:123456789012:orders"),
			want: [][3]string{{`"arn:aws-cn:`, esm + ".EventSourceArn", "partition aws-cn is not an allowed partition (allowed: aws)"}},
		},
		{
			name:   "partition follows the allowed region",
			policy: Policy{Accounts: []string{"123456789012"}, Regions: []string{"cn-north-1"}},
			doc:    sqs("arn:aws:sqs:us-east-1:123456789012:orders"),
			want:   [][3]string{{`"arn:aws:sqs`, esm + ".EventSourceArn", "partition aws is not an allowed partition (allowed: aws-cn)"}},
		},
		{
			name: "foreign Kafka host", policy: Policy{Accounts: testPolicy.Accounts, Regions: testPolicy.Regions, KafkaHosts: []string{"*.kafka.internal:9092"}},
			doc: selfManaged(`"b-1.kafka.internal:9092", "attacker.example.com:9092", "b-2.kafka.internal:9093"`),
			want: [][3]string{
				{`"attacker.example.com:9092"`, esm + ".SelfManagedEventSource.Endpoints.KAFKA_BOOTSTRAP_SERVERS[1]",
					"Kafka host attacker.example.com:9092 is not an allowed host (allowed: *.kafka.internal:9092)"},
				{`"b-2.kafka.internal:9093"`, esm + ".SelfManagedEventSource.Endpoints.KAFKA_BOOTSTRAP_SERVERS[2]",
					"Kafka host b-2.kafka.internal:9093 is not an allowed host (allowed: *.kafka.internal:9092)"},
			},
		},
		{
			name: "no Kafka host by default", policy: testPolicy,
			doc: selfManaged(`"kafka.example.com:9092"`),
			want: [][3]string{{`"kafka.example.com:9092"`, esm + ".SelfManagedEventSource.Endpoints.KAFKA_BOOTSTRAP_SERVERS[0]",
				"Kafka host kafka.example.com:9092 is not an allowed host (allowed: none)"}},
		},
		{
			name:   "allowed hosts: exact, wildcard domain, any port",
			policy: Policy{Accounts: testPolicy.Accounts, Regions: testPolicy.Regions, KafkaHosts: []string{"kafka.example.com:9092", "*.kafka.internal:*"}},
			doc:    selfManaged(`"KAFKA.example.com:9092", "b-1.eu.kafka.internal:9094"`),
		},
		{
			name: "S3 destination not allowed by default", policy: testPolicy,
			doc: kinesis(stream, onFailure("arn:aws:s3:::someone-elses-bucket")),
			want: [][3]string{{`"arn:aws:s3:::someone-elses-bucket"`, esm + ".DestinationConfig.OnFailure.Destination",
				`S3 bucket "someone-elses-bucket" is not an allowed bucket (allowed: none): a bucket ARN names no account, so buckets are allowed by name`}},
		},
		{
			name:   "S3 destination allowed by name or prefix",
			policy: Policy{Accounts: testPolicy.Accounts, Regions: testPolicy.Regions, Buckets: []string{"audit", "team-a-*"}},
			doc:    kinesis(stream, onFailure("arn:aws:s3:::team-a-failures")),
		},
		{
			name:   "S3 bucket prefix is not a bucket",
			policy: Policy{Accounts: testPolicy.Accounts, Regions: testPolicy.Regions, Buckets: []string{"audit"}},
			doc:    kinesis(stream, onFailure("arn:aws:s3:::audit-copy")),
			want: [][3]string{{`"arn:aws:s3:::audit-copy"`, esm + ".DestinationConfig.OnFailure.Destination",
				`S3 bucket "audit-copy" is not an allowed bucket (allowed: audit): a bucket ARN names no account, so buckets are allowed by name`}},
		},
		{
			name: "kafka:// destination names nothing to check", policy: testPolicy,
			doc: `{"FunctionName": "orders", "PullEventSources": {"EventSourceMapping": {
  "EventSourceArn": "arn:aws:kafka:us-east-1:123456789012:cluster/payments/6f1c3b8a-1d2e-4f5a-9b7c-0123456789ab-2",
  "Topics": ["payments"], "StartingPosition": "LATEST",
  "DestinationConfig": {"OnFailure": {"Destination": "kafka://payments-dlq"}}}}}`,
		},
		{
			name: "MSK: foreign secret, KMS key in another region, foreign Glue registry", policy: testPolicy,
			doc: `{"FunctionName": "orders", "PullEventSources": {"EventSourceMapping": {
  "EventSourceArn": "arn:aws:kafka:us-east-1:123456789012:cluster/payments/6f1c3b8a-1d2e-4f5a-9b7c-0123456789ab-2",
  "Topics": ["payments"], "StartingPosition": "LATEST",
  "KMSKeyArn": "arn:aws:kms:us-west-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
  "SourceAccessConfigurations": [
    {"Type": "VPC_SUBNET", "URI": "subnet:subnet-0123456789abcdef0"},
    {"Type": "SASL_SCRAM_512_AUTH", "URI": "arn:aws:secretsmanager:us-east-1:210987654321:secret:kafka-AbCdEf"}],
  "AmazonManagedKafkaEventSourceConfig": {"SchemaRegistryConfig": {
    "SchemaRegistryURI": "arn:aws:glue:us-east-1:210987654321:registry/payments",
    "EventRecordFormat": "JSON"}}}}}`,
			want: [][3]string{
				{`"arn:aws:kms:`, esm + ".KMSKeyArn", "region us-west-2 is not an allowed region (allowed: us-east-1)"},
				{`"arn:aws:secretsmanager:`, esm + ".SourceAccessConfigurations[1].URI", "account 210987654321 is not an allowed account (allowed: 123456789012)"},
				{`"arn:aws:glue:`, esm + ".AmazonManagedKafkaEventSourceConfig.SchemaRegistryConfig.SchemaRegistryURI", "account 210987654321 is not an allowed account (allowed: 123456789012)"},
			},
		},
		{
			name: "Confluent schema registry host is a Kafka host", policy: testPolicy,
			doc: `{"FunctionName": "orders", "PullEventSources": {"EventSourceMapping": {
  "EventSourceArn": "arn:aws:kafka:us-east-1:123456789012:cluster/payments/6f1c3b8a-1d2e-4f5a-9b7c-0123456789ab-2",
  "Topics": ["payments"], "StartingPosition": "LATEST",
  "AmazonManagedKafkaEventSourceConfig": {"SchemaRegistryConfig": {
    "SchemaRegistryURI": "https://registry.example.com",
    "AccessConfigs": [{"Type": "BASIC_AUTH", "URI": "arn:aws:secretsmanager:us-east-1:123456789012:secret:registry-AbCdEf"}],
    "EventRecordFormat": "JSON"}}}}}`,
			want: [][3]string{{`"https://registry.example.com"`, esm + ".AmazonManagedKafkaEventSourceConfig.SchemaRegistryConfig.SchemaRegistryURI",
				"schema registry host registry.example.com:443 is not an allowed Kafka host (allowed: none)"}},
		},
		{
			name: "foreign target group", policy: testPolicy,
			doc: `{"FunctionName": "orders", "PushEventSources": [
  {"Service": "elasticloadbalancing.amazonaws.com", "TargetGroupArn": "arn:aws:elasticloadbalancing:us-east-1:210987654321:targetgroup/tg/50dc6c495c0c9188"}]}`,
			want: [][3]string{{`"arn:aws:elasticloadbalancing`, "PushEventSources[0].TargetGroupArn", "account 210987654321 is not an allowed account (allowed: 123456789012)"}},
		},
		{
			name: "function ARNs: top level, partial ARN in a mapping", policy: testPolicy,
			doc: `{"FunctionName": "arn:aws:lambda:eu-west-1:123456789012:function:orders",
  "PullEventSources": {"EventSourceMapping": {"FunctionName": "210987654321:function:orders",
  "EventSourceArn": "arn:aws:sqs:us-east-1:123456789012:orders"}}}`,
			want: [][3]string{
				{`"arn:aws:lambda:`, "FunctionName", "region eu-west-1 is not an allowed region (allowed: us-east-1)"},
				{`"210987654321:function:orders"`, esm + ".FunctionName", "account 210987654321 is not an allowed account (allowed: 123456789012)"},
				{`"210987654321:function:orders"`, esm + ".FunctionName", `function "210987654321:function:orders" disagrees with "arn:aws:lambda:eu-west-1:123456789012:function:orders" named by FunctionName (line 1:18)`},
			},
		},
		{
			name: "function ARN in the sibling _lambdadef.json", policy: testPolicy,
			doc:     sqs("arn:aws:sqs:us-east-1:123456789012:orders"),
			sibling: `{"FunctionName": "arn:aws:lambda:us-east-1:210987654321:function:orders"}`,
			want:    [][3]string{{"sibling " + `"arn:aws:lambda:`, "FunctionName", "account 210987654321 is not an allowed account (allowed: 123456789012)"}},
		},
		{
			name: "reported with the file's other errors", policy: testPolicy,
			doc: `{"FunctionName": "orders", "PullEventSources": {"EventSourceMapping": {
  "EventSourceArn": "arn:aws:sqs:us-east-1:210987654321:orders", "BatchSize": 20000}}}`,
			want: [][3]string{
				{`"arn:aws:sqs`, esm + ".EventSourceArn", "account 210987654321 is not an allowed account (allowed: 123456789012)"},
				{`20000`, esm + ".BatchSize", "must be between 1 and 10000, not 20000"},
			},
		},
		{
			name: "a malformed ARN is reported once, by its pattern", policy: testPolicy,
			doc: kinesis(stream, onFailure("arn:aws:sqs:mars-1:210987654321:q")),
			want: [][3]string{{`"arn:aws:sqs:mars-1`, esm + ".DestinationConfig.OnFailure.Destination",
				`"arn:aws:sqs:mars-1:210987654321:q" is not a destination ARN (pattern ` + destinationPattern + `)`}},
		},
		{
			name:   "* allows any account, region, partition, bucket and host",
			policy: Policy{Accounts: []string{"*"}, Regions: []string{"*"}, Buckets: []string{"*"}, KafkaHosts: []string{"*"}},
			doc:    kinesis("arn:aws-cn:kinesis:cn-north-1:210987654321:stream/clicks", onFailure("arn:aws:s3:::anything")),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var want []string
			for _, w := range tt.want {
				prefix, doc, needle := "", tt.doc, w[0]
				if s, ok := strings.CutPrefix(needle, "sibling "); ok {
					prefix, doc, needle = "f/"+contract.FunctionDefFileName+" ", tt.sibling, s
				}
				want = append(want, fmt.Sprintf("%s%s %s: %s", prefix, at(t, doc, needle), w[1], w[2]))
			}
			got := policyErrors(t, tt.policy, tt.doc, tt.sibling)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}
}

// The push sources' APIs and target groups: checked only when the policy
// has a list of them (nil: left to IAM), an empty list refusing every one.
func TestPolicy_PushSources(t *testing.T) {
	const tgArn = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/orders-tg/50dc6c495c0c9188"
	doc := `{"FunctionName": "orders", "PushEventSources": [
  {"Service": "elasticloadbalancing.amazonaws.com", "TargetGroupArn": "` + tgArn + `"},
  {"Service": "apigateway.amazonaws.com", "ApiId": "a1b2c3d4e5", "RouteId": "r0ut3id"}]}`
	with := func(apis, tgs []string) Policy {
		p := testPolicy
		p.APIs, p.TargetGroups = apis, tgs
		return p
	}
	const (
		apiPath = "PushEventSources[1].ApiId"
		tgPath  = "PushEventSources[0].TargetGroupArn"
	)
	tests := []struct {
		name   string
		policy Policy
		// want: needle, path, message.
		want [][3]string
	}{
		{name: "no lists: unchecked", policy: with(nil, nil)},
		{name: "listed API and exact target group", policy: with([]string{"f6g7h8i9j0", "a1b2c3d4e5"}, []string{tgArn})},
		{name: "* allows any API and target group", policy: with([]string{"*"}, []string{"*"})},
		{
			name: "target group by pattern", policy: with([]string{"*"},
				[]string{"arn:aws:elasticloadbalancing:*:123456789012:targetgroup/orders-*/*"}),
		},
		{
			name: "? matches one character", policy: with(nil,
				[]string{"arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/orders-t?/*"}),
		},
		{
			name: "unlisted API", policy: with([]string{"f6g7h8i9j0"}, nil),
			want: [][3]string{{`"a1b2c3d4e5"`, apiPath, "API a1b2c3d4e5 is not an allowed API (allowed: f6g7h8i9j0)"}},
		},
		{
			name: "empty API list: API Gateway sources not enabled", policy: with([]string{}, nil),
			want: [][3]string{{`"a1b2c3d4e5"`, apiPath, APIsNotEnabled}},
		},
		{
			name: "target group outside the patterns", policy: with(nil,
				[]string{"arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/billing-*/*"}),
			want: [][3]string{{`"arn:aws:elasticloadbalancing`, tgPath, "target group " + tgArn +
				" is not an allowed target group (allowed: arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/billing-*/*)"}},
		},
		{
			name: "a pattern's dots and dashes are literal", policy: with(nil,
				[]string{"arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/orders.tg/*"}),
			want: [][3]string{{`"arn:aws:elasticloadbalancing`, tgPath, "target group " + tgArn +
				" is not an allowed target group (allowed: arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/orders.tg/*)"}},
		},
		{
			name: "empty target group list refuses every one; both reported", policy: with([]string{"f6g7h8i9j0"}, []string{}),
			want: [][3]string{
				{`"arn:aws:elasticloadbalancing`, tgPath, "target group " + tgArn + " is not an allowed target group (allowed: none)"},
				{`"a1b2c3d4e5"`, apiPath, "API a1b2c3d4e5 is not an allowed API (allowed: f6g7h8i9j0)"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var want []string
			for _, w := range tt.want {
				want = append(want, fmt.Sprintf("%s %s: %s", at(t, doc, w[0]), w[1], w[2]))
			}
			if diff := cmp.Diff(want, policyErrors(t, tt.policy, doc, "")); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}
}

// Without a Policy, Parse checks no account, region, bucket or host (the
// CLI's validate without allowlists).
func TestParse_NoPolicyChecksNoAllowlist(t *testing.T) {
	doc := `{"FunctionName": "orders", "PullEventSources": {"EventSourceMapping": {
  "EventSourceArn": "arn:aws-cn:kinesis:cn-north-1:210987654321:stream/clicks", "StartingPosition": "LATEST",
  "DestinationConfig": {"OnFailure": {"Destination": "arn:aws:s3:::anything"}}}}}`
	if _, err := Parse("f/"+contract.DefinitionFileName, []byte(doc), nil); err != nil {
		t.Fatalf("Parse: %v", err)
	}
}

// Every file of the valid corpus passes a policy that allows everything:
// the check adds no error of its own to a file that names nothing foreign.
func TestPolicy_ValidCorpusUnderOpenPolicy(t *testing.T) {
	open := Policy{Accounts: []string{"*"}, Regions: []string{"*"}, Partition: "*", Buckets: []string{"*"}, KafkaHosts: []string{"*"}}
	for _, c := range loadCorpus(t, "valid") {
		if _, err := open.Parse(c.path(), c.data, c.sibling); err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
	}
}

func TestPolicy_Check(t *testing.T) {
	p := Policy{
		Accounts:   []string{"123456789012", "12345", "*"},
		Regions:    []string{"us-east-1", "US-EAST-1"},
		Partition:  "aws cn",
		Buckets:    []string{"audit", "team-a-*", "Bad_Bucket"},
		KafkaHosts: []string{"kafka.example.com:9092", "*.internal:*", "nohost", "a.*.b:1", "*"},
		APIs:       []string{"a1b2c3d4e5", "*", "a1b2*", "a1b2-c3"},
		TargetGroups: []string{"*", "arn:aws:elasticloadbalancing:*:123456789012:targetgroup/orders-*/*",
			"orders-tg", "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/x/1"},
	}
	want := []string{
		`accounts: "12345" is not a 12-digit account id or *`,
		`regions: "US-EAST-1" is not a region name (us-east-1) or *`,
		`partition: "aws cn" is not a partition (aws, aws-cn, aws-us-gov, ...) or *`,
		`buckets: "Bad_Bucket" is not an S3 bucket name, a prefix ending in *, or *`,
		`kafka hosts: "nohost" is not HOST:PORT (a name, *.DOMAIN or *; a port or *)`,
		`kafka hosts: "a.*.b:1" is not HOST:PORT (a name, *.DOMAIN or *; a port or *)`,
		`API ids: "a1b2*" is not an HTTP API id (letters and digits) or *`,
		`API ids: "a1b2-c3" is not an HTTP API id (letters and digits) or *`,
		`target groups: "orders-tg" is not a target group ARN (arn:aws:elasticloadbalancing:REGION:ACCOUNT:targetgroup/NAME/ID, * and ? allowed) or *`,
		`target groups: "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/x/1" is not a target group ARN (arn:aws:elasticloadbalancing:REGION:ACCOUNT:targetgroup/NAME/ID, * and ? allowed) or *`,
	}
	if diff := cmp.Diff(want, p.Check()); diff != "" {
		t.Errorf("Check (-want +got):\n%s", diff)
	}
	if got := testPolicy.Check(); got != nil {
		t.Errorf("Check of a good policy = %q, want nil", got)
	}
}

func TestPartitionOf(t *testing.T) {
	for region, want := range map[string]string{
		"us-east-1": "aws", "eu-central-2": "aws", "cn-northwest-1": "aws-cn", "us-gov-west-1": "aws-us-gov",
		"us-iso-east-1": "aws-iso", "us-isob-east-1": "aws-iso-b",
	} {
		if got := PartitionOf(region); got != want {
			t.Errorf("PartitionOf(%q) = %q, want %q", region, got, want)
		}
	}
}

func TestSplitList(t *testing.T) {
	got := SplitList(" 123456789012, 210987654321\n,us-east-1 ,, ")
	want := []string{"123456789012", "210987654321", "us-east-1"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("SplitList (-want +got):\n%s", diff)
	}
	if got := SplitList(" , "); got != nil {
		t.Errorf("SplitList(\" , \") = %q, want nil", got)
	}
}
