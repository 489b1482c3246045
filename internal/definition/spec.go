package definition

import (
	"sort"

	"github.com/eventwire/eventwire/internal/funcref"
	"github.com/eventwire/eventwire/internal/lazyre"
)

// spec describes what a JSON value may be. The validator walks the file
// with it and the JSON Schema (schema.json) is generated from it, so the two
// cannot drift apart on what a table can say. Rules across fields (source
// types, function resolution, duplicates) live in rules.go.
//
// Constraints are those of the Lambda API reference (service model
// lambda-2015-03-31) unless a comment says otherwise.
type spec struct {
	kind kind
	// desc names a string's format in messages ("an ARN").
	desc string

	// Objects.
	fields   []*field
	required []string

	// Arrays and maps: elem is the item or value spec; key the map key spec.
	elem               *spec
	key                *spec
	minItems, maxItems int // -1: no bound

	// Integers (integer set) and numbers.
	integer  bool
	min, max *int64
	also     *int64 // one more allowed value outside [min, max]

	// Strings.
	minLen, maxLen int    // -1: no bound; counts characters (runes)
	pattern        string // anchored, for Go and the JSON Schema
	apiPattern     string // as the API reference writes it, for messages
	re             *lazyre.Regexp
	notPrefix      string // the string must not start with this
	enum           []string
}

type field struct {
	name string
	spec *spec
}

func (s *spec) field(name string) *spec {
	for _, f := range s.fields {
		if f.name == name {
			return f.spec
		}
	}
	return nil
}

func (s *spec) fieldNames() []string {
	names := make([]string, len(s.fields))
	for i, f := range s.fields {
		names[i] = f.name
	}
	return names
}

func obj(required []string, fields ...*field) *spec {
	sort.Slice(fields, func(i, j int) bool { return fields[i].name < fields[j].name })
	return &spec{kind: kindObject, fields: fields, required: required}
}

func fld(name string, s *spec) *field { return &field{name: name, spec: s} }

func str(desc string, minLen, maxLen int, pattern string) *spec {
	s := &spec{kind: kindString, desc: desc, minLen: minLen, maxLen: maxLen, minItems: -1, maxItems: -1}
	if pattern != "" {
		s.apiPattern = pattern
		s.pattern = "^(?:" + pattern + ")$"
		s.re = lazyre.New(s.pattern)
	}
	return s
}

func enum(values ...string) *spec {
	return &spec{kind: kindString, enum: values, minLen: -1, maxLen: -1}
}

func integer(min, max int64) *spec {
	return &spec{kind: kindNumber, integer: true, min: &min, max: &max}
}

func integerOr(also, min, max int64) *spec {
	s := integer(min, max)
	s.also = &also
	return s
}

func number() *spec { return &spec{kind: kindNumber} }

func boolean() *spec { return &spec{kind: kindBool} }

func array(elem *spec, minItems, maxItems int) *spec {
	return &spec{kind: kindArray, elem: elem, minItems: minItems, maxItems: maxItems}
}

func mapOf(key, elem *spec, minItems, maxItems int) *spec {
	return &spec{kind: kindObject, key: key, elem: elem, minItems: minItems, maxItems: maxItems}
}

// Patterns of the API reference.
const (
	// Arn: EventSourceArn and schema registry access URIs.
	arnPattern = `arn:(aws[a-zA-Z0-9-]*):([a-zA-Z0-9\-])+:([a-z]{2}(-gov)?-[a-z]+-\d{1})?:(\d{12})?:(.*)`
	// NamespacedFunctionName (today's model allows dots, -iso regions and
	// $LATEST.PUBLISHED; max 256 characters, the name alone 64: see
	// ParseFunctionRef).
	functionNamePattern = `(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:)?(\d{12}:)?(function:)?([a-zA-Z0-9-_\.]+)(:(\$LATEST(\.PUBLISHED)?|[a-zA-Z0-9-_]+))?`
	// DestinationArn: empty, a kafka:// topic or an ARN.
	destinationPattern = `|kafka://([^.]([a-zA-Z0-9\-_.]{0,248}))|arn:(aws[a-zA-Z0-9-]*):([a-zA-Z0-9\-])+:([a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1})?:(\d{12})?:(.*)`
	kmsKeyArnPattern   = `(arn:(aws[a-zA-Z-]*)?:[a-z0-9-.]+:.*)|()`
	uriPattern         = `[a-zA-Z0-9-\/*:_+=.@-]*`
	topicPattern       = `[^.]([a-zA-Z0-9\-_.]+)`
	endpointPattern    = `(([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9\-]*[a-zA-Z0-9])\.)*([A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9\-]*[A-Za-z0-9]):[0-9]{1,5}`
	// An ELB target group ARN: targetgroup/NAME/ID, NAME 1-32 letters,
	// digits and hyphens, ID 16 hex digits (ELBv2 API reference,
	// CreateTargetGroup Name and the ARN format).
	targetGroupArnPattern = `arn:aws[a-zA-Z-]*:elasticloadbalancing:[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:\d{12}:targetgroup/[a-zA-Z0-9-]{1,32}/[0-9a-f]{16}`
	// API Gateway ids are generated alphanumeric strings.
	apiIDPattern = `[a-zA-Z0-9]+`
	// Stage variable names: "alphanumeric and underscore characters", at
	// most 64 (API Gateway developer guide, stage variables).
	stageVariablePattern = `[A-Za-z0-9_]+`
)

