package pull

import (
	"encoding/json"
	"sort"
	"strings"

	"github.com/eventwire/eventwire/internal/definition"
	"github.com/eventwire/eventwire/internal/plan"
)

// updField is one field that UpdateEventSourceMapping can change.
type updField struct {
	name string
	// get returns the field of m normalised for comparison: nil when the
	// field is absent or empty, lists that are sets sorted, filter patterns
	// as canonical JSON.
	get func(m *definition.Mapping) any
	// set puts want (a value get returned, or nil to clear the setting that
	// have holds) into the update request m.
	set func(m *definition.Mapping, want, have any)
	// clearable: a field absent from the file is cleared when AWS has it.
	// A field that is neither clearable nor has a service default is left
	// as AWS has it when the file does not set it.
	clearable bool
}

// updFields are the updatable fields of a mapping, in the order of the
// API reference (alphabetical), which is the order of plan changes.
var updFields = []updField{
	{
		name: "AmazonManagedKafkaEventSourceConfig.SchemaRegistryConfig",
		get: func(m *definition.Mapping) any {
			if m.AmazonManagedKafkaEventSourceConfig == nil {
				return nil
			}
			return schemaRegistry(m.AmazonManagedKafkaEventSourceConfig.SchemaRegistryConfig)
		},
		set: func(m *definition.Mapping, want, _ any) {
			m.AmazonManagedKafkaEventSourceConfig = &definition.KafkaEventSourceConfig{
				SchemaRegistryConfig: want.(*definition.SchemaRegistryConfig),
			}
		},
	},
	scalar("BatchSize", func(m *definition.Mapping) **int32 { return &m.BatchSize }),
	scalar("BisectBatchOnFunctionError", func(m *definition.Mapping) **bool { return &m.BisectBatchOnFunctionError }),
	{
		name: "DestinationConfig",
		get: func(m *definition.Mapping) any {
			d := m.DestinationConfig
			if d == nil {
				return nil
			}
			v := destinations{}
			if d.OnFailure != nil {
				v.OnFailure = deref(d.OnFailure.Destination)
			}
			if d.OnSuccess != nil {
				v.OnSuccess = deref(d.OnSuccess.Destination)
			}
			if v == (destinations{}) {
				return nil
			}
			return v
		},
		set: func(m *definition.Mapping, want, have any) {
			w, _ := want.(destinations)
			h, _ := have.(destinations)
			d := &definition.DestinationConfig{}
			// A destination that AWS has and the file drops is sent as an
			// empty string, which removes it: the API accepts
			// {"Destination": ""} but refuses an OnFailure without a
			// Destination ("The Destination field is required for an
			// OnFailure configuration").
			if w.OnFailure != "" || h.OnFailure != "" {
				d.OnFailure = &definition.Destination{Destination: &w.OnFailure}
			}
			if w.OnSuccess != "" || h.OnSuccess != "" {
				d.OnSuccess = &definition.Destination{Destination: &w.OnSuccess}
			}
			m.DestinationConfig = d
		},
		clearable: true,
	},
	{
		name: "DocumentDBEventSourceConfig",
		get: func(m *definition.Mapping) any {
			d := m.DocumentDBEventSourceConfig
			if d == nil {
				return nil
			}
			c := definition.DocumentDBConfig{
				CollectionName: d.CollectionName, DatabaseName: d.DatabaseName, FullDocument: d.FullDocument,
			}
			if deref(c.FullDocument) == "" {
				// The API's default (FullDocument: "Default"), as AWS
				// reports it when the request leaves it out.
				c.FullDocument = strPtr("Default")
			}
			return c
		},
		set: func(m *definition.Mapping, want, _ any) {
			d := want.(definition.DocumentDBConfig)
			m.DocumentDBEventSourceConfig = &d
		},
	},
	scalar("Enabled", func(m *definition.Mapping) **bool { return &m.Enabled }),
	{
		name: "FilterCriteria",
		get: func(m *definition.Mapping) any {
			if m.FilterCriteria == nil || len(m.FilterCriteria.Filters) == 0 {
				return nil
			}
			var ps []string
			for _, f := range m.FilterCriteria.Filters {
				ps = append(ps, canonicalJSON(deref(f.Pattern)))
			}
			sort.Strings(ps)
			return ps
		},
		set: func(m *definition.Mapping, want, _ any) {
			fc := &definition.FilterCriteria{Filters: []definition.Filter{}}
			for _, p := range asStrings(want) {
				fc.Filters = append(fc.Filters, definition.Filter{Pattern: strPtr(p)})
			}
			m.FilterCriteria = fc
		},
		clearable: true,
	},
	{
		name: "FunctionResponseTypes",
		get:  func(m *definition.Mapping) any { return stringSet(m.FunctionResponseTypes) },
		set: func(m *definition.Mapping, want, _ any) {
			m.FunctionResponseTypes = append([]string{}, asStrings(want)...)
		},
		clearable: true,
	},
	{
		name: "KMSKeyArn",
		get: func(m *definition.Mapping) any {
			if deref(m.KMSKeyArn) == "" {
				return nil
			}
			return *m.KMSKeyArn
		},
		set: func(m *definition.Mapping, want, _ any) {
			s, _ := want.(string)
			m.KMSKeyArn = &s
		},
		clearable: true,
	},
	{
		name: "LoggingConfig",
		get: func(m *definition.Mapping) any {
			if m.LoggingConfig == nil || deref(m.LoggingConfig.SystemLogLevel) == "" {
				return nil
			}
			return *m.LoggingConfig.SystemLogLevel
		},
		set: func(m *definition.Mapping, want, _ any) {
			m.LoggingConfig = &definition.LoggingConfig{SystemLogLevel: strPtr(want.(string))}
		},
	},
	scalar("MaximumBatchingWindowInSeconds", func(m *definition.Mapping) **int32 { return &m.MaximumBatchingWindowInSeconds }),
	scalar("MaximumRecordAgeInSeconds", func(m *definition.Mapping) **int32 { return &m.MaximumRecordAgeInSeconds }),
	scalar("MaximumRetryAttempts", func(m *definition.Mapping) **int32 { return &m.MaximumRetryAttempts }),
	{
		name: "MetricsConfig",
		get: func(m *definition.Mapping) any {
			if m.MetricsConfig == nil {
				return nil
			}
			return stringSet(m.MetricsConfig.Metrics)
		},
		set: func(m *definition.Mapping, want, _ any) {
			m.MetricsConfig = &definition.MetricsConfig{Metrics: append([]string{}, asStrings(want)...)}
		},
		clearable: true,
	},
	scalar("ParallelizationFactor", func(m *definition.Mapping) **int32 { return &m.ParallelizationFactor }),
	{
		name: "ProvisionedPollerConfig",
		get: func(m *definition.Mapping) any {
			p := m.ProvisionedPollerConfig
			if p == nil || (p.MaximumPollers == nil && p.MinimumPollers == nil && deref(p.PollerGroupName) == "") {
				return nil
			}
			// A bound left out is the documented default (API reference,
			// ProvisionedPollerConfig: MaximumPollers 200; MinimumPollers 2
			// for SQS, 1 for MSK and self-managed Kafka), which AWS may
			// report: the same on both sides, it is no difference.
			v := pollers{Max: p.MaximumPollers, Min: p.MinimumPollers, Group: deref(p.PollerGroupName)}
			if v.Max == nil {
				v.Max = int32Ptr(200)
			}
			if v.Min == nil {
				v.Min = int32Ptr(1)
				if definition.MappingSourceType(*m) == definition.SourceSQS {
					v.Min = int32Ptr(2)
				}
			}
			return v
		},
		set: func(m *definition.Mapping, want, _ any) {
			p := &definition.ProvisionedPollerConfig{}
			if w, ok := want.(pollers); ok {
				p.MaximumPollers, p.MinimumPollers, p.PollerGroupName = w.Max, w.Min, strPtr(w.Group)
			}
			m.ProvisionedPollerConfig = p
		},
		clearable: true,
	},
	{
		name: "ScalingConfig",
		get: func(m *definition.Mapping) any {
			if m.ScalingConfig == nil || m.ScalingConfig.MaximumConcurrency == nil {
				return nil
			}
			return scaling{MaximumConcurrency: *m.ScalingConfig.MaximumConcurrency}
		},
		set: func(m *definition.Mapping, want, _ any) {
			s := &definition.ScalingConfig{}
			if w, ok := want.(scaling); ok {
				s.MaximumConcurrency = &w.MaximumConcurrency
			}
			m.ScalingConfig = s
		},
		clearable: true,
	},
	{
		name: "SelfManagedKafkaEventSourceConfig.SchemaRegistryConfig",
		get: func(m *definition.Mapping) any {
			if m.SelfManagedKafkaEventSourceConfig == nil {
				return nil
			}
			return schemaRegistry(m.SelfManagedKafkaEventSourceConfig.SchemaRegistryConfig)
		},
		set: func(m *definition.Mapping, want, _ any) {
			m.SelfManagedKafkaEventSourceConfig = &definition.KafkaEventSourceConfig{
				SchemaRegistryConfig: want.(*definition.SchemaRegistryConfig),
			}
		},
	},
	{
		name: "SourceAccessConfigurations",
		get: func(m *definition.Mapping) any {
			if len(m.SourceAccessConfigurations) == 0 {
				return nil
			}
			var v []string
			for _, a := range m.SourceAccessConfigurations {
				v = append(v, deref(a.Type)+"="+deref(a.URI))
			}
			sort.Strings(v)
			return v
		},
		set: func(m *definition.Mapping, want, _ any) {
			m.SourceAccessConfigurations = []definition.SourceAccessConfiguration{}
			for _, s := range asStrings(want) {
				t, u, _ := strings.Cut(s, "=")
				m.SourceAccessConfigurations = append(m.SourceAccessConfigurations,
					definition.SourceAccessConfiguration{Type: strPtr(t), URI: strPtr(u)})
			}
		},
		clearable: true,
	},
	scalar("TumblingWindowInSeconds", func(m *definition.Mapping) **int32 { return &m.TumblingWindowInSeconds }),
}

