// Command infra is eventwire's CDK app: `cdk synth` / `cdk deploy` from the
// repository root run it (cdk.json). See stack.go for the stack and its
// context parameters.
package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
)

func main() {
	defer jsii.Close()
	app := awscdk.NewApp(nil)
	NewDeployerStack(app, "Eventwire", nil)
	app.Synth(nil)
}
