package cli

import (
	"github.com/spf13/cobra"

	"github.com/eventwire/eventwire/internal/contract"
	"github.com/eventwire/eventwire/internal/definition"
)

func (a *app) schemaCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "schema",
		Short: "Print the JSON Schema of the definition file",
		Long: `Prints the JSON Schema (draft 2020-12) of ` + contract.DefinitionFileName + `,
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
		Args:              noArgs,
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := a.env.Stdout.Write(definition.Schema); err != nil {
				a.code = ExitError
			}
			return nil
		},
	}
}
