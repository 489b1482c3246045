// Command eventwire validates, plans and applies _lambdaeventsourcedef.json
// files. Run `eventwire --help`.
//
// A thin main: it imports internal/cli and the AWS configuration, never
// the deployer (internal/layers checks).
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"golang.org/x/term"

	"github.com/eventwire/eventwire/internal/aws/awsconfig"
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
		IsTerminal:       term.IsTerminal(int(os.Stdin.Fd())),
		StderrTerminal:   term.IsTerminal(int(os.Stderr.Fd())),
		Width:            width(os.Stderr),
		ProgressInterval: progressInterval(),
		AWSConfig: func(ctx context.Context) (aws.Config, error) {
			return awsconfig.Load(ctx)
		},
		Abort: abort,
	}
	code := cli.Run(ctx, os.Args[1:], env)
	stop()
	os.Exit(code)
}

// width is the terminal's width, 0 when f is not one.
func width(f *os.File) int {
	w, _, err := term.GetSize(int(f.Fd()))
	if err != nil {
		return 0
	}
	return w
}

// progressInterval is EVENTWIRE_PROGRESS_INTERVAL (a Go duration, e.g.
// 30s): how often a run without a terminal reports what is still in
// flight. Unset: the default; not a positive duration: said, and the
// default.
func progressInterval() time.Duration {
	s := os.Getenv("EVENTWIRE_PROGRESS_INTERVAL")
	if s == "" {
		return 0
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		fmt.Fprintf(os.Stderr, "eventwire: EVENTWIRE_PROGRESS_INTERVAL=%q is not a positive duration such as 30s: using %s\n", s, cli.DefaultProgressInterval)
		return 0
	}
	return d
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
