package cli

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/spf13/cobra"
)

// outputFlag defines -o/--output (text or json) on cmd, with completion of
// its values.
func outputFlag(cmd *cobra.Command, output *string) {
	cmd.Flags().StringVarP(output, "output", "o", "text", "output format: text or json")
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]cobra.Completion{"text", "json"}, cobra.ShellCompDirectiveNoFileComp))
}

// checkOutput refuses an -o value other than text or json.
func checkOutput(output string) error {
	if output != "text" && output != "json" {
		return fmt.Errorf("-o %s: want text or json", output)
	}
	return nil
}

// completePaths completes PATH arguments with file and folder names.
func completePaths(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
	return nil, cobra.ShellCompDirectiveDefault
}

// writeDocument writes v as indented JSON.
func writeDocument(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
