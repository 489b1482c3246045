package definition

import (
	"regexp"
	"strings"
)

// The ARN forms of each source type are in sourceRules (rules.go):
// sqs:...:QUEUE, kinesis:...:stream/NAME[/consumer/...],
// dynamodb:...:table/NAME/stream/LABEL, kafka:...:cluster/... or
// vpc-connection/..., mq:...:broker:..., rds:...:cluster:... (DocumentDB).

// Source types of pull event sources, as SourceType returns them.
const (
	SourceSQS              = "sqs"
	SourceKinesis          = "kinesis"
	SourceDynamoDB         = "dynamodb" // DynamoDB Streams
	SourceKafka            = "kafka"    // Amazon MSK
	SourceSelfManagedKafka = "self-managed-kafka"
	SourceMQ               = "mq"    // Amazon MQ (ActiveMQ, RabbitMQ)
	SourceDocumentDB       = "docdb" // Amazon DocumentDB change streams
)

// SourceType returns the source type of an event source ARN, read from the
// ARN's service and resource: SourceSQS, SourceKinesis, SourceDynamoDB (a
// table's stream, not the table), SourceKafka (an MSK cluster or VPC
// connection), SourceMQ (a broker), SourceDocumentDB (arn:aws:rds:...:
// cluster:...), or "" for anything else. A self-managed Kafka cluster has no
// ARN: see MappingSourceType.
func SourceType(eventSourceArn string) string {
	if !arnSpec.re.MatchString(eventSourceArn) {
		return ""
	}
	for _, r := range sourceRules {
		if r.arn != nil && r.arn.MatchString(eventSourceArn) {
			return r.typ
		}
	}
	return ""
}

// MappingSourceType is SourceType of the mapping's EventSourceArn, or
// SourceSelfManagedKafka for a mapping with SelfManagedEventSource.
func MappingSourceType(m Mapping) string {
	if m.SelfManagedEventSource != nil {
		return SourceSelfManagedKafka
	}
	if m.EventSourceArn == nil {
		return ""
	}
	return SourceType(*m.EventSourceArn)
}

// Defaults returns the values Lambda uses for the fields a mapping of the
// given source type leaves out, as GetEventSourceMapping reports them. A
// planner fills a desired mapping's nil fields from it before comparing
// with what AWS reports, so that defaults do not show as differences.
// Fields left nil have no default to normalise (or one that the API cannot
// express: the 500 ms batching window of Kafka, MQ and DocumentDB).
//
// Sources: Lambda API reference, CreateEventSourceMapping (BatchSize:
// "Kinesis – Default 100", "DynamoDB Streams – Default 100", "SQS – Default
// 10", "MSK – Default 100", "Self-managed Apache Kafka – Default 100", "MQ –
// Default 100", "DocumentDB – Default 100"; MaximumBatchingWindowInSeconds:
// "For Kinesis, DynamoDB, and Amazon SQS event sources, the default batching
// window is 0 seconds"; MaximumRecordAgeInSeconds and MaximumRetryAttempts:
// "The default value is infinite (-1)"; Enabled: "Default: True"),
// ParallelizationFactor default 1, TumblingWindowInSeconds 0 ("0 seconds
// indicates no tumbling window"), BisectBatchOnFunctionError false.
func Defaults(sourceType string) Mapping {
	i32 := func(v int32) *int32 { return &v }
	f := false
	t := true
	m := Mapping{Enabled: &t}
	switch sourceType {
	case SourceSQS:
		m.BatchSize = i32(10)
		m.MaximumBatchingWindowInSeconds = i32(0)
	case SourceKinesis, SourceDynamoDB:
		m.BatchSize = i32(100)
		m.MaximumBatchingWindowInSeconds = i32(0)
		m.ParallelizationFactor = i32(1)
		m.TumblingWindowInSeconds = i32(0)
		m.MaximumRecordAgeInSeconds = i32(-1)
		m.MaximumRetryAttempts = i32(-1)
		m.BisectBatchOnFunctionError = &f
	case SourceKafka, SourceSelfManagedKafka:
		// Stream consumption mode; in Queue mode MaximumRetryAttempts
		// defaults to 0 (see KafkaQueueMode).
		m.BatchSize = i32(100)
		m.MaximumRecordAgeInSeconds = i32(-1)
		m.MaximumRetryAttempts = i32(-1)
		m.BisectBatchOnFunctionError = &f
	case SourceMQ, SourceDocumentDB:
		m.BatchSize = i32(100)
	}
	return m
}

