package definition

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/eventwire/eventwire/internal/lazyre"
)

// sourceRule is what a pull source type accepts. The validator and the
// JSON Schema generator both read this table.
//
// Which field applies to which source is the API reference's, per field:
// "(Kinesis, DynamoDB Streams, Amazon MSK, and self-managed Apache Kafka)"
// for BisectBatchOnFunctionError, DestinationConfig,
// MaximumRecordAgeInSeconds, MaximumRetryAttempts; "(Kinesis and DynamoDB
// Streams only)" for ParallelizationFactor and TumblingWindowInSeconds;
// "(Amazon SQS only)" for ScalingConfig; "(Amazon SQS, Amazon MSK, and
// self-managed Apache Kafka only)" for ProvisionedPollerConfig; "(Amazon
// MSK, and self-managed Apache Kafka only)" for LoggingConfig; "(Kinesis,
// DynamoDB Streams, Amazon MSK, self-managed Apache Kafka, and Amazon SQS)"
// for FunctionResponseTypes; Topics for Kafka, Queues for MQ. AWS answers
// InvalidParameterValueException for a field its source does not support.
type sourceRule struct {
	typ   string
	label string
	// arn matches the EventSourceArn of this type (empty for self-managed
	// Kafka, recognised by SelfManagedEventSource).
	arn *lazyre.Regexp
	// allowed are the fields besides common ones.
	allowed  []string
	required []string
	// startingPositions are the StartingPosition values allowed (none:
	// StartingPosition is not allowed). StartingPosition is "Required for
	// Amazon Kinesis and Amazon DynamoDB Stream event sources" and for
	// Kafka ("AT_TIMESTAMP is supported only for Amazon Kinesis streams,
	// Amazon DocumentDB, Amazon MSK, and self-managed Apache Kafka").
	startingPositions []string
}

var commonFields = []string{"BatchSize", "Enabled", "EventSourceArn", "FilterCriteria", "FunctionName", "KMSKeyArn",
	"MaximumBatchingWindowInSeconds", "MetricsConfig", "Tags"}

var streamFields = []string{"BisectBatchOnFunctionError", "DestinationConfig", "FunctionResponseTypes",
	"MaximumRecordAgeInSeconds", "MaximumRetryAttempts", "StartingPosition", "StartingPositionTimestamp"}

var allPositions = []string{"TRIM_HORIZON", "LATEST", "AT_TIMESTAMP"}

var sourceRules = []*sourceRule{
	{
		typ: SourceSQS, label: "Amazon SQS",
		arn:     lazyre.New(`^arn:[^:]+:sqs:[^:]*:[^:]*:[^/]+$`),
		allowed: []string{"FunctionResponseTypes", "ProvisionedPollerConfig", "ScalingConfig"},
	},
	{
		typ: SourceKinesis, label: "Kinesis",
		arn:               lazyre.New(`^arn:[^:]+:kinesis:[^:]*:[^:]*:stream/`),
		allowed:           append([]string{"ParallelizationFactor", "TumblingWindowInSeconds"}, streamFields...),
		required:          []string{"StartingPosition"},
		startingPositions: allPositions,
	},
	{
		typ: SourceDynamoDB, label: "DynamoDB Streams",
		arn:               lazyre.New(`^arn:[^:]+:dynamodb:[^:]*:[^:]*:table/[^/]+/stream/`),
		allowed:           append([]string{"ParallelizationFactor", "TumblingWindowInSeconds"}, without(streamFields, "StartingPositionTimestamp")...),
		required:          []string{"StartingPosition"},
		startingPositions: []string{"TRIM_HORIZON", "LATEST"},
	},
	{
		typ: SourceKafka, label: "Amazon MSK",
		arn: lazyre.New(`^arn:[^:]+:kafka:[^:]*:[^:]*:(cluster|vpc-connection)/`),
		allowed: append([]string{"AmazonManagedKafkaEventSourceConfig", "LoggingConfig", "ProvisionedPollerConfig",
			"SourceAccessConfigurations", "Topics"}, streamFields...),
		required:          []string{"StartingPosition", "Topics"},
		startingPositions: allPositions,
	},
	{
		typ: SourceSelfManagedKafka, label: "self-managed Apache Kafka",
		allowed: append([]string{"LoggingConfig", "ProvisionedPollerConfig", "SelfManagedEventSource",
			"SelfManagedKafkaEventSourceConfig", "SourceAccessConfigurations", "Topics"}, streamFields...),
		// StartingPosition too, except in Queue consumption mode.
		required:          []string{"SelfManagedEventSource", "Topics"},
		startingPositions: allPositions,
	},
	{
		typ: SourceMQ, label: "Amazon MQ",
		arn:      lazyre.New(`^arn:[^:]+:mq:[^:]*:[^:]*:broker:`),
		allowed:  []string{"Queues", "SourceAccessConfigurations"},
		required: []string{"Queues"},
	},
	{
		typ: SourceDocumentDB, label: "DocumentDB",
		arn:               lazyre.New(`^arn:[^:]+:rds:[^:]*:[^:]*:cluster:`),
		allowed:           []string{"DocumentDBEventSourceConfig", "SourceAccessConfigurations", "StartingPosition", "StartingPositionTimestamp"},
		required:          []string{"DocumentDBEventSourceConfig"},
		startingPositions: allPositions,
	},
}

