// Command infra is eventwire's CDK app: `cdk synth` / `cdk deploy` from the
// repository root run it (cdk.json). See stack.go for the stack and
// settings.go for its context parameters.
//
// It imports internal/contract and the file's plain data, never the
// deployer, the reconciler, an adapter or an SDK service client
// (internal/contract's test checks go list -deps ./infra).
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
)

func main() {
	bootstrap := filepath.Join(DefaultCodePath, "bootstrap")
	if _, err := os.Stat(bootstrap); err != nil {
		fmt.Fprintf(os.Stderr, "infra: the deployer is not built (%v): run `make lambda` or `make synth` from the repository root\n", err)
		os.Exit(1)
	}
	app := awscdk.NewApp(nil)
	name, err := StackName(app)
	if err != nil {
		fmt.Fprintf(os.Stderr, "infra: %v\n", err)
		jsii.Close()
		os.Exit(1)
	}
	stack := NewDeployerStack(app, name, nil)
	// The CLI stops on error annotations; a run without it (CDK_OUTDIR=...
	// go run ./infra) would write the template anyway.
	if errs := stackErrors(stack); len(errs) > 0 {
		for _, e := range errs {
			fmt.Fprintf(os.Stderr, "infra: %s\n", e)
		}
		jsii.Close()
		os.Exit(1)
	}
	app.Synth(nil)
	jsii.Close()
}

// stackErrors returns the error annotations of the stack itself (those
// NewDeployerStack adds for invalid context parameters).
func stackErrors(stack awscdk.Stack) []string {
	var out []string
	for _, m := range *stack.Node().Metadata() {
		if m.Type != nil && *m.Type == "aws:cdk:error" {
			out = append(out, fmt.Sprint(m.Data))
		}
	}
	return out
}
