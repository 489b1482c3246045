// Package demo runs eventwire's main job end to end against moto, an AWS
// emulator started on loopback: it creates the resources the examples
// refer to, validates, plans and applies examples/ with the CLI, shows what
// AWS now holds, and applies again to show that nothing is left to do;
// then runs the deployer's handler on an S3 upload, and on a drift sweep
// (report only, then heal).
//
// A tool, not part of the product: it may import the test kits and every
// product package; nothing but cmd/eventwire-demo imports it.
package demo

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/eventwire/eventwire/internal/aws/awsconfig"
	"github.com/eventwire/eventwire/internal/cli"
	"github.com/eventwire/eventwire/internal/testkit/mototest"
)

// Run runs the demo on the examples under dir, writing what it does to w.
func Run(ctx context.Context, dir string, w io.Writer) error {
	step(w, "Starting moto, the AWS emulator, on loopback")
	srv, err := mototest.Start()
	if err != nil {
		return err
	}
	defer func() {
		srv.Stop()
		step(w, "Stopped moto")
	}()
	for _, kv := range srv.Env() {
		k, v, _ := strings.Cut(kv, "=")
		os.Setenv(k, v)
	}
	fmt.Fprintf(w, "moto listens on %s; the AWS SDK's standard chain is pointed at it with AWS_ENDPOINT_URL.\n", srv.URL)
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return err
	}

	step(w, "Creating what the examples wire together (with the AWS SDK, not eventwire)")
	subst, err := createWorld(ctx, cfg, w)
	if err != nil {
		return err
	}
	work, err := copyExamples(dir, subst)
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)

	env := cli.Env{
		Stdin:  strings.NewReader(""),
		Stdout: w,
		Stderr: w,
		AWSConfig: func(ctx context.Context) (aws.Config, error) {
			return awsconfig.Load(ctx)
		},
	}
	run := func(want int, args ...string) error {
		args = append(args, "examples")
		fmt.Fprintf(w, "\n$ eventwire %s\n", strings.Join(args, " "))
		if code := cli.Run(ctx, args, env); code != want {
			return fmt.Errorf("eventwire %s: exit %d, want %d", args[0], code, want)
		}
		return nil
	}
	if err := os.Chdir(work); err != nil {
		return err
	}
	step(w, "Validating the examples")
	if err := run(0, "validate"); err != nil {
		return err
	}
	step(w, "What applying would do")
	if err := run(2, "plan", "--detailed-exitcode"); err != nil {
		return err
	}
	step(w, "Applying")
	if err := run(0, "apply", "--yes"); err != nil {
		return err
	}
	step(w, "What AWS holds now (read with the AWS SDK)")
	if err := showState(ctx, cfg, w); err != nil {
		return err
	}
	step(w, "Applying again: nothing to do")
	if err := run(0, "apply", "--yes"); err != nil {
		return err
	}
	if err := runLambda(ctx, cfg, work, w); err != nil {
		return err
	}
	return runDrift(ctx, cfg, w)
}

func step(w io.Writer, title string) {
	fmt.Fprintf(w, "\n==> %s\n", title)
}

// copyExamples copies the examples into a new folder, replacing the
// identifiers AWS generates (API and route ids) with those of the world
// just created.
func copyExamples(dir string, subst map[string]string) (string, error) {
	work, err := os.MkdirTemp("", "eventwire-demo-")
	if err != nil {
		return "", err
	}
	root := filepath.Join(work, "examples")
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		target := filepath.Join(root, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		s := string(b)
		for from, to := range subst {
			s = strings.ReplaceAll(s, from, to)
		}
		return os.WriteFile(target, []byte(s), 0o644)
	})
	return work, err
}