func without(list []string, drop ...string) []string {
	var out []string
	for _, s := range list {
		if !slices.Contains(drop, s) {
			out = append(out, s)
		}
	}
	return out
}

func ruleFor(typ string) *sourceRule {
	for _, r := range sourceRules {
		if r.typ == typ {
			return r
		}
	}
	return nil
}

// allowedFields is the full list of fields a source type accepts.
func (r *sourceRule) allowedFields() []string {
	fields := append(slices.Clone(commonFields), r.allowed...)
	if r.typ == SourceSelfManagedKafka {
		fields = without(fields, "EventSourceArn")
	}
	sort.Strings(fields)
	return slices.Compact(fields)
}

// sqsFIFO matches a FIFO queue's ARN: "For FIFO queues the max is 10".
var sqsFIFO = lazyre.New(`\.fifo$`)

// checkMapping applies the rules across fields of one pull entry that has
// the right types (walk passed). n is the entry's object node.
func (w *walker) checkMapping(n *node, path string) {
	rule, arn := w.mappingRule(n, path)
	if rule == nil {
		return
	}
	allowed := rule.allowedFields()
	queueMode := w.checkFieldsFor(n, path, rule, allowed)
	w.checkStartingPosition(n, path, rule, queueMode)
	if rule.typ == SourceSQS {
		w.checkSQSBatch(n, path, arn)
	}
	if slices.Contains(allowed, "ProvisionedPollerConfig") {
		w.checkPollers(n, path, rule)
	}
	if rule.typ != SourceKafka && rule.typ != SourceSelfManagedKafka {
		w.checkKafkaMetrics(n, path)
	}
	w.checkDestination(n, path)
	w.checkFilterPatterns(n, path)
	if rule.typ != SourceMQ {
		w.checkVirtualHost(n, path)
	}
}

// mappingRule finds the rule of a pull entry's source, from its
// EventSourceArn or its SelfManagedEventSource, and the ARN (empty for
// self-managed Kafka). It returns a nil rule, after reporting why unless
// walk did, when there is none.
func (w *walker) mappingRule(n *node, path string) (*sourceRule, string) {
	arnNode := n.value("EventSourceArn")
	self := n.has("SelfManagedEventSource")
	switch {
	case arnNode != nil && self:
		w.errorf(n.get("SelfManagedEventSource").off, path, "EventSourceArn and SelfManagedEventSource are exclusive: a self-managed Kafka cluster has no ARN")
		return nil, ""
	case self:
		return ruleFor(SourceSelfManagedKafka), ""
	case arnNode == nil:
		if n.hasFold("EventSourceArn") {
			return nil, "" // written in the wrong case: reported as such
		}
		w.errorf(n.off, path, `missing required field "EventSourceArn" (or "SelfManagedEventSource" for a self-managed Kafka cluster)`)
		return nil, ""
	case arnNode.kind != kindString || !arnNode.matches(arnSpec):
		return nil, "" // already reported
	}
	rule := ruleFor(SourceType(arnNode.str))
	if rule == nil {
		w.errorf(arnNode.off, pathKey(path, "EventSourceArn"), "%s is not an event source Lambda can poll: an SQS queue, a Kinesis stream, a DynamoDB stream (table/NAME/stream/LABEL), an MSK cluster, an MQ broker or a DocumentDB cluster", shortQuote(arnNode.str))
	}
	return rule, arnNode.str
}

