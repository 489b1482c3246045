package pull

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/eventwire/eventwire/internal/definition"
	"github.com/eventwire/eventwire/internal/plan"
	"github.com/eventwire/eventwire/internal/testkit/golden"
	"github.com/eventwire/eventwire/internal/wiring"
)

const (
	fnARN    = "arn:aws:lambda:us-east-1:123456789012:function:orders"
	otherARN = "arn:aws:lambda:us-east-1:123456789012:function:billing"
	queue    = "arn:aws:sqs:us-east-1:123456789012:orders"
	queue2   = "arn:aws:sqs:us-east-1:123456789012:refunds"
	stream   = "arn:aws:kinesis:us-east-1:123456789012:stream/clicks"
	ddb      = "arn:aws:dynamodb:us-east-1:123456789012:table/carts/stream/2026-11-01T00:00:00.000"
	msk      = "arn:aws:kafka:us-east-1:123456789012:cluster/events/0b0c4b8e-1111-2222-3333-444455556666-1"
	docdb    = "arn:aws:rds:us-east-1:123456789012:cluster:shop"
)

var fnByName = plan.Function{Ref: "orders", Name: "orders", ARN: fnARN}

func p[T any](v T) *T { return &v }

// obs is an observed mapping on fnARN, enabled, managed by the given
// reference unless tags say otherwise.
func obs(uuid string, m definition.Mapping, tags map[string]string) wiring.Mapping {
	if m.Enabled == nil {
		m.Enabled = p(true)
	}
	state := wiring.StateEnabled
	if !*m.Enabled {
		state = wiring.StateDisabled
	}
	return wiring.Mapping{
		UUID: uuid, ARN: "arn:aws:lambda:us-east-1:123456789012:event-source-mapping:" + uuid,
		FunctionArn: fnARN, State: state, Mapping: m, Tags: tags,
	}
}

func managedTags(extra ...string) map[string]string {
	t := map[string]string{wiring.TagKey: "orders"}
	for i := 0; i+1 < len(extra); i += 2 {
		t[extra[i]] = extra[i+1]
	}
	return t
}

// sqsAsAWSReports is an SQS mapping with the fields AWS fills in itself.
func sqsAsAWSReports(arn string) definition.Mapping {
	return definition.Mapping{
		EventSourceArn: p(arn), FunctionName: p(fnARN),
		BatchSize: p(int32(10)), MaximumBatchingWindowInSeconds: p(int32(0)),
		FunctionResponseTypes: []string{},
	}
}

// streamAsAWSReports is a Kinesis mapping with the defaults AWS reports.
func streamAsAWSReports(arn, position string) definition.Mapping {
	return definition.Mapping{
		EventSourceArn: p(arn), FunctionName: p(fnARN), StartingPosition: p(position),
		BatchSize: p(int32(100)), MaximumBatchingWindowInSeconds: p(int32(0)),
		ParallelizationFactor: p(int32(1)), TumblingWindowInSeconds: p(int32(0)),
		MaximumRetryAttempts: p(int32(-1)), MaximumRecordAgeInSeconds: p(int32(-1)),
		BisectBatchOnFunctionError: p(false),
		DestinationConfig:          &definition.DestinationConfig{OnFailure: &definition.Destination{}},
		FunctionResponseTypes:      []string{},
	}
}

type planCase struct {
	name     string
	fn       plan.Function
	desired  []definition.Mapping
	observed []wiring.Mapping
}

