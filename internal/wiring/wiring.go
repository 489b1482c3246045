// Package wiring is what wires a function to its event sources, as AWS
// reports it, and the marks by which eventwire knows what it owns: event
// source mappings (Mapping, for the pull planner), resource-policy
// statements, Lambda target groups and HTTP API routes, integrations and
// stages (Push, for the push planner), and the managed tag, statement ids
// and integration descriptions (owner.go). It is plain data, filled by the
// adapters (internal/aws/lambdasvc, elbsvc, apigwsvc) and compared with the
// file by the planners (internal/reconcile/pull, push), which so never see
// the SDK. It must import only the standard library and the file's types
// (internal/definition).
package wiring

// Push is what AWS has that concerns the push sources of one function.
type Push struct {
	// Statements are the statements of the function's resource-based
	// policies: the unqualified function's, and those of its qualifier and
	// aliases. Statements eventwire did not make are never changed.
	Statements []Statement `json:"Statements,omitempty"`
	// Aliases are the names of the function's aliases.
	Aliases []string `json:"Aliases,omitempty"`
	// TargetGroups holds, by ARN, the target groups that the file names and
	// those that eventwire's statements name.
	TargetGroups map[string]TargetGroup `json:"TargetGroups,omitempty"`
	// APIs holds, by API id, the HTTP APIs that the file names and those
	// that eventwire's statements name.
	APIs map[string]API `json:"APIs,omitempty"`
}

// Statement is one statement of a function's resource-based policy, in the
// shape eventwire grants: a service principal allowed to invoke the
// function (or one of its aliases or versions) from one source ARN.
type Statement struct {
	Sid string `json:"Sid"`
	// Qualifier is the alias or version whose policy holds the statement,
	// "" for the unqualified function.
	Qualifier string `json:"Qualifier,omitempty"`
	// Principal is the service principal (elasticloadbalancing.amazonaws.com)
	// or, for other principals, the principal as written in the policy.
	Principal string `json:"Principal"`
	// SourceArn is the ArnLike AWS:SourceArn condition, if any.
	SourceArn string `json:"SourceArn,omitempty"`
}

// TargetGroup is a target group and the ids of its registered targets.
type TargetGroup struct {
	// Missing is true when the target group does not exist.
	Missing bool     `json:"Missing,omitempty"`
	Targets []string `json:"Targets,omitempty"`
}

// API is an HTTP API: its routes, integrations and stages.
type API struct {
	// Missing is true when the API does not exist.
	Missing      bool          `json:"Missing,omitempty"`
	Routes       []Route       `json:"Routes,omitempty"`
	Integrations []Integration `json:"Integrations,omitempty"`
	Stages       []Stage       `json:"Stages,omitempty"`
}

// Route is an HTTP API route.
type Route struct {
	ID string `json:"ID"`
	// Key is the route key: "GET /orders/{id}", "ANY /{proxy+}", "$default".
	Key string `json:"Key"`
	// Target is "integrations/ID", or "" for a route without a target.
	Target string `json:"Target,omitempty"`
}

// Integration is an HTTP API integration.
type Integration struct {
	ID                   string `json:"ID"`
	Type                 string `json:"Type"`
	URI                  string `json:"URI,omitempty"`
	PayloadFormatVersion string `json:"PayloadFormatVersion,omitempty"`
	Description          string `json:"Description,omitempty"`
}

// Serves reports whether in is an integration that eventwire made, with
// description desc (IntegrationDescription), to uri, of the type
// and payload format eventwire gives its integrations: one that a route
// to uri may use.
func (in Integration) Serves(desc, uri string) bool {
	return in.Description == desc && in.URI == uri &&
		in.Type == IntegrationType && in.PayloadFormatVersion == PayloadFormatVersion
}

// Stage is an HTTP API stage and its stage variables.
type Stage struct {
	Name      string            `json:"Name"`
	Variables map[string]string `json:"Variables,omitempty"`
}
