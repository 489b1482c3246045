// Command eventwire validates, plans and applies _lambdaeventsourcedef.json
// files. Run `eventwire --help`.
package main

import (
	"context"
	"os"
	"os/signal"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/eventwire/eventwire/internal/awsconfig"
	"github.com/eventwire/eventwire/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	env := cli.Env{
		Stdin:      os.Stdin,
		Stdout:     os.Stdout,
		Stderr:     os.Stderr,
		IsTerminal: isTerminal(os.Stdin),
		AWSConfig: func(ctx context.Context) (aws.Config, error) {
			return awsconfig.Load(ctx)
		},
	}
	code := cli.Run(ctx, os.Args[1:], env)
	stop()
	os.Exit(code)
}

// isTerminal tells whether f is a character device (a terminal).
func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