func planCases() []planCase {
	withFilter := sqsAsAWSReports(queue)
	withFilter.FilterCriteria = &definition.FilterCriteria{Filters: []definition.Filter{
		{Pattern: p(`{"body": {"type": ["order"]}, "attributes":{"x":[1]}}`)},
	}}
	settings := streamAsAWSReports(stream, "LATEST")
	settings.BatchSize = p(int32(500))
	settings.ParallelizationFactor = p(int32(4))
	settings.FilterCriteria = &definition.FilterCriteria{Filters: []definition.Filter{{Pattern: p(`{"data":{"a":[1]}}`)}}}
	settings.DestinationConfig = &definition.DestinationConfig{OnFailure: &definition.Destination{Destination: p(queue2)}}
	settings.FunctionResponseTypes = []string{"ReportBatchItemFailures"}
	settings.KMSKeyArn = p("arn:aws:kms:us-east-1:123456789012:key/1")
	scaled := sqsAsAWSReports(queue)
	scaled.ScalingConfig = &definition.ScalingConfig{MaximumConcurrency: p(int32(5))}
	mskObserved := definition.Mapping{
		EventSourceArn: p(msk), FunctionName: p(fnARN), Topics: []string{"orders"}, StartingPosition: p("LATEST"),
		BatchSize:                           p(int32(100)),
		AmazonManagedKafkaEventSourceConfig: &definition.KafkaEventSourceConfig{ConsumerGroupId: p("g1")},
	}
	aliasFn := plan.Function{Ref: "orders:live", Name: "orders", Qualifier: "live", ARN: fnARN}
	onAlias := obs("a1", sqsAsAWSReports(queue), map[string]string{wiring.TagKey: "orders:live"})
	onAlias.FunctionArn = fnARN + ":live"
	onOtherQualifier := obs("a2", sqsAsAWSReports(queue2), managedTags())
	onOtherQualifier.FunctionArn = fnARN + ":blue"
	onOtherFunction := obs("o1", sqsAsAWSReports(queue2), managedTags())
	onOtherFunction.FunctionArn = otherARN
	onLatest := obs("l1", sqsAsAWSReports(queue), managedTags())
	onLatest.FunctionArn = fnARN + ":$LATEST"

	return []planCase{
		{
			name:    "create",
			fn:      fnByName,
			desired: []definition.Mapping{{EventSourceArn: p(queue), FunctionName: p("orders"), BatchSize: p(int32(5))}},
		},
		{
			name: "no_changes_defaults_and_filter_formatting",
			fn:   fnByName,
			desired: []definition.Mapping{
				{EventSourceArn: p(queue), FunctionName: p("orders"), FilterCriteria: &definition.FilterCriteria{Filters: []definition.Filter{
					{Pattern: p(`{"attributes": {"x": [1]},"body":{"type":["order"]}}`)},
				}}},
				{EventSourceArn: p(stream), StartingPosition: p("LATEST"), Enabled: p(true), BatchSize: p(int32(100))},
			},
			observed: []wiring.Mapping{
				obs("u1", withFilter, managedTags()),
				obs("u2", streamAsAWSReports(stream, "LATEST"), managedTags()),
			},
		},
		{
			name: "update_in_place",
			fn:   fnByName,
			desired: []definition.Mapping{{
				EventSourceArn: p(queue), BatchSize: p(int32(5)), Enabled: p(false),
				ScalingConfig: &definition.ScalingConfig{MaximumConcurrency: p(int32(10))},
				FilterCriteria: &definition.FilterCriteria{Filters: []definition.Filter{
					{Pattern: p(`{"body":{"type":["refund"]}}`)},
				}},
			}},
			observed: []wiring.Mapping{obs("u1", withFilter, managedTags())},
		},
		{
			name:     "clear_removed_settings",
			fn:       fnByName,
			desired:  []definition.Mapping{{EventSourceArn: p(stream), StartingPosition: p("LATEST")}},
			observed: []wiring.Mapping{obs("u1", settings, managedTags())},
		},
		{
			name:     "clear_scaling_config",
			fn:       fnByName,
			desired:  []definition.Mapping{{EventSourceArn: p(queue)}},
			observed: []wiring.Mapping{obs("u1", scaled, managedTags())},
		},
		{
			name:     "replace_starting_position",
			fn:       fnByName,
			desired:  []definition.Mapping{{EventSourceArn: p(stream), StartingPosition: p("TRIM_HORIZON"), BatchSize: p(int32(200))}},
			observed: []wiring.Mapping{obs("u1", streamAsAWSReports(stream, "LATEST"), managedTags())},
		},
		{
			name: "replace_topics_and_consumer_group",
			fn:   fnByName,
			desired: []definition.Mapping{{
				EventSourceArn: p(msk), Topics: []string{"orders-v2"}, StartingPosition: p("LATEST"),
				AmazonManagedKafkaEventSourceConfig: &definition.KafkaEventSourceConfig{ConsumerGroupId: p("g2")},
			}},
			observed: []wiring.Mapping{obs("k1", mskObserved, managedTags())},
		},
		{
			name:    "tags_add_change_remove",
			fn:      fnByName,
			desired: []definition.Mapping{{EventSourceArn: p(queue), Tags: map[string]string{"team": "payments", "env": "prod"}}},
			observed: []wiring.Mapping{obs("u1", sqsAsAWSReports(queue),
				managedTags("env", "dev", "old", "x", "aws:cloudformation:stack-name", "s",
					TagKeysTag, "env old", "owner", "ops"))}, // owner: not set by eventwire, kept
		},
		{
			name:     "adopt_unmanaged",
			fn:       fnByName,
			desired:  []definition.Mapping{{EventSourceArn: p(queue), BatchSize: p(int32(7)), Tags: map[string]string{"team": "payments"}}},
			observed: []wiring.Mapping{obs("u1", sqsAsAWSReports(queue), map[string]string{"owner": "ops"})},
		},
		{
			name:     "adopt_unmanaged_no_field_change",
			fn:       fnByName,
			desired:  []definition.Mapping{{EventSourceArn: p(queue)}},
			observed: []wiring.Mapping{obs("u1", sqsAsAWSReports(queue), nil)},
		},
		{
			name:    "delete_managed_leave_unmanaged",
			fn:      fnByName,
			desired: []definition.Mapping{{EventSourceArn: p(queue)}},
			observed: []wiring.Mapping{
				obs("u1", sqsAsAWSReports(queue), managedTags()),
				obs("u2", sqsAsAWSReports(queue2), managedTags()),
				obs("u3", streamAsAWSReports(stream, "LATEST"), map[string]string{"owner": "ops"}),
				obs("u4", streamAsAWSReports(ddb, "TRIM_HORIZON"), nil),
			},
		},
		{
			name:    "duplicates_managed_wins",
			fn:      fnByName,
			desired: []definition.Mapping{{EventSourceArn: p(queue)}},
			observed: []wiring.Mapping{
				obs("u1", sqsAsAWSReports(queue), nil),
				obs("u2", sqsAsAWSReports(queue), managedTags()),
				obs("u3", sqsAsAWSReports(queue), managedTags()),
			},
		},
		{
			name:     "other_functions_and_qualifiers_ignored",
			fn:       fnByName,
			desired:  []definition.Mapping{{EventSourceArn: p(queue)}},
			observed: []wiring.Mapping{onAlias, onOtherQualifier, onOtherFunction, onLatest},
		},
		{
			name:    "reference_by_arn",
			fn:      plan.Function{Ref: fnARN, Name: "orders", ARN: fnARN},
			desired: []definition.Mapping{{EventSourceArn: p(queue)}},
			observed: []wiring.Mapping{
				obs("u1", sqsAsAWSReports(queue), map[string]string{wiring.TagKey: fnARN}),
				onAlias,
			},
		},
		{
			name:    "reference_by_partial_arn",
			fn:      plan.Function{Ref: "123456789012:function:orders", Name: "orders", ARN: fnARN},
			desired: []definition.Mapping{{EventSourceArn: p(queue)}},
			observed: []wiring.Mapping{
				obs("u1", sqsAsAWSReports(queue), map[string]string{wiring.TagKey: "123456789012:function:orders"}),
			},
		},
		{
			name:     "reference_by_alias",
			fn:       aliasFn,
			desired:  []definition.Mapping{{EventSourceArn: p(queue), BatchSize: p(int32(3))}, {EventSourceArn: p(queue2)}},
			observed: []wiring.Mapping{onAlias, onOtherQualifier, obs("u9", sqsAsAWSReports(queue), managedTags())},
		},
		{
			name: "destroy",
			fn:   fnByName,
			observed: []wiring.Mapping{
				obs("u1", sqsAsAWSReports(queue), managedTags()),
				obs("u2", streamAsAWSReports(stream, "LATEST"), nil),
			},
		},
		{
			name: "deleting_ignored_and_unreadable_filters_kept",
			fn:   fnByName,
			desired: []definition.Mapping{
				{EventSourceArn: p(queue), FilterCriteria: &definition.FilterCriteria{Filters: []definition.Filter{{Pattern: p(`{"a":[1]}`)}}}},
				{EventSourceArn: p(queue2)},
			},
			observed: []wiring.Mapping{
				func() wiring.Mapping {
					o := obs("u1", sqsAsAWSReports(queue), managedTags())
					o.FilterCriteriaError = "KMSAccessDeniedException: no kms:Decrypt"
					return o
				}(),
				func() wiring.Mapping {
					o := obs("u2", sqsAsAWSReports(queue2), managedTags())
					o.State = wiring.StateDeleting
					return o
				}(),
				func() wiring.Mapping {
					o := obs("u3", streamAsAWSReports(stream, "LATEST"), managedTags())
					o.State = wiring.StateDeleting
					return o
				}(),
			},
		},
		{
			name: "kafka_defaults",
			fn:   fnByName,
			desired: []definition.Mapping{
				{EventSourceArn: p(msk), Topics: []string{"orders"}, StartingPosition: p("LATEST")},
				{
					SelfManagedEventSource: &definition.SelfManagedEventSource{Endpoints: map[string][]string{
						"KAFKA_BOOTSTRAP_SERVERS": {"b2:9092", "b1:9092"},
					}},
					Topics:                            []string{"payments"},
					SelfManagedKafkaEventSourceConfig: &definition.KafkaEventSourceConfig{ConsumptionMode: p("Queue")},
				},
			},
			observed: []wiring.Mapping{
				obs("k1", func() definition.Mapping {
					m := mskObserved
					m.MaximumRetryAttempts = p(int32(5))
					return m
				}(), managedTags()),
				obs("k2", definition.Mapping{
					SelfManagedEventSource: &definition.SelfManagedEventSource{Endpoints: map[string][]string{
						"KAFKA_BOOTSTRAP_SERVERS": {"b1:9092", "b2:9092"},
					}},
					Topics: []string{"payments"}, BatchSize: p(int32(100)), MaximumRetryAttempts: p(int32(0)),
					SelfManagedKafkaEventSourceConfig: &definition.KafkaEventSourceConfig{
						ConsumerGroupId: p("generated"), ConsumptionMode: p("Queue"),
					},
				}, managedTags()),
			},
		},
		{
			// AWS reports the bound the file leaves out at its default
			// (MaximumPollers 200): no difference. A bound AWS has at
			// another value goes back to the default.
			name: "provisioned_pollers_defaults",
			fn:   fnByName,
			desired: []definition.Mapping{
				{EventSourceArn: p(queue), ProvisionedPollerConfig: &definition.ProvisionedPollerConfig{MinimumPollers: p(int32(5))}},
				{EventSourceArn: p(queue2), ProvisionedPollerConfig: &definition.ProvisionedPollerConfig{MaximumPollers: p(int32(50))}},
			},
			observed: []wiring.Mapping{
				obs("p1", func() definition.Mapping {
					m := sqsAsAWSReports(queue)
					m.ProvisionedPollerConfig = &definition.ProvisionedPollerConfig{MinimumPollers: p(int32(5)), MaximumPollers: p(int32(200))}
					return m
				}(), managedTags()),
				obs("p2", func() definition.Mapping {
					m := sqsAsAWSReports(queue2)
					m.ProvisionedPollerConfig = &definition.ProvisionedPollerConfig{MinimumPollers: p(int32(10)), MaximumPollers: p(int32(50))}
					return m
				}(), managedTags()),
			},
		},
		{
			// A DocumentDB mapping whose file leaves FullDocument out:
			// AWS reports the API's default, "Default".
			name: "docdb_full_document_default_no_changes",
			fn:   fnByName,
			desired: []definition.Mapping{{
				EventSourceArn: p(docdb), StartingPosition: p("LATEST"),
				DocumentDBEventSourceConfig: &definition.DocumentDBConfig{DatabaseName: p("shop"), CollectionName: p("orders")},
			}},
			observed: []wiring.Mapping{obs("c1", definition.Mapping{
				EventSourceArn: p(docdb), FunctionName: p(fnARN), StartingPosition: p("LATEST"), BatchSize: p(int32(100)),
				DocumentDBEventSourceConfig: &definition.DocumentDBConfig{
					DatabaseName: p("shop"), CollectionName: p("orders"), FullDocument: p("Default"),
				},
			}, managedTags())},
		},
		{
			name: "ddb_stream_defaults_no_changes",
			fn:   fnByName,
			desired: []definition.Mapping{{
				EventSourceArn: p(ddb), StartingPosition: p("TRIM_HORIZON"),
				MaximumRetryAttempts: p(int32(-1)), ParallelizationFactor: p(int32(1)),
			}},
			observed: []wiring.Mapping{obs("d1", streamAsAWSReports(ddb, "TRIM_HORIZON"), managedTags())},
		},
	}
}

