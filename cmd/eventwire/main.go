// Command eventwire validates, plans and applies _lambdaeventsourcedef.json
// files. Run `eventwire --help`.
package main

import (
	"context"
	"os"
	"os/signal"

	"github.com/aws/aws-sdk-go-v2/aws"
	"golang.org/x/term"

	"github.com/eventwire/eventwire/internal/awsconfig"
	"github.com/eventwire/eventwire/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	env := cli.Env{
		Stdin:  os.Stdin,
		Stdout: os.Stdout,
		Stderr: os.Stderr,
		// A terminal, not merely a character device: /dev/null is one too,
		// and cannot answer a question.
		IsTerminal: term.IsTerminal(int(os.Stdin.Fd())),
		AWSConfig: func(ctx context.Context) (aws.Config, error) {
			return awsconfig.Load(ctx)
		},
	}
	code := cli.Run(ctx, os.Args[1:], env)
	stop()
	os.Exit(code)
}
