package definition

import (
	"github.com/eventwire/eventwire/internal/funcref"
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

// FunctionRef is a function reference split into its parts (funcref owns
// the forms the API accepts).
type FunctionRef = funcref.Ref

// ParseFunctionRef splits a function reference as Lambda accepts it (see
// funcref.Parse); ok is false when ref is no function reference.
func ParseFunctionRef(ref string) (r FunctionRef, ok bool) {
	r, err := funcref.Parse(ref)
	return r, err == nil
}