func TestPlan_Golden(t *testing.T) {
	for _, tc := range planCases() {
		t.Run(tc.name, func(t *testing.T) {
			actions := Plan(tc.fn, tc.desired, tc.observed)
			got := (&plan.Plan{Function: tc.fn, Actions: actions}).String()
			golden.Check(t, filepath.Join("testdata", "plan", tc.name+".golden"), got)
			// Plans are deterministic.
			again := (&plan.Plan{Function: tc.fn, Actions: Plan(tc.fn, tc.desired, tc.observed)}).String()
			if again != got {
				t.Errorf("second plan differs:\n%s\nfirst:\n%s", again, got)
			}
		})
	}
}

// TestPlan_Ops checks what the executor receives: only the changed fields,
// explicit empties to clear, the managed tag on creation.
func TestPlan_Ops(t *testing.T) {
	cases := map[string][]*Op{}
	for _, tc := range planCases() {
		var ops []*Op
		for _, a := range Plan(tc.fn, tc.desired, tc.observed) {
			op, _ := a.Op.(*Op)
			ops = append(ops, op)
		}
		cases[tc.name] = ops
	}
	tests := []struct {
		name string
		want []*Op
	}{
		{"create", []*Op{{
			Create: &definition.Mapping{
				EventSourceArn: p(queue), FunctionName: p(fnARN), BatchSize: p(int32(5)),
				Tags: map[string]string{wiring.TagKey: "orders"},
			},
			Enabled: true,
		}}},
		{"no_changes_defaults_and_filter_formatting", nil},
		{"clear_removed_settings", []*Op{{
			UUID: "u1", MappingARN: "arn:aws:lambda:us-east-1:123456789012:event-source-mapping:u1",
			Update: &definition.Mapping{
				BatchSize:             p(int32(100)),
				DestinationConfig:     &definition.DestinationConfig{OnFailure: &definition.Destination{Destination: p("")}},
				FilterCriteria:        &definition.FilterCriteria{Filters: []definition.Filter{}},
				FunctionResponseTypes: []string{},
				KMSKeyArn:             p(""),
				ParallelizationFactor: p(int32(1)),
			},
			Enabled: true,
		}}},
		{"clear_scaling_config", []*Op{{
			UUID: "u1", MappingARN: "arn:aws:lambda:us-east-1:123456789012:event-source-mapping:u1",
			Update:  &definition.Mapping{ScalingConfig: &definition.ScalingConfig{}},
			Enabled: true,
		}}},
		{"tags_add_change_remove", []*Op{{
			UUID: "u1", MappingARN: "arn:aws:lambda:us-east-1:123456789012:event-source-mapping:u1",
			Tag:     map[string]string{"env": "prod", "team": "payments", TagKeysTag: "env team"},
			Untag:   []string{"old"},
			Enabled: true,
		}}},
		{"adopt_unmanaged_no_field_change", []*Op{{
			UUID: "u1", MappingARN: "arn:aws:lambda:us-east-1:123456789012:event-source-mapping:u1",
			Tag:     map[string]string{wiring.TagKey: "orders"},
			Enabled: true,
		}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, cases[tt.name]); diff != "" {
				t.Errorf("ops (-want +got):\n%s", diff)
			}
		})
	}
}

