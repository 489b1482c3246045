package pull

import (
	"strings"

	"github.com/eventwire/eventwire/internal/definition"
)

// Source types, as read from the event source ARN's service.
const (
	srcSQS         = "sqs"
	srcKinesis     = "kinesis"
	srcDynamoDB    = "dynamodb"
	srcKafka       = "kafka" // Amazon MSK
	srcSelfManaged = "self-managed-kafka"
	srcMQ          = "mq"
	srcDocumentDB  = "docdb"
)

// sourceType tells the kind of event source of a mapping.
//
// TODO: switch to definition.SourceType once the definition package has it.
func sourceType(m definition.Mapping) string {
	arn := deref(m.EventSourceArn)
	if arn == "" {
		if m.SelfManagedEventSource != nil {
			return srcSelfManaged
		}
		return ""
	}
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 {
		return ""
	}
	switch parts[2] {
	case "sqs":
		return srcSQS
	case "kinesis":
		return srcKinesis
	case "dynamodb":
		return srcDynamoDB
	case "kafka":
		return srcKafka
	case "mq":
		return srcMQ
	case "rds":
		return srcDocumentDB
	}
	return parts[2]
}

// serviceDefault is the value AWS uses for an absent scalar field of a
// mapping on a source of type src, and whether there is one. The values are
// those the CreateEventSourceMapping reference documents:
//   - BatchSize: 10 for SQS, 100 for every other source.
//   - MaximumBatchingWindowInSeconds: 0 for SQS, Kinesis and DynamoDB
//     streams (500 ms for Kafka, MQ and DocumentDB, which cannot be expressed
//     in seconds nor restored: no default for those).
//   - ParallelizationFactor 1, TumblingWindowInSeconds 0,
//     MaximumRetryAttempts -1 and MaximumRecordAgeInSeconds -1 (infinite),
//     BisectBatchOnFunctionError false: Kinesis and DynamoDB streams.
//   - Enabled: true.
//
// TODO: switch to definition.Defaults once the definition package has it.
func serviceDefault(src, field string) (any, bool) {
	stream := src == srcKinesis || src == srcDynamoDB
	switch field {
	case "Enabled":
		return true, true
	case "BatchSize":
		switch src {
		case srcSQS:
			return int32(10), true
		case "":
			return nil, false
		}
		return int32(100), true
	case "MaximumBatchingWindowInSeconds":
		if stream || src == srcSQS {
			return int32(0), true
		}
	case "ParallelizationFactor":
		if stream {
			return int32(1), true
		}
	case "TumblingWindowInSeconds":
		if stream {
			return int32(0), true
		}
	case "MaximumRetryAttempts", "MaximumRecordAgeInSeconds":
		if stream {
			return int32(-1), true
		}
	case "BisectBatchOnFunctionError":
		if stream {
			return false, true
		}
	}
	return nil, false
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
