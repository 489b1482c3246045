package lambdasvc

import (
	"math"
	"reflect"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/eventwire/eventwire/internal/definition"
	"github.com/eventwire/eventwire/internal/wiring"
)

// Conversion between the file's types (definition.Mapping) and the SDK's.
// A nil pointer or nil slice stays nil both ways; a non-nil empty slice or
// struct stays empty, so that an explicit empty (FilterCriteria{Filters:
// []}) reaches AWS and clears the setting.

// createInput converts a mapping of the file to the request of
// CreateEventSourceMapping, all 28 fields.
func createInput(m definition.Mapping) *lambda.CreateEventSourceMappingInput {
	return &lambda.CreateEventSourceMappingInput{
		AmazonManagedKafkaEventSourceConfig: amazonKafkaToSDK(m.AmazonManagedKafkaEventSourceConfig),
		BatchSize:                           m.BatchSize,
		BisectBatchOnFunctionError:          m.BisectBatchOnFunctionError,
		DestinationConfig:                   destinationToSDK(m.DestinationConfig),
		DocumentDBEventSourceConfig:         documentDBToSDK(m.DocumentDBEventSourceConfig),
		Enabled:                             m.Enabled,
		EventSourceArn:                      m.EventSourceArn,
		FilterCriteria:                      filterToSDK(m.FilterCriteria),
		FunctionName:                        m.FunctionName,
		FunctionResponseTypes:               enumsToSDK[types.FunctionResponseType](m.FunctionResponseTypes),
		KMSKeyArn:                           m.KMSKeyArn,
		LoggingConfig:                       loggingToSDK(m.LoggingConfig),
		MaximumBatchingWindowInSeconds:      m.MaximumBatchingWindowInSeconds,
		MaximumRecordAgeInSeconds:           m.MaximumRecordAgeInSeconds,
		MaximumRetryAttempts:                m.MaximumRetryAttempts,
		MetricsConfig:                       metricsToSDK(m.MetricsConfig),
		ParallelizationFactor:               m.ParallelizationFactor,
		ProvisionedPollerConfig:             pollerToSDK(m.ProvisionedPollerConfig),
		Queues:                              cloneStrings(m.Queues),
		ScalingConfig:                       scalingToSDK(m.ScalingConfig),
		SelfManagedEventSource:              selfManagedToSDK(m.SelfManagedEventSource),
		SelfManagedKafkaEventSourceConfig:   selfKafkaToSDK(m.SelfManagedKafkaEventSourceConfig),
		SourceAccessConfigurations:          accessToSDK(m.SourceAccessConfigurations),
		StartingPosition:                    types.EventSourcePosition(deref(m.StartingPosition)),
		StartingPositionTimestamp:           timeToSDK(m.StartingPositionTimestamp),
		Tags:                                cloneMap(m.Tags),
		Topics:                              cloneStrings(m.Topics),
		TumblingWindowInSeconds:             m.TumblingWindowInSeconds,
	}
}

// updateInput converts the updatable fields of m to the request of
// UpdateEventSourceMapping. Fields that the API cannot update
// (EventSourceArn, StartingPosition, StartingPositionTimestamp, Queues,
// Topics, SelfManagedEventSource, Tags) are not sent.
func updateInput(uuid string, m definition.Mapping) *lambda.UpdateEventSourceMappingInput {
	return &lambda.UpdateEventSourceMappingInput{
		UUID:                                &uuid,
		AmazonManagedKafkaEventSourceConfig: amazonKafkaToSDK(m.AmazonManagedKafkaEventSourceConfig),
		BatchSize:                           m.BatchSize,
		BisectBatchOnFunctionError:          m.BisectBatchOnFunctionError,
		DestinationConfig:                   destinationToSDK(m.DestinationConfig),
		DocumentDBEventSourceConfig:         documentDBToSDK(m.DocumentDBEventSourceConfig),
		Enabled:                             m.Enabled,
		FilterCriteria:                      filterToSDK(m.FilterCriteria),
		FunctionName:                        m.FunctionName,
		FunctionResponseTypes:               enumsToSDK[types.FunctionResponseType](m.FunctionResponseTypes),
		KMSKeyArn:                           m.KMSKeyArn,
		LoggingConfig:                       loggingToSDK(m.LoggingConfig),
		MaximumBatchingWindowInSeconds:      m.MaximumBatchingWindowInSeconds,
		MaximumRecordAgeInSeconds:           m.MaximumRecordAgeInSeconds,
		MaximumRetryAttempts:                m.MaximumRetryAttempts,
		MetricsConfig:                       metricsToSDK(m.MetricsConfig),
		ParallelizationFactor:               m.ParallelizationFactor,
		ProvisionedPollerConfig:             pollerToSDK(m.ProvisionedPollerConfig),
		ScalingConfig:                       scalingToSDK(m.ScalingConfig),
		SelfManagedKafkaEventSourceConfig:   selfKafkaToSDK(m.SelfManagedKafkaEventSourceConfig),
		SourceAccessConfigurations:          accessToSDK(m.SourceAccessConfigurations),
		TumblingWindowInSeconds:             m.TumblingWindowInSeconds,
	}
}