// checkFieldsFor reports the fields the source does not support and the
// required ones missing. It returns whether the entry is a self-managed
// Kafka one in Queue consumption mode.
func (w *walker) checkFieldsFor(n *node, path string, rule *sourceRule, allowed []string) (queueMode bool) {
	for _, m := range n.members {
		if !slices.Contains(allowed, m.key) && mappingSpec.field(m.key) != nil {
			w.errorf(m.off, path, "%s is not supported for %s event sources", m.key, rule.label)
		}
	}
	required := rule.required
	if c := n.value("SelfManagedKafkaEventSourceConfig"); c != nil {
		if mode, ok := c.stringOf("ConsumptionMode"); ok && mode == "Queue" {
			queueMode = true
			// "When ConsumptionMode is Queue, the StartingPosition,
			// StartingPositionTimestamp, and MaximumBatchingWindowInSeconds
			// parameters are not supported."
			for _, k := range []string{"StartingPosition", "StartingPositionTimestamp", "MaximumBatchingWindowInSeconds"} {
				if m := n.get(k); m != nil {
					w.errorf(m.off, path, "%s is not supported when SelfManagedKafkaEventSourceConfig.ConsumptionMode is \"Queue\"", k)
				}
			}
		}
	}
	if rule.typ == SourceSelfManagedKafka && !queueMode {
		required = append(slices.Clone(required), "StartingPosition")
	}
	for _, k := range required {
		if !n.hasFold(k) {
			w.errorf(n.off, path, "missing required field %q (required for %s event sources)", k, rule.label)
		}
	}
	return queueMode
}

// checkStartingPosition checks StartingPosition values and AT_TIMESTAMP
// with StartingPositionTimestamp.
func (w *walker) checkStartingPosition(n *node, path string, rule *sourceRule, queueMode bool) {
	allowed := rule.allowedFields()
	spNode := w.validField(n, mappingSpec, "StartingPosition")
	if sp, ok := spNode.stringValue(); ok && len(rule.startingPositions) > 0 {
		if !slices.Contains(rule.startingPositions, sp) {
			w.errorf(spNode.off, pathKey(path, "StartingPosition"), "%q is not supported for %s event sources (use %s)", sp, rule.label, quoteList(rule.startingPositions))
		}
		if sp == "AT_TIMESTAMP" && slices.Contains(rule.startingPositions, sp) && !n.has("StartingPositionTimestamp") && !queueMode {
			w.errorf(spNode.off, pathKey(path, "StartingPosition"), `"AT_TIMESTAMP" needs StartingPositionTimestamp, the time to start reading from`)
		}
	}
	if m := n.get("StartingPositionTimestamp"); m != nil && slices.Contains(allowed, "StartingPositionTimestamp") && !queueMode {
		if sp, ok := spNode.stringValue(); !n.has("StartingPosition") || (ok && sp != "AT_TIMESTAMP") {
			w.errorf(m.off, path, `StartingPositionTimestamp is only allowed with StartingPosition "AT_TIMESTAMP"`)
		}
	}
}

