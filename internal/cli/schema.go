package cli

import (
	"context"
	"flag"

	"github.com/eventwire/eventwire/internal/definition"
)

func init() {
	Register(&Command{
		Name:    "schema",
		Summary: "Print the JSON Schema of the definition file",
		Help: `Prints the JSON Schema (draft 2020-12) of ` + definition.FileName + `,
for editors that validate JSON as it is typed. The schema holds the same
field, type, range, pattern and per-source rules as 'eventwire validate',
except what a schema cannot say: duplicate keys, which function the file
wires (and whether another file wires it too), filter patterns being JSON,
duplicate sources, MinimumPollers above MaximumPollers, a bare function
name over 64 characters, integers written as 10.0 or 1e1. Run validate
too.

Examples:
  eventwire schema > eventwire.schema.json
  # VS Code, settings.json:
  #   "json.schemas": [{"fileMatch": ["_lambdaeventsourcedef.json"],
  #                     "url": "./eventwire.schema.json"}]`,
		Setup: func(fs *flag.FlagSet) RunFunc {
			return func(ctx context.Context, args []string, env Env) int {
				if len(args) > 0 {
					return UsageError(env, "schema", "takes no arguments")
				}
				if _, err := env.Stdout.Write(definition.Schema); err != nil {
					return ExitError
				}
				return ExitOK
			}
		},
	})
}