// observed converts what AWS reports of a mapping. AWS reports no Enabled
// field: it is derived from State (Disabled and Disabling are disabled).
// FunctionName is set to the FunctionArn that AWS reports. Tags are not part
// of the configuration (ListTags reads them).
func observed(c types.EventSourceMappingConfiguration) wiring.Mapping {
	m := definition.Mapping{
		AmazonManagedKafkaEventSourceConfig: amazonKafkaFromSDK(c.AmazonManagedKafkaEventSourceConfig),
		BatchSize:                           c.BatchSize,
		BisectBatchOnFunctionError:          c.BisectBatchOnFunctionError,
		DestinationConfig:                   destinationFromSDK(c.DestinationConfig),
		DocumentDBEventSourceConfig:         documentDBFromSDK(c.DocumentDBEventSourceConfig),
		EventSourceArn:                      c.EventSourceArn,
		FilterCriteria:                      filterFromSDK(c.FilterCriteria),
		FunctionName:                        c.FunctionArn,
		FunctionResponseTypes:               enumsFromSDK(c.FunctionResponseTypes),
		KMSKeyArn:                           c.KMSKeyArn,
		LoggingConfig:                       loggingFromSDK(c.LoggingConfig),
		MaximumBatchingWindowInSeconds:      c.MaximumBatchingWindowInSeconds,
		MaximumRecordAgeInSeconds:           c.MaximumRecordAgeInSeconds,
		MaximumRetryAttempts:                c.MaximumRetryAttempts,
		MetricsConfig:                       metricsFromSDK(c.MetricsConfig),
		ParallelizationFactor:               c.ParallelizationFactor,
		ProvisionedPollerConfig:             pollerFromSDK(c.ProvisionedPollerConfig),
		Queues:                              cloneStrings(c.Queues),
		ScalingConfig:                       scalingFromSDK(c.ScalingConfig),
		SelfManagedEventSource:              selfManagedFromSDK(c.SelfManagedEventSource),
		SelfManagedKafkaEventSourceConfig:   selfKafkaFromSDK(c.SelfManagedKafkaEventSourceConfig),
		SourceAccessConfigurations:          accessFromSDK(c.SourceAccessConfigurations),
		StartingPosition:                    ptrIf(string(c.StartingPosition)),
		StartingPositionTimestamp:           timeFromSDK(c.StartingPositionTimestamp),
		Topics:                              cloneStrings(c.Topics),
		TumblingWindowInSeconds:             c.TumblingWindowInSeconds,
	}
	state := deref(c.State)
	if state != "" {
		enabled := state != wiring.StateDisabled && state != wiring.StateDisabling
		m.Enabled = &enabled
	}
	var filterErr string
	if e := c.FilterCriteriaError; e != nil {
		filterErr = deref(e.ErrorCode) + ": " + deref(e.Message)
	}
	return wiring.Mapping{
		FilterCriteriaError:   filterErr,
		UUID:                  deref(c.UUID),
		ARN:                   deref(c.EventSourceMappingArn),
		FunctionArn:           deref(c.FunctionArn),
		State:                 state,
		StateTransitionReason: deref(c.StateTransitionReason),
		LastProcessingResult:  deref(c.LastProcessingResult),
		Mapping:               m,
	}
}

