// Package definition parses and validates _lambdaeventsourcedef.json files.
//
// It makes no AWS call: everything here is decided from the file (and an
// optional sibling _lambdadef.json) alone.
//
// It is plain data: it imports the standard library, internal/contract,
// funcref, lazyre and the schema, never the SDK, an adapter or anything
// that calls AWS (internal/layers checks).
package definition

// Service values of push event sources.
const (
	ServiceELB        = "elasticloadbalancing.amazonaws.com"
	ServiceAPIGateway = "apigateway.amazonaws.com"
)

// File is one parsed and validated definition file.
type File struct {
	// Path is the file's name as given to Parse (a path or an S3 key).
	Path string
	// Function is the resolved target function, exactly as written in the
	// file (a name, a partial ARN, a full ARN, possibly qualified with an
	// alias or version). Never empty in a File that Parse returned.
	Function string
	// Push holds PushEventSources, in file order.
	Push []PushSource
	// Pull holds PullEventSources.EventSourceMapping, always as a list, in
	// file order.
	Pull []Mapping

	// Where the file names Function (and by which JSON path), and where
	// each push source starts, for errors about files as a whole (see
	// Conflicts). Zero when unknown (the function named by the sibling
	// _lambdadef.json, or a File not made by Parse).
	functionAt   position
	functionPath string
	pushAt       []position
	// fields are the file's string values with their paths and
	// positions, in file order (see Fields).
	fields []Field
	// functionDef is the FunctionName of the sibling _lambdadef.json
	// (functionDefFile) the file was parsed with, if any.
	functionDef     Field
	functionDefFile string
}

// Field is one string value of a definition file, where it is written,
// so that an error about the value (AWS refused the queue it names) can
// point at it as validation errors do.
type Field struct {
	// Path is its JSON path, e.g. PullEventSources.EventSourceMapping.EventSourceArn.
	Path  string
	Value string
	// Line and Column are 1-based, of the value; Column counts bytes.
	Line, Column int
}

// Fields returns the file's string values, in file order (nil for a File
// not made by Parse).
func (f *File) Fields() []Field { return f.fields }

// FunctionDef returns the FunctionName of the sibling _lambdadef.json
// the file was parsed with, where that file writes it, and the sibling's
// name (as errors name it); ok is false when there was no sibling or it
// named no function.
func (f *File) FunctionDef() (file string, fd Field, ok bool) {
	return f.functionDefFile, f.functionDef, f.functionDefFile != ""
}

// FunctionField returns the JSON path of the field that names the
// function in the file itself, or "" when the sibling _lambdadef.json
// names it.
func (f *File) FunctionField() string { return f.functionPath }

// ErrorAt returns an Error about the value at path, at its position (line
// 0, the file as a whole, when the file has no string value there).
func (f *File) ErrorAt(path, msg string) *Error {
	e := &Error{File: f.Path, Path: path, Msg: msg}
	for _, fd := range f.fields {
		if fd.Path == path {
			e.Line, e.Column = fd.Line, fd.Column
			break
		}
	}
	return e
}

// PushSource is one entry of PushEventSources. Service tells which of the
// other fields apply.
type PushSource struct {
	Service string `json:"Service"`
	// Elastic Load Balancing.
	TargetGroupArn string `json:"TargetGroupArn,omitempty"`
	// API Gateway (HTTP API, v2).
	ApiId                  string `json:"ApiId,omitempty"`
	RouteId                string `json:"RouteId,omitempty"`
	AliasStageVariableName string `json:"AliasStageVariableName,omitempty"`
}