// WithDefaults returns m with every nil field that has a default for its
// source type set to that default (a shallow copy: nested values are
// shared).
func WithDefaults(m Mapping) Mapping {
	d := Defaults(MappingSourceType(m))
	if KafkaQueueMode(m) {
		zero := int32(0)
		d.MaximumRetryAttempts = &zero
	}
	if m.Enabled == nil {
		m.Enabled = d.Enabled
	}
	if m.BatchSize == nil {
		m.BatchSize = d.BatchSize
	}
	if m.MaximumBatchingWindowInSeconds == nil {
		m.MaximumBatchingWindowInSeconds = d.MaximumBatchingWindowInSeconds
	}
	if m.ParallelizationFactor == nil {
		m.ParallelizationFactor = d.ParallelizationFactor
	}
	if m.TumblingWindowInSeconds == nil {
		m.TumblingWindowInSeconds = d.TumblingWindowInSeconds
	}
	if m.MaximumRecordAgeInSeconds == nil {
		m.MaximumRecordAgeInSeconds = d.MaximumRecordAgeInSeconds
	}
	if m.MaximumRetryAttempts == nil {
		m.MaximumRetryAttempts = d.MaximumRetryAttempts
	}
	if m.BisectBatchOnFunctionError == nil {
		m.BisectBatchOnFunctionError = d.BisectBatchOnFunctionError
	}
	return m
}

// KafkaQueueMode tells whether m is a self-managed Kafka mapping in Queue
// consumption mode.
func KafkaQueueMode(m Mapping) bool {
	c := m.SelfManagedKafkaEventSourceConfig
	return c != nil && c.ConsumptionMode != nil && *c.ConsumptionMode == "Queue"
}

// FunctionRef is a function reference split into its parts. Only Name is
// always set.
type FunctionRef struct {
	Partition string // "aws", ... (ARNs only)
	Region    string
	Account   string
	Name      string
	Qualifier string // alias, version or $LATEST
}

// functionRefRE is the API's NamespacedFunctionName pattern with groups
// named.
var functionRefRE = regexp.MustCompile(`^(?:arn:(aws[a-zA-Z-]*)?:lambda:)?(?:([a-z]{2}(?:(?:-gov)|(?:-iso(?:[a-z]?)))?-[a-z]+-\d{1}):)?(?:(\d{12}):)?(?:function:)?([a-zA-Z0-9-_\.]+)(?::(\$LATEST(?:\.PUBLISHED)?|[a-zA-Z0-9-_]+))?$`)

// ParseFunctionRef splits a function reference as Lambda accepts it: a
// name (MyFunction), a qualified name (MyFunction:live), a partial ARN
// (123456789012:function:MyFunction), a full ARN or a qualified ARN
// (arn:aws:lambda:us-east-1:123456789012:function:MyFunction:live). ok is
// false when ref is none of those.
func ParseFunctionRef(ref string) (r FunctionRef, ok bool) {
	m := functionRefRE.FindStringSubmatch(ref)
	if m == nil {
		return FunctionRef{}, false
	}
	r = FunctionRef{Partition: m[1], Region: m[2], Account: m[3], Name: m[4], Qualifier: m[5]}
	// Without "function:" the pattern's ARN parts are ambiguous:
	// "123456789012:live" is a 12-digit name with a qualifier, and a
	// region without an account names no function.
	if !strings.Contains(ref, "function:") && (r.Region != "" || r.Account != "" || r.Partition != "") {
		if r.Partition == "" && r.Region == "" && r.Qualifier == "" {
			return FunctionRef{Name: r.Account, Qualifier: r.Name}, true
		}
		return FunctionRef{}, false
	}
	if r.Partition == "" && strings.HasPrefix(ref, "arn:") {
		return FunctionRef{}, false
	}
	return r, true
}

// SameFunction tells whether a and b name the same function and the same
// qualifier: names and qualifiers equal, and partition, region and account
// equal wherever both references give them (a name and an ARN of the same
// function agree; different qualifiers, or none and one, disagree).
func (a FunctionRef) SameFunction(b FunctionRef) bool {
	eq := func(x, y string) bool { return x == "" || y == "" || x == y }
	return a.Name == b.Name && a.Qualifier == b.Qualifier &&
		eq(a.Partition, b.Partition) && eq(a.Region, b.Region) && eq(a.Account, b.Account)
}

// String is the reference in its shortest form that keeps what it has.
func (a FunctionRef) String() string {
	s := a.Name
	if a.Qualifier != "" {
		s += ":" + a.Qualifier
	}
	switch {
	case a.Partition != "" && a.Region != "" && a.Account != "":
		return "arn:" + a.Partition + ":lambda:" + a.Region + ":" + a.Account + ":function:" + s
	case a.Account != "":
		return a.Account + ":function:" + s
	}
	return s
}