// configOf copies the fields of an operation's output (Create, Get, Update,
// Delete EventSourceMapping outputs all carry the fields of
// EventSourceMappingConfiguration, under the same names and types) into an
// EventSourceMappingConfiguration, so that one conversion serves them all.
func configOf(out any) types.EventSourceMappingConfiguration {
	var c types.EventSourceMappingConfiguration
	dst := reflect.ValueOf(&c).Elem()
	src := reflect.Indirect(reflect.ValueOf(out))
	if !src.IsValid() {
		return c
	}
	for i := 0; i < dst.NumField(); i++ {
		f := dst.Type().Field(i)
		if !f.IsExported() {
			continue
		}
		v := src.FieldByName(f.Name)
		if v.IsValid() && v.Type() == f.Type {
			dst.Field(i).Set(v)
		}
	}
	return c
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func ptrIf(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func cloneStrings(s []string) []string {
	if s == nil {
		return nil
	}
	return append([]string{}, s...)
}

func cloneMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	c := make(map[string]string, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

func enumsToSDK[E ~string](s []string) []E {
	if s == nil {
		return nil
	}
	out := make([]E, len(s))
	for i, v := range s {
		out[i] = E(v)
	}
	return out
}

func enumsFromSDK[E ~string](s []E) []string {
	if s == nil {
		return nil
	}
	out := make([]string, len(s))
	for i, v := range s {
		out[i] = string(v)
	}
	return out
}

// timeToSDK converts Unix seconds (with a fraction) to a time.
func timeToSDK(sec *float64) *time.Time {
	if sec == nil {
		return nil
	}
	whole, frac := math.Modf(*sec)
	t := time.Unix(int64(whole), int64(math.Round(frac*1e9))).UTC()
	return &t
}

func timeFromSDK(t *time.Time) *float64 {
	if t == nil {
		return nil
	}
	sec := float64(t.Unix()) + float64(t.Nanosecond())/1e9
	return &sec
}

func amazonKafkaToSDK(k *definition.KafkaEventSourceConfig) *types.AmazonManagedKafkaEventSourceConfig {
	if k == nil {
		return nil
	}
	return &types.AmazonManagedKafkaEventSourceConfig{
		ConsumerGroupId:      k.ConsumerGroupId,
		SchemaRegistryConfig: schemaRegistryToSDK(k.SchemaRegistryConfig),
	}
}

func amazonKafkaFromSDK(k *types.AmazonManagedKafkaEventSourceConfig) *definition.KafkaEventSourceConfig {
	if k == nil {
		return nil
	}
	return &definition.KafkaEventSourceConfig{
		ConsumerGroupId:      k.ConsumerGroupId,
		SchemaRegistryConfig: schemaRegistryFromSDK(k.SchemaRegistryConfig),
	}
}

func selfKafkaToSDK(k *definition.KafkaEventSourceConfig) *types.SelfManagedKafkaEventSourceConfig {
	if k == nil {
		return nil
	}
	return &types.SelfManagedKafkaEventSourceConfig{
		ConsumerGroupId:      k.ConsumerGroupId,
		ConsumptionMode:      types.KafkaEventSourceMappingConsumptionMode(deref(k.ConsumptionMode)),
		SchemaRegistryConfig: schemaRegistryToSDK(k.SchemaRegistryConfig),
	}
}

func selfKafkaFromSDK(k *types.SelfManagedKafkaEventSourceConfig) *definition.KafkaEventSourceConfig {
	if k == nil {
		return nil
	}
	return &definition.KafkaEventSourceConfig{
		ConsumerGroupId:      k.ConsumerGroupId,
		ConsumptionMode:      ptrIf(string(k.ConsumptionMode)),
		SchemaRegistryConfig: schemaRegistryFromSDK(k.SchemaRegistryConfig),
	}
}

func schemaRegistryToSDK(s *definition.SchemaRegistryConfig) *types.KafkaSchemaRegistryConfig {
	if s == nil {
		return nil
	}
	out := &types.KafkaSchemaRegistryConfig{
		EventRecordFormat: types.SchemaRegistryEventRecordFormat(deref(s.EventRecordFormat)),
		SchemaRegistryURI: s.SchemaRegistryURI,
	}
	if s.AccessConfigs != nil {
		out.AccessConfigs = make([]types.KafkaSchemaRegistryAccessConfig, len(s.AccessConfigs))
		for i, a := range s.AccessConfigs {
			out.AccessConfigs[i] = types.KafkaSchemaRegistryAccessConfig{
				Type: types.KafkaSchemaRegistryAuthType(deref(a.Type)), URI: a.URI,
			}
		}
	}
	if s.SchemaValidationConfigs != nil {
		out.SchemaValidationConfigs = make([]types.KafkaSchemaValidationConfig, len(s.SchemaValidationConfigs))
		for i, v := range s.SchemaValidationConfigs {
			out.SchemaValidationConfigs[i] = types.KafkaSchemaValidationConfig{
				Attribute: types.KafkaSchemaValidationAttribute(deref(v.Attribute)),
			}
		}
	}
	return out
}

func schemaRegistryFromSDK(s *types.KafkaSchemaRegistryConfig) *definition.SchemaRegistryConfig {
	if s == nil {
		return nil
	}
	out := &definition.SchemaRegistryConfig{
		EventRecordFormat: ptrIf(string(s.EventRecordFormat)),
		SchemaRegistryURI: s.SchemaRegistryURI,
	}
	if s.AccessConfigs != nil {
		out.AccessConfigs = make([]definition.SchemaRegistryAccessConfig, len(s.AccessConfigs))
		for i, a := range s.AccessConfigs {
			out.AccessConfigs[i] = definition.SchemaRegistryAccessConfig{Type: ptrIf(string(a.Type)), URI: a.URI}
		}
	}
	if s.SchemaValidationConfigs != nil {
		out.SchemaValidationConfigs = make([]definition.SchemaValidationConfig, len(s.SchemaValidationConfigs))
		for i, v := range s.SchemaValidationConfigs {
			out.SchemaValidationConfigs[i] = definition.SchemaValidationConfig{Attribute: ptrIf(string(v.Attribute))}
		}
	}
	return out
}

func destinationToSDK(d *definition.DestinationConfig) *types.DestinationConfig {
	if d == nil {
		return nil
	}
	out := &types.DestinationConfig{}
	if d.OnFailure != nil {
		out.OnFailure = &types.OnFailure{Destination: d.OnFailure.Destination}
	}
	if d.OnSuccess != nil {
		out.OnSuccess = &types.OnSuccess{Destination: d.OnSuccess.Destination}
	}
	return out
}

func destinationFromSDK(d *types.DestinationConfig) *definition.DestinationConfig {
	if d == nil {
		return nil
	}
	out := &definition.DestinationConfig{}
	if d.OnFailure != nil {
		out.OnFailure = &definition.Destination{Destination: d.OnFailure.Destination}
	}
	if d.OnSuccess != nil {
		out.OnSuccess = &definition.Destination{Destination: d.OnSuccess.Destination}
	}
	return out
}

func documentDBToSDK(d *definition.DocumentDBConfig) *types.DocumentDBEventSourceConfig {
	if d == nil {
		return nil
	}
	return &types.DocumentDBEventSourceConfig{
		CollectionName: d.CollectionName,
		DatabaseName:   d.DatabaseName,
		FullDocument:   types.FullDocument(deref(d.FullDocument)),
	}
}

func documentDBFromSDK(d *types.DocumentDBEventSourceConfig) *definition.DocumentDBConfig {
	if d == nil {
		return nil
	}
	return &definition.DocumentDBConfig{
		CollectionName: d.CollectionName,
		DatabaseName:   d.DatabaseName,
		FullDocument:   ptrIf(string(d.FullDocument)),
	}
}

func filterToSDK(f *definition.FilterCriteria) *types.FilterCriteria {
	if f == nil {
		return nil
	}
	// Always a non-nil list: an empty FilterCriteria clears the filters.
	out := &types.FilterCriteria{Filters: make([]types.Filter, len(f.Filters))}
	for i, x := range f.Filters {
		out.Filters[i] = types.Filter{Pattern: x.Pattern}
	}
	return out
}

func filterFromSDK(f *types.FilterCriteria) *definition.FilterCriteria {
	if f == nil {
		return nil
	}
	out := &definition.FilterCriteria{}
	if f.Filters != nil {
		out.Filters = make([]definition.Filter, len(f.Filters))
		for i, x := range f.Filters {
			out.Filters[i] = definition.Filter{Pattern: x.Pattern}
		}
	}
	return out
}

func loggingToSDK(l *definition.LoggingConfig) *types.EventSourceMappingLoggingConfig {
	if l == nil {
		return nil
	}
	return &types.EventSourceMappingLoggingConfig{SystemLogLevel: types.EventSourceMappingSystemLogLevel(deref(l.SystemLogLevel))}
}

func loggingFromSDK(l *types.EventSourceMappingLoggingConfig) *definition.LoggingConfig {
	if l == nil {
		return nil
	}
	return &definition.LoggingConfig{SystemLogLevel: ptrIf(string(l.SystemLogLevel))}
}

func metricsToSDK(m *definition.MetricsConfig) *types.EventSourceMappingMetricsConfig {
	if m == nil {
		return nil
	}
	// Always a non-nil list: an empty MetricsConfig turns metrics off.
	out := enumsToSDK[types.EventSourceMappingMetric](m.Metrics)
	if out == nil {
		out = []types.EventSourceMappingMetric{}
	}
	return &types.EventSourceMappingMetricsConfig{Metrics: out}
}

func metricsFromSDK(m *types.EventSourceMappingMetricsConfig) *definition.MetricsConfig {
	if m == nil {
		return nil
	}
	return &definition.MetricsConfig{Metrics: enumsFromSDK(m.Metrics)}
}

func pollerToSDK(p *definition.ProvisionedPollerConfig) *types.ProvisionedPollerConfig {
	if p == nil {
		return nil
	}
	return &types.ProvisionedPollerConfig{
		MaximumPollers: p.MaximumPollers, MinimumPollers: p.MinimumPollers, PollerGroupName: p.PollerGroupName,
	}
}

func pollerFromSDK(p *types.ProvisionedPollerConfig) *definition.ProvisionedPollerConfig {
	if p == nil {
		return nil
	}
	return &definition.ProvisionedPollerConfig{
		MaximumPollers: p.MaximumPollers, MinimumPollers: p.MinimumPollers, PollerGroupName: p.PollerGroupName,
	}
}

func scalingToSDK(s *definition.ScalingConfig) *types.ScalingConfig {
	if s == nil {
		return nil
	}
	return &types.ScalingConfig{MaximumConcurrency: s.MaximumConcurrency}
}

func scalingFromSDK(s *types.ScalingConfig) *definition.ScalingConfig {
	if s == nil {
		return nil
	}
	return &definition.ScalingConfig{MaximumConcurrency: s.MaximumConcurrency}
}

func selfManagedToSDK(s *definition.SelfManagedEventSource) *types.SelfManagedEventSource {
	if s == nil {
		return nil
	}
	out := &types.SelfManagedEventSource{}
	if s.Endpoints != nil {
		out.Endpoints = make(map[string][]string, len(s.Endpoints))
		for k, v := range s.Endpoints {
			out.Endpoints[k] = cloneStrings(v)
		}
	}
	return out
}

func selfManagedFromSDK(s *types.SelfManagedEventSource) *definition.SelfManagedEventSource {
	if s == nil {
		return nil
	}
	out := &definition.SelfManagedEventSource{}
	if s.Endpoints != nil {
		out.Endpoints = make(map[string][]string, len(s.Endpoints))
		for k, v := range s.Endpoints {
			out.Endpoints[k] = cloneStrings(v)
		}
	}
	return out
}

func accessToSDK(a []definition.SourceAccessConfiguration) []types.SourceAccessConfiguration {
	if a == nil {
		return nil
	}
	out := make([]types.SourceAccessConfiguration, len(a))
	for i, x := range a {
		out[i] = types.SourceAccessConfiguration{Type: types.SourceAccessType(deref(x.Type)), URI: x.URI}
	}
	return out
}

func accessFromSDK(a []types.SourceAccessConfiguration) []definition.SourceAccessConfiguration {
	if a == nil {
		return nil
	}
	out := make([]definition.SourceAccessConfiguration, len(a))
	for i, x := range a {
		out[i] = definition.SourceAccessConfiguration{Type: ptrIf(string(x.Type)), URI: x.URI}
	}
	return out
}
