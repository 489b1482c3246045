package definition

import (
	"encoding/json"
	"regexp"
	"slices"

	"github.com/eventwire/eventwire/internal/contract"
	schemafile "github.com/eventwire/eventwire/schema"
)

//go:generate go run ./gendocs -o sdkdocs_gen.go

// Schema is the JSON Schema (draft 2020-12) of a definition file, checked
// in as schema/lambdaeventsourcedef.schema.json. It is generated from the
// validator's own tables, with each property described by the Lambda API
// reference (sdkdocs_gen.go, from the SDK's doc comments) or by docs below
// (TestSchemaUpToDate keeps the checked-in file current: go test
// ./internal/definition -update).
//
// It says everything Parse checks except what a schema cannot: duplicate
// keys, the target function's resolution (it may come from a sibling file),
// filter patterns being JSON objects, duplicate sources, MinimumPollers not
// above MaximumPollers, a bare function name over 64 characters, integers
// written with a fraction or exponent (10.0), invalid UTF-8.
var Schema = schemafile.JSON

type jsonObj = map[string]any

// docs describes the properties the API reference does not: the top level
// and the push sources (after GitMoxi's documentation of the format).
var docs = map[string]string{
	"":                                    "A Lambda event source definition (GitMoxi's _lambdaeventsourcedef.json, as eventwire reads it): what invokes one function. Push sources are services that call the function (API Gateway HTTP API routes, Elastic Load Balancing target groups); pull sources are event source mappings through which Lambda polls queues and streams. At least one source is required.",
	"FunctionName":                        "The function this file wires: a name or ARN, optionally with a qualifier (orders:live). Optional: without it, the function comes from a sibling _lambdadef.json, then from the pull sources' FunctionName; all that are present must agree. eventwire's addition to GitMoxi's format.",
	"PushEventSources":                    "Services that invoke the function directly (push sources). For each, eventwire grants the service permission to invoke the function and attaches the function to the resource.",
	"PullEventSources":                    "Sources Lambda polls for the function (pull sources): queues, streams, Kafka topics, brokers and change streams, each through an event source mapping.",
	"PullEventSources.EventSourceMapping": "The request of Lambda's CreateEventSourceMapping API, with the API's own field names, passed to AWS as written; a list of them for a function with several pull sources.",
	"Push." + ServiceELB:                  "An Elastic Load Balancing target group that forwards requests to the function.",
	"Push." + ServiceAPIGateway:           "An API Gateway HTTP API route whose integration invokes the function.",
	"Service." + ServiceELB:               "The service that invokes the function: elasticloadbalancing.amazonaws.com for an Elastic Load Balancing target group.",
	"Service." + ServiceAPIGateway:        "The service that invokes the function: apigateway.amazonaws.com for an API Gateway HTTP API route.",
	"TargetGroupArn":                      "The ARN of the target group (of target type lambda) that forwards requests to the function. eventwire registers the function as its target.",
	"ApiId":                               "The id of the API Gateway HTTP API.",
	"RouteId":                             "The id of the API's route that invokes the function. eventwire points the route at an integration with the function.",
	"AliasStageVariableName":              "The name of a stage variable (for example lambdaAlias) whose value, in each stage, names the alias of the function to invoke: stages can run different versions. Optional.",
}

// mappingNotes add eventwire's reading of a request field to the API
// reference's description.
var mappingNotes = map[string]string{
	"FunctionName":              "In a definition file it is optional when the file names the function otherwise (the top-level FunctionName or a sibling _lambdadef.json).",
	"StartingPositionTimestamp": "In a definition file: Unix time in seconds, as the API's JSON protocol sends it.",
}

// mappingDoc is the description of the request field at path.
func mappingDoc(path string) string {
	d := sdkDocs[path]
	if n := mappingNotes[path]; n != "" {
		d += "\n\n" + n
	}
	return d
}

// described returns o with a description.
func described(o jsonObj, description string) jsonObj {
	o["description"] = description
	return o
}