// BenchmarkPlan plans 200 declared mappings against 300 observed ones.
func BenchmarkPlan(b *testing.B) {
	var desired []definition.Mapping
	var observed []wiring.Mapping
	for i := 0; i < 300; i++ {
		arn := fmt.Sprintf("arn:aws:sqs:us-east-1:123456789012:q%03d", i)
		if i < 200 {
			desired = append(desired, definition.Mapping{EventSourceArn: p(arn), BatchSize: p(int32(5))})
		}
		observed = append(observed, obs(fmt.Sprintf("u%03d", i), sqsAsAWSReports(arn), managedTags()))
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		Plan(fnByName, desired, observed)
	}
}

func TestTagKeysValue_SortedAndBoundedByTagValueLength(t *testing.T) {
	long := strings.Repeat("k", 200)
	tests := []struct {
		name string
		tags map[string]string
		want string
	}{
		{"none", nil, ""},
		{"sorted", map[string]string{"team": "a", "env": "b"}, "env team"},
		// A key that does not fit is left out: it will never be removed,
		// the safe side.
		{"overflow", map[string]string{"a": "1", long: "2", "zz" + long: "3"}, "a " + long},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tagKeysValue(tt.tags)
			if got != tt.want {
				t.Errorf("tagKeysValue = %q, want %q", got, tt.want)
			}
			if len(got) > maxTagValue {
				t.Errorf("value of %d bytes exceeds %d", len(got), maxTagValue)
			}
		})
	}
}