// checkSQSBatch checks an SQS entry's BatchSize against its queue (FIFO or
// not) and its batching window.
func (w *walker) checkSQSBatch(n *node, path, arn string) {
	batchNode := w.validField(n, mappingSpec, "BatchSize")
	batch, hasBatch := batchNode.intValue()
	if hasBatch && sqsFIFO.MatchString(arn) && batch > 10 {
		w.errorf(batchNode.off, pathKey(path, "BatchSize"), "must be between 1 and 10 for a FIFO queue, not %d", batch)
	} else if hasBatch && batch > 10 {
		// "For Kinesis, DynamoDB, and Amazon SQS event sources, when
		// you set BatchSize to a value greater than 10, you must set
		// MaximumBatchingWindowInSeconds to at least 1." (API
		// reference). Kinesis and DynamoDB default to 100 with a
		// window of 0, so only SQS is held to it.
		if win, ok := w.validField(n, mappingSpec, "MaximumBatchingWindowInSeconds").intValue(); !n.has("MaximumBatchingWindowInSeconds") || (ok && win < 1) {
			w.errorf(batchNode.off, pathKey(path, "BatchSize"), "a BatchSize over 10 needs MaximumBatchingWindowInSeconds of at least 1 for SQS")
		}
	}
}

// checkPollers checks provisioned mode: SQS 2 to 10,000 maximum pollers
// and at least 2 minimum; Kafka 1 to 2,000 (SDK documentation of
// ProvisionedPollerConfig). PollerGroupName is Kafka only.
func (w *walker) checkPollers(n *node, path string, rule *sourceRule) {
	ppc := n.value("ProvisionedPollerConfig")
	if ppc == nil || ppc.kind != kindObject {
		return
	}
	minP, maxP := int64(1), int64(2000)
	if rule.typ == SourceSQS {
		minP, maxP = 2, 10000
	}
	ppcSpec := mappingSpec.field("ProvisionedPollerConfig")
	lo, hasLo := w.validField(ppc, ppcSpec, "MinimumPollers").intValue()
	hi, hasHi := w.validField(ppc, ppcSpec, "MaximumPollers").intValue()
	if hasLo && lo < minP {
		w.errorf(ppc.value("MinimumPollers").off, pathKeys(path, "ProvisionedPollerConfig", "MinimumPollers"), "must be at least %d for %s event sources, not %d", minP, rule.label, lo)
	}
	if hasHi && (hi < minP || hi > maxP) {
		w.errorf(ppc.value("MaximumPollers").off, pathKeys(path, "ProvisionedPollerConfig", "MaximumPollers"), "must be between %d and %d for %s event sources, not %d", minP, maxP, rule.label, hi)
	}
	if hasLo && hasHi && lo > hi && hi >= minP && lo >= minP {
		w.errorf(ppc.value("MinimumPollers").off, pathKeys(path, "ProvisionedPollerConfig", "MinimumPollers"), "must not exceed MaximumPollers (%d), not %d", hi, lo)
	}
	if m := ppc.get("PollerGroupName"); m != nil && rule.typ == SourceSQS {
		w.errorf(m.off, pathKey(path, "ProvisionedPollerConfig"), "PollerGroupName is only supported for Kafka event sources")
	}
}

// checkKafkaMetrics reports the Kafka-only metrics of a source that is not
// Kafka: "ErrorCount (Amazon MSK and self-managed Apache Kafka)",
// "KafkaMetrics (Amazon MSK and self-managed Apache Kafka)".
func (w *walker) checkKafkaMetrics(n *node, path string) {
	mc := n.value("MetricsConfig")
	if mc == nil {
		return
	}
	if ms := mc.value("Metrics"); ms != nil && ms.kind == kindArray {
		for i, it := range ms.items {
			if it.kind == kindString && (it.str == "ErrorCount" || it.str == "KafkaMetrics") {
				w.errorf(it.off, pathIndex(pathKeys(path, "MetricsConfig", "Metrics"), i), "%q is only available for Kafka event sources", it.str)
			}
		}
	}
}

// checkDestination reports DestinationConfig.OnSuccess: "Not supported in
// CreateEventSourceMapping or UpdateEventSourceMapping."
func (w *walker) checkDestination(n *node, path string) {
	if dc := n.value("DestinationConfig"); dc != nil {
		if m := dc.get("OnSuccess"); m != nil {
			w.errorf(m.off, pathKey(path, "DestinationConfig"), "OnSuccess is not supported by event source mappings (only OnFailure)")
		}
	}
}