type destinations struct {
	OnFailure string `json:"OnFailure,omitempty"`
	OnSuccess string `json:"OnSuccess,omitempty"`
}

type scaling struct {
	MaximumConcurrency int32
}

type pollers struct {
	Max   *int32 `json:"MaximumPollers,omitempty"`
	Min   *int32 `json:"MinimumPollers,omitempty"`
	Group string `json:"PollerGroupName,omitempty"`
}

// scalar is an updatable field held in a pointer to a comparable value.
func scalar[T comparable](name string, field func(*definition.Mapping) **T) updField {
	return updField{
		name: name,
		get: func(m *definition.Mapping) any {
			p := *field(m)
			if p == nil {
				return nil
			}
			return *p
		},
		set: func(m *definition.Mapping, want, _ any) {
			v := want.(T)
			*field(m) = &v
		},
	}
}

func schemaRegistry(s *definition.SchemaRegistryConfig) any {
	if s == nil {
		return nil
	}
	c := *s
	return &c
}

// canonicalJSON re-encodes a JSON text with sorted keys and no spaces, so
// that two filter patterns that differ only in formatting compare equal. A
// text that is not JSON is returned as it is.
func canonicalJSON(s string) string {
	var v any
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	if err := d.Decode(&v); err != nil {
		return s
	}
	b, err := json.Marshal(v)
	if err != nil {
		return s
	}
	return string(b)
}

func stringSet(s []string) any {
	if len(s) == 0 {
		return nil
	}
	c := append([]string{}, s...)
	sort.Strings(c)
	return c
}

func asStrings(v any) []string {
	s, _ := v.([]string)
	return s
}

func int32Ptr(v int32) *int32 { return &v }

func strPtr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// show renders a normalised field value for a plan.
func show(v any) string { return plan.Show(v) }
