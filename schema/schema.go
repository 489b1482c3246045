// Package schema holds the JSON Schema (draft 2020-12) of
// _lambdaeventsourcedef.json, the file `eventwire schema` prints, at a
// stable path editors can fetch. internal/definition generates it from the
// validator's tables (refresh: go test ./internal/definition -update).
// The folder also holds output.schema.json, the schema of the CLI's JSON
// output (see internal/cli).
//
// It imports only the standard library (embed), so that the file's parser
// can embed it.
package schema

import _ "embed"

// ID is the schema's $id: where an editor fetches it once the repository is
// published.
const ID = "https://raw.githubusercontent.com/eventwire/eventwire/main/schema/lambdaeventsourcedef.schema.json"

// JSON is the schema, as checked in.
//
//go:embed lambdaeventsourcedef.schema.json
var JSON []byte