// moto cannot report a mapping that Lambda disabled itself (its mappings
// are Enabled or Disabled as asked, with no StateTransitionReason): the
// states below are AWS's, as GetEventSourceMapping reports them.
func TestPlan_FakeAWS_MappingDisabledByLambdaIsReEnabled(t *testing.T) {
	tests := []struct {
		name    string
		enabled *bool // the file's Enabled
		reason  string
		want    string // the update's reason; "-" for no update
	}{
		{"Lambda initiated, file omits Enabled", nil, "Lambda initiated",
			`disabled by Lambda (StateTransitionReason "Lambda initiated"), not by a user: re-enable`},
		{"Lambda's code, file says Enabled", p(true), "PROBLEM: Function call failed",
			`disabled by Lambda (StateTransitionReason "PROBLEM: Function call failed"), not by a user: re-enable`},
		{"user initiated (documented)", nil, "User initiated", ""},
		{"user initiated (as reported)", nil, "USER_INITIATED", ""},
		{"a user's disable of a stream (as reported)", nil, "User action", ""},
		{"no reason", nil, "", ""},
		{"the file wants it disabled", p(false), "Lambda initiated", "-"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := obs("u1", sqsAsAWSReports(queue), managedTags())
			o.State, o.StateTransitionReason, o.Mapping.Enabled = wiring.StateDisabled, tt.reason, p(false)
			d := definition.Mapping{EventSourceArn: p(queue), Enabled: tt.enabled}
			actions := Plan(fnByName, []definition.Mapping{d}, []wiring.Mapping{o})
			got := "-"
			for _, a := range actions {
				if a.Kind == plan.Update && a.Resource == plan.ResourceMapping {
					got = a.Reason
					if op := a.Op.(*Op); !op.Enabled || op.Update == nil || op.Update.Enabled == nil || !*op.Update.Enabled {
						t.Errorf("update %+v does not enable the mapping", op)
					}
				}
			}
			if got != tt.want {
				t.Errorf("reason %q, want %q (actions %v)", got, tt.want, actions)
			}
		})
	}
}