// Mapping is the request of Lambda's CreateEventSourceMapping, field for
// field (all 28 request fields of the API). A nil pointer or nil slice means
// the field is absent from the file.
type Mapping struct {
	AmazonManagedKafkaEventSourceConfig *KafkaEventSourceConfig     `json:"AmazonManagedKafkaEventSourceConfig,omitempty"`
	BatchSize                           *int32                      `json:"BatchSize,omitempty"`
	BisectBatchOnFunctionError          *bool                       `json:"BisectBatchOnFunctionError,omitempty"`
	DestinationConfig                   *DestinationConfig          `json:"DestinationConfig,omitempty"`
	DocumentDBEventSourceConfig         *DocumentDBConfig           `json:"DocumentDBEventSourceConfig,omitempty"`
	Enabled                             *bool                       `json:"Enabled,omitempty"`
	EventSourceArn                      *string                     `json:"EventSourceArn,omitempty"`
	FilterCriteria                      *FilterCriteria             `json:"FilterCriteria,omitempty"`
	FunctionName                        *string                     `json:"FunctionName,omitempty"`
	FunctionResponseTypes               []string                    `json:"FunctionResponseTypes,omitempty"`
	KMSKeyArn                           *string                     `json:"KMSKeyArn,omitempty"`
	LoggingConfig                       *LoggingConfig              `json:"LoggingConfig,omitempty"`
	MaximumBatchingWindowInSeconds      *int32                      `json:"MaximumBatchingWindowInSeconds,omitempty"`
	MaximumRecordAgeInSeconds           *int32                      `json:"MaximumRecordAgeInSeconds,omitempty"`
	MaximumRetryAttempts                *int32                      `json:"MaximumRetryAttempts,omitempty"`
	MetricsConfig                       *MetricsConfig              `json:"MetricsConfig,omitempty"`
	ParallelizationFactor               *int32                      `json:"ParallelizationFactor,omitempty"`
	ProvisionedPollerConfig             *ProvisionedPollerConfig    `json:"ProvisionedPollerConfig,omitempty"`
	Queues                              []string                    `json:"Queues,omitempty"`
	ScalingConfig                       *ScalingConfig              `json:"ScalingConfig,omitempty"`
	SelfManagedEventSource              *SelfManagedEventSource     `json:"SelfManagedEventSource,omitempty"`
	SelfManagedKafkaEventSourceConfig   *KafkaEventSourceConfig     `json:"SelfManagedKafkaEventSourceConfig,omitempty"`
	SourceAccessConfigurations          []SourceAccessConfiguration `json:"SourceAccessConfigurations,omitempty"`
	StartingPosition                    *string                     `json:"StartingPosition,omitempty"`
	// StartingPositionTimestamp is Unix time in seconds (the API's JSON
	// timestamp form).
	StartingPositionTimestamp *float64          `json:"StartingPositionTimestamp,omitempty"`
	Tags                      map[string]string `json:"Tags,omitempty"`
	Topics                    []string          `json:"Topics,omitempty"`
	TumblingWindowInSeconds   *int32            `json:"TumblingWindowInSeconds,omitempty"`
}

// KafkaEventSourceConfig is AmazonManagedKafkaEventSourceConfig and
// SelfManagedKafkaEventSourceConfig (ConsumptionMode is only valid in the
// self-managed one).
type KafkaEventSourceConfig struct {
	ConsumerGroupId      *string               `json:"ConsumerGroupId,omitempty"`
	ConsumptionMode      *string               `json:"ConsumptionMode,omitempty"`
	SchemaRegistryConfig *SchemaRegistryConfig `json:"SchemaRegistryConfig,omitempty"`
}

type SchemaRegistryConfig struct {
	AccessConfigs           []SchemaRegistryAccessConfig `json:"AccessConfigs,omitempty"`
	EventRecordFormat       *string                      `json:"EventRecordFormat,omitempty"`
	SchemaRegistryURI       *string                      `json:"SchemaRegistryURI,omitempty"`
	SchemaValidationConfigs []SchemaValidationConfig     `json:"SchemaValidationConfigs,omitempty"`
}

type SchemaRegistryAccessConfig struct {
	Type *string `json:"Type,omitempty"`
	URI  *string `json:"URI,omitempty"`
}

type SchemaValidationConfig struct {
	Attribute *string `json:"Attribute,omitempty"`
}

type DestinationConfig struct {
	OnFailure *Destination `json:"OnFailure,omitempty"`
	OnSuccess *Destination `json:"OnSuccess,omitempty"`
}

type Destination struct {
	Destination *string `json:"Destination,omitempty"`
}

type DocumentDBConfig struct {
	CollectionName *string `json:"CollectionName,omitempty"`
	DatabaseName   *string `json:"DatabaseName,omitempty"`
	FullDocument   *string `json:"FullDocument,omitempty"`
}

type FilterCriteria struct {
	Filters []Filter `json:"Filters"`
}

type Filter struct {
	Pattern *string `json:"Pattern,omitempty"`
}

type LoggingConfig struct {
	SystemLogLevel *string `json:"SystemLogLevel,omitempty"`
}

type MetricsConfig struct {
	Metrics []string `json:"Metrics"`
}

type ProvisionedPollerConfig struct {
	MaximumPollers  *int32  `json:"MaximumPollers,omitempty"`
	MinimumPollers  *int32  `json:"MinimumPollers,omitempty"`
	PollerGroupName *string `json:"PollerGroupName,omitempty"`
}

type ScalingConfig struct {
	MaximumConcurrency *int32 `json:"MaximumConcurrency,omitempty"`
}

type SelfManagedEventSource struct {
	Endpoints map[string][]string `json:"Endpoints,omitempty"`
}

type SourceAccessConfiguration struct {
	Type *string `json:"Type,omitempty"`
	URI  *string `json:"URI,omitempty"`
}
