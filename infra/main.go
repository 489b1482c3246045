// Command infra is eventwire's CDK app: `cdk synth` / `cdk deploy` from the
// repository root run it (cdk.json). See stack.go for the stack and its
// context parameters.
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
	defer jsii.Close()
	app := awscdk.NewApp(nil)
	NewDeployerStack(app, "Eventwire", nil)
	app.Synth(nil)
}