// A mapping Lambda disabled for a cause that persists is not re-enabled
// (it would be disabled again at once, on every apply and every heal): it
// is shown left alone with the reason, and the file's other changes are
// still made. moto reports no such states: these are AWS's.
func TestPlan_FakeAWS_MappingDisabledForGoodIsNotReEnabled(t *testing.T) {
	tests := []struct {
		name, reason, lastResult string
		want                     string // in the leave-alone's reason; "" for none
	}{
		{"authorization", "EVENT_SOURCE_AUTHZ_ERROR", "", `StateTransitionReason "EVENT_SOURCE_AUTHZ_ERROR"`},
		{"authentication", "EVENT_SOURCE_AUTHN_ERROR", "", "EVENT_SOURCE_AUTHN_ERROR"},
		{"mapping configuration", "ESM_CONFIG_NOT_VALID", "", "ESM_CONFIG_NOT_VALID"},
		{"function configuration", "FUNCTION_CONFIG_NOT_VALID", "", "FUNCTION_CONFIG_NOT_VALID"},
		{"a problem processing", "Lambda initiated", "PROBLEM: Function call failed", `LastProcessingResult "PROBLEM: Function call failed"`},
		{"a passing cause is re-enabled", "Lambda initiated", "OK", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := obs("u1", sqsAsAWSReports(queue), managedTags())
			o.State, o.StateTransitionReason, o.LastProcessingResult, o.Mapping.Enabled = wiring.StateDisabled, tt.reason, tt.lastResult, p(false)
			d := definition.Mapping{EventSourceArn: p(queue), BatchSize: p(int32(7))}
			var held string
			var update *Op
			for _, a := range Plan(fnByName, []definition.Mapping{d}, []wiring.Mapping{o}) {
				switch {
				case a.Kind == plan.LeaveAlone && a.Resource == plan.ResourceMapping:
					held = a.Reason
				case a.Kind == plan.Update && a.Resource == plan.ResourceMapping:
					update = a.Op.(*Op)
				}
			}
			if update == nil || update.Update.BatchSize == nil || *update.Update.BatchSize != 7 {
				t.Fatalf("the file's BatchSize change is not planned: %+v", update)
			}
			reEnabled := update.Update.Enabled != nil && *update.Update.Enabled
			if tt.want == "" {
				if held != "" || !reEnabled {
					t.Errorf("held %q, re-enabled %v; want re-enabled", held, reEnabled)
				}
				return
			}
			if !strings.Contains(held, tt.want) || !strings.Contains(held, "not re-enabled") || reEnabled || update.Enabled {
				t.Errorf("held %q, re-enabled %v (op.Enabled %v); want left disabled, the reason naming %s", held, reEnabled, update.Enabled, tt.want)
			}
		})
	}
}