var (
	functionNameSpec = str("a function name or ARN", 1, funcref.MaxLength, functionNamePattern)
	arnSpec          = str("an ARN", -1, -1, arnPattern)
	uriSpec          = str("a URI", 1, 200, uriPattern)

	schemaRegistrySpec = obj(nil,
		fld("AccessConfigs", array(obj(nil,
			fld("Type", enum("BASIC_AUTH", "CLIENT_CERTIFICATE_TLS_AUTH", "SERVER_ROOT_CA_CERTIFICATE", "OAUTHBEARER_AUTH")),
			fld("URI", arnSpec),
		), -1, -1)),
		fld("EventRecordFormat", enum("JSON", "SOURCE")),
		fld("SchemaRegistryURI", str("a schema registry URI", 1, 10000, uriPattern)),
		fld("SchemaValidationConfigs", array(obj(nil,
			fld("Attribute", enum("KEY", "VALUE")),
		), -1, -1)),
	)

	mappingSpec = obj(nil,
		fld("AmazonManagedKafkaEventSourceConfig", obj(nil,
			fld("ConsumerGroupId", uriSpec),
			fld("SchemaRegistryConfig", schemaRegistrySpec),
		)),
		fld("BatchSize", integer(1, 10000)),
		fld("BisectBatchOnFunctionError", boolean()),
		fld("DestinationConfig", obj(nil,
			fld("OnFailure", obj(nil, fld("Destination", str("a destination ARN", 0, 350, destinationPattern)))),
			fld("OnSuccess", obj(nil, fld("Destination", str("a destination ARN", 0, 350, destinationPattern)))),
		)),
		fld("DocumentDBEventSourceConfig", obj(nil,
			fld("CollectionName", collectionNameSpec()),
			fld("DatabaseName", str("a database name", 1, 63, `[^ /\.$\x22]*`)),
			fld("FullDocument", enum("UpdateLookup", "Default")),
		)),
		fld("Enabled", boolean()),
		fld("EventSourceArn", arnSpec),
		fld("FilterCriteria", obj(nil,
			// Lambda allows 5 filters per mapping by default, a quota
			// that can be raised to 10 (developer guide, event filtering):
			// 10 is the hard limit checked here.
			fld("Filters", array(obj(nil,
				fld("Pattern", str("a filter pattern", 0, 4096, "")),
			), 0, 10)),
		)),
		fld("FunctionName", functionNameSpec),
		fld("FunctionResponseTypes", array(enum("ReportBatchItemFailures"), 0, 1)),
		fld("KMSKeyArn", str("a KMS key ARN", -1, -1, kmsKeyArnPattern)),
		fld("LoggingConfig", obj(nil, fld("SystemLogLevel", enum("DEBUG", "INFO", "WARN")))),
		fld("MaximumBatchingWindowInSeconds", integer(0, 300)),
		// "-1 ... infinite"; "The minimum valid value for maximum
		// record age is 60s. Although values less than 60 and greater
		// than -1 fall within the parameter's absolute range, they are
		// not allowed" (SDK documentation of the field).
		fld("MaximumRecordAgeInSeconds", integerOr(-1, 60, 604800)),
		fld("MaximumRetryAttempts", integer(-1, 10000)),
		fld("MetricsConfig", obj(nil, fld("Metrics", array(enum("EventCount", "ErrorCount", "KafkaMetrics"), 0, 3)))),
		fld("ParallelizationFactor", integer(1, 10)),
		fld("ProvisionedPollerConfig", obj(nil,
			// SQS: 2 to 10,000 maximum pollers (SDK documentation of
			// ProvisionedPollerConfig); Kafka: 1 to 2,000 (rules.go).
			fld("MaximumPollers", integer(1, 10000)),
			fld("MinimumPollers", integer(1, 200)),
			fld("PollerGroupName", str("a poller group name", 0, 128, `[a-zA-Z0-9-_]*`)),
		)),
		fld("Queues", array(str("a queue name", 1, 1000, `[\s\S]*`), 1, 1)),
		fld("ScalingConfig", obj(nil, fld("MaximumConcurrency", integer(2, 1000)))),
		fld("SelfManagedEventSource", obj(nil,
			fld("Endpoints", mapOf(
				enum("KAFKA_BOOTSTRAP_SERVERS"),
				array(str("a host:port", 1, 300, endpointPattern), 1, 10),
				1, 2)),
		)),
		fld("SelfManagedKafkaEventSourceConfig", obj(nil,
			fld("ConsumerGroupId", uriSpec),
			fld("ConsumptionMode", enum("Stream", "Queue")),
			fld("SchemaRegistryConfig", schemaRegistrySpec),
		)),
		fld("SourceAccessConfigurations", array(obj(nil,
			fld("Type", enum("BASIC_AUTH", "VPC_SUBNET", "VPC_SECURITY_GROUP", "SASL_SCRAM_512_AUTH", "SASL_SCRAM_256_AUTH",
				"VIRTUAL_HOST", "CLIENT_CERTIFICATE_TLS_AUTH", "SERVER_ROOT_CA_CERTIFICATE", "OAUTHBEARER_AUTH",
				"OAUTHBEARER_SCOPE", "OAUTHBEARER_AUDIENCE", "OAUTHBEARER_LOGICAL_CLUSTER", "OAUTHBEARER_IDENTITY_POOL",
				"IAM_AUTH", "IAM_OAUTHBEARER_AUTH")),
			fld("URI", uriSpec),
		), 0, 22)),
		fld("StartingPosition", enum("TRIM_HORIZON", "LATEST", "AT_TIMESTAMP")),
		// Unix time in seconds, as the API's JSON protocol sends it.
		fld("StartingPositionTimestamp", number()),
		// Lambda tags: keys 1-128 characters, values up to 256, at most
		// 50 tags (Lambda developer guide, tagging).
		fld("Tags", mapOf(tagKeySpec(), str("a tag value", 0, 256, ""), 0, 50)),
		fld("Topics", array(str("a Kafka topic name", 1, 249, topicPattern), 1, 1)),
		fld("TumblingWindowInSeconds", integer(0, 900)),
	)

	// The push source spec is the union of both kinds; rules.go checks
	// which fields each Service takes.
	pushSpec = obj([]string{"Service"},
		fld("Service", enum(ServiceELB, ServiceAPIGateway)),
		fld("TargetGroupArn", str("a target group ARN", 1, 2048, targetGroupArnPattern)),
		fld("ApiId", str("an API id", 1, 128, apiIDPattern)),
		fld("RouteId", str("a route id", 1, 128, apiIDPattern)),
		fld("AliasStageVariableName", str("a stage variable name", 1, 64, stageVariablePattern)),
	)

	pullSpec = obj([]string{"EventSourceMapping"},
		// One object or a list of them (eventwire's extension).
		fld("EventSourceMapping", nil),
	)

	fileSpec = obj(nil,
		fld("FunctionName", functionNameSpec),
		fld("PullEventSources", pullSpec),
		fld("PushEventSources", array(pushSpec, -1, -1)),
	)
)

// collectionNameSpec is the API's CollectionName: 1-57 characters, not
// starting with "system.", starting with [_a-zA-Z0-9], no "$" (the API's
// pattern uses a look-ahead, which neither Go nor every JSON Schema
// validator supports, so it is split here).
func collectionNameSpec() *spec {
	s := str("a collection name", 1, 57, `[_a-zA-Z0-9][^$]*`)
	s.notPrefix = "system."
	return s
}

// tagKeySpec: keys starting with "aws:" are reserved for AWS.
func tagKeySpec() *spec {
	s := str("a tag key", 1, 128, "")
	s.notPrefix = "aws:"
	return s
}

// Push field sets per Service.
var pushFields = map[string]struct{ required, allowed []string }{
	ServiceELB:        {required: []string{"TargetGroupArn"}, allowed: []string{"Service", "TargetGroupArn"}},
	ServiceAPIGateway: {required: []string{"ApiId", "RouteId"}, allowed: []string{"Service", "ApiId", "RouteId", "AliasStageVariableName"}},
}