// checkFilterPatterns checks that filter patterns are JSON objects
// (developer guide, event filtering).
func (w *walker) checkFilterPatterns(n *node, path string) {
	fc := n.value("FilterCriteria")
	if fc == nil {
		return
	}
	fs := fc.value("Filters")
	if fs == nil || fs.kind != kindArray {
		return
	}
	for i, f := range fs.items {
		p := f.value("Pattern")
		if p == nil || p.kind != kindString {
			continue
		}
		var v any
		if err := json.Unmarshal([]byte(p.str), &v); err != nil {
			w.errorf(p.off, pathKey(pathIndex(pathKeys(path, "FilterCriteria", "Filters"), i), "Pattern"), "is not valid JSON: %v", err)
		} else if _, ok := v.(map[string]any); !ok {
			w.errorf(p.off, pathKey(pathIndex(pathKeys(path, "FilterCriteria", "Filters"), i), "Pattern"), "must be a JSON object")
		}
	}
}

// checkVirtualHost reports a VIRTUAL_HOST access configuration, which is
// RabbitMQ's (Amazon MQ), on another source.
func (w *walker) checkVirtualHost(n *node, path string) {
	sacs := n.value("SourceAccessConfigurations")
	if sacs == nil || sacs.kind != kindArray {
		return
	}
	for i, it := range sacs.items {
		if t, ok := it.stringOf("Type"); ok && t == "VIRTUAL_HOST" {
			w.errorf(it.value("Type").off, pathKey(pathIndex(pathKey(path, "SourceAccessConfigurations"), i), "Type"), `"VIRTUAL_HOST" is only supported for Amazon MQ (RabbitMQ) event sources`)
		}
	}
}

// validField returns the value of member key of n if it passes its spec
// (the field key of s), reporting nothing; nil if it is absent or invalid.
// Rules across fields read values through it, so that a value already
// reported as wrong does not also trip a rule.
func (w *walker) validField(n *node, s *spec, key string) *node {
	v := n.value(key)
	if v == nil || !w.valid(v, s.field(key)) {
		return nil
	}
	return v
}

// matches tells whether a string node passes a string spec (no errors
// reported).
func (n *node) matches(s *spec) bool {
	if n.kind != kindString {
		return false
	}
	if s.re != nil && !s.re.MatchString(n.str) {
		return false
	}
	return true
}

// checkPush applies the per-Service rules to one push entry.
func (w *walker) checkPush(n *node, path string) {
	svc, ok := n.stringOf("Service")
	if !ok {
		return
	}
	fs, ok := pushFields[svc]
	if !ok {
		return // reported by walk
	}
	for _, m := range n.members {
		if !slices.Contains(fs.allowed, m.key) && pushSpec.field(m.key) != nil {
			w.errorf(m.off, path, "%s is not allowed with Service %q", m.key, svc)
		}
	}
	for _, k := range fs.required {
		if !n.hasFold(k) {
			w.errorf(n.off, path, "missing required field %q (required with Service %q)", k, svc)
		}
	}
}

// identity of a pull entry: EventSourceArn or the self-managed endpoints,
// plus Topics and Queues.
func pullIdentity(n *node) string {
	var parts []string
	if s, ok := n.stringOf("EventSourceArn"); ok {
		parts = append(parts, s)
	}
	if sm := n.value("SelfManagedEventSource"); sm != nil {
		if eps := sm.value("Endpoints"); eps != nil {
			for _, m := range eps.members {
				var hosts []string
				for _, it := range m.val.items {
					hosts = append(hosts, it.str)
				}
				sort.Strings(hosts)
				parts = append(parts, m.key+"="+strings.Join(hosts, ","))
			}
		}
	}
	for _, k := range []string{"Topics", "Queues"} {
		if a := n.value(k); a != nil {
			for _, it := range a.items {
				parts = append(parts, k+"="+it.str)
			}
		}
	}
	return strings.Join(parts, "|")
}

func pushIdentity(n *node) string {
	svc, _ := n.stringOf("Service")
	switch svc {
	case ServiceELB:
		tg, _ := n.stringOf("TargetGroupArn")
		return svc + "|" + tg
	case ServiceAPIGateway:
		api, _ := n.stringOf("ApiId")
		route, _ := n.stringOf("RouteId")
		return fmt.Sprintf("%s|%s|%s", svc, api, route)
	}
	return ""
}
