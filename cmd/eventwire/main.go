// Command eventwire validates, plans and applies _lambdaeventsourcedef.json
// files. Run `eventwire --help`.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/aws/aws-sdk-go-v2/aws"
	"golang.org/x/term"

	"github.com/eventwire/eventwire/internal/awsconfig"
	"github.com/eventwire/eventwire/internal/cli"
)

func main() {
	ctx, abort, stop := interrupts(os.Stderr)
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
		Abort: abort,
	}
	code := cli.Run(ctx, os.Args[1:], env)
	stop()
	os.Exit(code)
}

// interrupts turns the first SIGINT or SIGTERM into the end of ctx (start
// nothing new, let calls in flight finish) and the second into closing
// abort (cancel them too).
func interrupts(w io.Writer) (ctx context.Context, abort <-chan struct{}, stop func()) {
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	ctx, cancel := context.WithCancel(context.Background())
	aborted := make(chan struct{})
	go func() {
		if _, ok := <-sigs; !ok {
			return
		}
		fmt.Fprintln(w, "\neventwire: interrupted: starting nothing new, finishing the calls in flight (interrupt again to cancel them)")
		cancel()
		if _, ok := <-sigs; !ok {
			return
		}
		fmt.Fprintln(w, "eventwire: interrupted again: cancelling the calls in flight")
		close(aborted)
	}()
	return ctx, aborted, func() {
		signal.Stop(sigs)
		close(sigs)
		cancel()
	}
}