// TestPositionLoss says which replacements lose a consumer's position and
// what the new mapping reads instead.
func TestPositionLoss(t *testing.T) {
	group := &definition.KafkaEventSourceConfig{ConsumerGroupId: p("orders")}
	for _, tt := range []struct {
		name string
		m    definition.Mapping
		want string
	}{
		{"queue", definition.Mapping{EventSourceArn: p(queue)}, ""},
		{"stream LATEST", definition.Mapping{EventSourceArn: p(stream), StartingPosition: p("LATEST")}, "LATEST skips"},
		{"stream TRIM_HORIZON", definition.Mapping{EventSourceArn: p(ddb), StartingPosition: p("TRIM_HORIZON")}, "TRIM_HORIZON reads the whole retention window again"},
		{"AT_TIMESTAMP", definition.Mapping{EventSourceArn: p(stream), StartingPosition: p("AT_TIMESTAMP")}, "from StartingPositionTimestamp"},
		{"kafka, default group", definition.Mapping{Topics: []string{"t"}, StartingPosition: p("LATEST")}, "LATEST skips"},
		{"kafka, named group keeps its offsets", definition.Mapping{Topics: []string{"t"}, StartingPosition: p("LATEST"), AmazonManagedKafkaEventSourceConfig: group}, ""},
		{"self-managed kafka, named group", definition.Mapping{Topics: []string{"t"}, StartingPosition: p("TRIM_HORIZON"), SelfManagedKafkaEventSourceConfig: group}, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := positionLoss(tt.m)
			if (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) {
				t.Errorf("positionLoss = %q, want one containing %q", got, tt.want)
			}
		})
	}
}