// generateSchema builds Schema from fileSpec, mappingSpec, pushFields and
// sourceRules.
func generateSchema() ([]byte, error) {
	mapping := specSchema(mappingSpec, "")
	mapping["allOf"] = mappingRules()
	mapping["description"] = "The request of Lambda's CreateEventSourceMapping API."

	root := jsonObj{
		"$schema":              "https://json-schema.org/draft/2020-12/schema",
		"$id":                  schemafile.ID,
		"title":                contract.DefinitionFileName,
		"description":          docs[""],
		"type":                 "object",
		"additionalProperties": false,
		"properties": jsonObj{
			"FunctionName": described(specSchema(functionNameSpec, ""), docs["FunctionName"]),
			"PushEventSources": described(jsonObj{
				"type":  "array",
				"items": jsonObj{"$ref": "#/$defs/PushEventSource"},
			}, docs["PushEventSources"]),
			"PullEventSources": described(jsonObj{
				"type":                 "object",
				"additionalProperties": false,
				"required":             []string{"EventSourceMapping"},
				"properties": jsonObj{
					"EventSourceMapping": described(jsonObj{
						"oneOf": []any{
							jsonObj{"$ref": "#/$defs/EventSourceMapping"},
							jsonObj{"type": "array", "minItems": 1, "items": jsonObj{"$ref": "#/$defs/EventSourceMapping"}},
						},
					}, docs["PullEventSources.EventSourceMapping"]),
				},
			}, docs["PullEventSources"]),
		},
		// At least one source.
		"anyOf": []any{
			jsonObj{"required": []string{"PushEventSources"}, "properties": jsonObj{"PushEventSources": jsonObj{"minItems": 1}}},
			jsonObj{"required": []string{"PullEventSources"}},
		},
		"$defs": jsonObj{
			"PushEventSource":    jsonObj{"oneOf": pushKinds()},
			"EventSourceMapping": mapping,
		},
	}
	out, err := json.MarshalIndent(root, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}

// pushKinds are the schemas of the push sources, one per Service.
func pushKinds() []any {
	var kinds []any
	for _, svc := range []string{ServiceELB, ServiceAPIGateway} {
		props := jsonObj{}
		for _, k := range pushFields[svc].allowed {
			if k == "Service" {
				props[k] = jsonObj{"const": svc, "description": docs["Service."+svc]}
				continue
			}
			props[k] = described(specSchema(pushSpec.field(k), ""), docs[k])
		}
		kinds = append(kinds, jsonObj{
			"description":          docs["Push."+svc],
			"type":                 "object",
			"additionalProperties": false,
			"required":             append([]string{"Service"}, pushFields[svc].required...),
			"properties":           props,
		})
	}
	return kinds
}

// specSchema translates a spec, at path in an event source mapping entry
// (its object fields are described from there).
func specSchema(s *spec, path string) jsonObj {
	o := jsonObj{}
	switch s.kind {
	case kindObject:
		o["type"] = "object"
		if s.key != nil {
			o["propertyNames"] = specSchema(s.key, path)
			o["additionalProperties"] = specSchema(s.elem, path)
			if s.minItems >= 0 {
				o["minProperties"] = s.minItems
			}
			if s.maxItems >= 0 {
				o["maxProperties"] = s.maxItems
			}
			break
		}
		o["additionalProperties"] = false
		props := jsonObj{}
		for _, f := range s.fields {
			p := f.name
			if path != "" {
				p = path + "." + f.name
			}
			fs := specSchema(f.spec, p)
			if d := mappingDoc(p); d != "" {
				fs["description"] = d
			}
			props[f.name] = fs
		}
		o["properties"] = props
		if len(s.required) > 0 {
			o["required"] = s.required
		}
	case kindArray:
		o["type"] = "array"
		o["items"] = specSchema(s.elem, path)
		if s.minItems >= 0 {
			o["minItems"] = s.minItems
		}
		if s.maxItems >= 0 {
			o["maxItems"] = s.maxItems
		}
	case kindNumber:
		o["type"] = "number"
		if s.integer {
			o["type"] = "integer"
		}
		if s.also != nil {
			o["anyOf"] = []any{jsonObj{"const": *s.also}, jsonObj{"minimum": *s.min, "maximum": *s.max}}
			break
		}
		if s.min != nil {
			o["minimum"] = *s.min
		}
		if s.max != nil {
			o["maximum"] = *s.max
		}
	case kindBool:
		o["type"] = "boolean"
	case kindString:
		o["type"] = "string"
		if len(s.enum) > 0 {
			o["enum"] = s.enum
			break
		}
		if s.minLen >= 0 {
			o["minLength"] = s.minLen
		}
		if s.maxLen >= 0 {
			o["maxLength"] = s.maxLen
		}
		if s.pattern != "" {
			o["pattern"] = s.pattern
		}
		if s.notPrefix != "" {
			o["not"] = jsonObj{"pattern": "^" + regexp.QuoteMeta(s.notPrefix)}
		}
	}
	return o
}

// mappingRules are sourceRules and the other cross-field rules as
// if/then clauses.
func mappingRules() []any {
	rules := []any{
		// A source: an ARN, or a self-managed Kafka cluster.
		jsonObj{"oneOf": []any{present("EventSourceArn"), present("SelfManagedEventSource")}},
		// OnSuccess is not supported by event source mappings.
		jsonObj{"properties": jsonObj{"DestinationConfig": forbid("OnSuccess")}},
		// AT_TIMESTAMP needs a timestamp; a timestamp needs AT_TIMESTAMP.
		jsonObj{
			"if":   jsonObj{"required": []string{"StartingPosition"}, "properties": jsonObj{"StartingPosition": jsonObj{"const": "AT_TIMESTAMP"}}},
			"then": present("StartingPositionTimestamp"),
			"else": forbid("StartingPositionTimestamp"),
		},
	}
	var arnKinds []any
	for _, r := range sourceRules {
		if r.arn != nil {
			arnKinds = append(arnKinds, jsonObj{"pattern": r.arn.String()})
		}
	}
	rules = append(rules, jsonObj{"properties": jsonObj{"EventSourceArn": jsonObj{"anyOf": arnKinds}}})
	for _, r := range sourceRules {
		rules = append(rules, sourceClause(r))
	}
	return rules
}

// present is a schema requiring member k.
func present(k string) jsonObj { return jsonObj{"required": []string{k}} }

// forbid is a schema forbidding the members keys.
func forbid(keys ...string) jsonObj {
	p := jsonObj{}
	for _, k := range keys {
		p[k] = false
	}
	return jsonObj{"properties": p}
}

// sourceClause is the if/then clause of one source type: if the entry is
// of the type, then it has only the fields the type allows, with their
// values as the type accepts them.
func sourceClause(r *sourceRule) jsonObj {
	var cond jsonObj
	if r.arn != nil {
		cond = jsonObj{"required": []string{"EventSourceArn"}, "properties": jsonObj{"EventSourceArn": jsonObj{"pattern": r.arn.String()}}}
	} else {
		cond = present("SelfManagedEventSource")
	}
	allowed := r.allowedFields()
	var notAllowed []string
	for _, f := range mappingSpec.fields {
		if !slices.Contains(allowed, f.name) {
			notAllowed = append(notAllowed, f.name)
		}
	}
	then := forbid(notAllowed...)
	props := then["properties"].(jsonObj)
	if len(r.required) > 0 {
		then["required"] = r.required
	}
	if len(r.startingPositions) > 0 && len(r.startingPositions) < len(allPositions) {
		props["StartingPosition"] = jsonObj{"enum": r.startingPositions}
	}
	extra := sourceTypeRules(r.typ, props)
	if r.typ != SourceKafka && r.typ != SourceSelfManagedKafka && slices.Contains(allowed, "MetricsConfig") {
		props["MetricsConfig"] = jsonObj{"properties": jsonObj{"Metrics": jsonObj{"items": jsonObj{"enum": []string{"EventCount"}}}}}
	}
	if r.typ != SourceMQ && slices.Contains(allowed, "SourceAccessConfigurations") {
		props["SourceAccessConfigurations"] = jsonObj{"items": jsonObj{"properties": jsonObj{"Type": jsonObj{"not": jsonObj{"const": "VIRTUAL_HOST"}}}}}
	}
	if len(extra) > 0 {
		then["allOf"] = extra
	}
	return jsonObj{"if": cond, "then": then}
}

// queueMode matches a self-managed Kafka entry in Queue consumption mode.
var queueMode = jsonObj{
	"required": []string{"SelfManagedKafkaEventSourceConfig"},
	"properties": jsonObj{"SelfManagedKafkaEventSourceConfig": jsonObj{
		"required":   []string{"ConsumptionMode"},
		"properties": jsonObj{"ConsumptionMode": jsonObj{"const": "Queue"}},
	}},
}

// sourceTypeRules adds to props the limits of one source type's pollers,
// and returns its rules across fields (the batch size of SQS, the Queue
// mode of self-managed Kafka).
func sourceTypeRules(typ string, props jsonObj) []any {
	switch typ {
	case SourceSQS:
		props["ProvisionedPollerConfig"] = jsonObj{"properties": jsonObj{
			"MinimumPollers":  jsonObj{"minimum": 2},
			"MaximumPollers":  jsonObj{"minimum": 2, "maximum": 10000},
			"PollerGroupName": false,
		}}
		return []any{
			jsonObj{
				"if":   jsonObj{"required": []string{"EventSourceArn"}, "properties": jsonObj{"EventSourceArn": jsonObj{"pattern": sqsFIFO.String()}}},
				"then": jsonObj{"properties": jsonObj{"BatchSize": jsonObj{"maximum": 10}}},
			},
			jsonObj{
				"if":   jsonObj{"required": []string{"BatchSize"}, "properties": jsonObj{"BatchSize": jsonObj{"minimum": 11}}},
				"then": jsonObj{"required": []string{"MaximumBatchingWindowInSeconds"}, "properties": jsonObj{"MaximumBatchingWindowInSeconds": jsonObj{"minimum": 1}}},
			},
		}
	case SourceKafka:
		props["ProvisionedPollerConfig"] = jsonObj{"properties": jsonObj{"MaximumPollers": jsonObj{"maximum": 2000}}}
	case SourceSelfManagedKafka:
		props["ProvisionedPollerConfig"] = jsonObj{"properties": jsonObj{"MaximumPollers": jsonObj{"maximum": 2000}}}
		return []any{jsonObj{
			"if":   queueMode,
			"then": forbid("StartingPosition", "StartingPositionTimestamp", "MaximumBatchingWindowInSeconds"),
			"else": present("StartingPosition"),
		}}
	}
	return nil
}
