package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/eventwire/eventwire/internal/testkit/awsfixture"
	"github.com/eventwire/eventwire/internal/testkit/faultproxy"
	"github.com/eventwire/eventwire/internal/testkit/mototest"
)

// TestApply_MappingHeldInCreating_SaysItWaits: while a mapping stays in
// Creating (the fault proxy reports it so; moto has no transitions), an
// apply without a terminal says every interval on standard error which
// function waits on what; once the mapping settles the apply finishes.
func TestApply_MappingHeldInCreating_SaysItWaits(t *testing.T) {
	srv := mototest.Fresh(t)
	cfg := srv.Config(t)
	fx := awsfixture.New(cfg)
	ctx := context.Background()
	fnARN, err := fx.Function(ctx, "orders")
	if err != nil {
		t.Fatal(err)
	}
	queue, err := fx.Queue(ctx, "orders")
	if err != nil {
		t.Fatal(err)
	}
	// A mapping made by hand: the file adopts it and changes its batch
	// size, which waits for it to leave Creating first.
	m, err := lambda.NewFromConfig(cfg).CreateEventSourceMapping(ctx, &lambda.CreateEventSourceMappingInput{
		FunctionName: aws.String(fnARN), EventSourceArn: aws.String(queue), BatchSize: aws.Int32(5)})
	if err != nil {
		t.Fatal(err)
	}
	proxy := faultproxy.ForTest(t, srv.URL, faultproxy.Config{Quotas: map[string]faultproxy.Quota{}})
	proxy.SetMappingState(*m.UUID, faultproxy.MappingState{State: "Creating", Reads: -1})

	dir := t.TempDir()
	path := filepath.Join(dir, "orders", "_lambdaeventsourcedef.json")
	os.MkdirAll(filepath.Dir(path), 0o755)
	os.WriteFile(path, []byte(fmt.Sprintf(`{"FunctionName": "orders", "PullEventSources": {"EventSourceMapping": {"EventSourceArn": %q, "BatchSize": 10}}}`, queue)), 0o644)

	cmd := exec.Command(bin, "apply", "--yes", dir)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "EVENTWIRE_PROGRESS_INTERVAL=200ms", "EVENTWIRE_AWS_TIMEOUT=2m"},
		append(srv.Env(), "AWS_ENDPOINT_URL="+proxy.URL)...)
	var stdout strings.Builder
	cmd.Stdout = &stdout
	stderrPipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	want := "orders: still waiting for mapping " + *m.UUID + " … Creating ["
	said := make(chan struct{})
	var stderr strings.Builder
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(stderrPipe)
		once := sync.Once{}
		for sc.Scan() {
			stderr.WriteString(sc.Text() + "\n")
			if strings.HasPrefix(sc.Text(), want) {
				once.Do(func() { close(said) })
			}
		}
		io.Copy(io.Discard, stderrPipe)
	}()
	waitFor(t, said, "a line saying orders waits on its mapping")
	proxy.ClearMappingState(*m.UUID)
	<-done
	cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("exit %d, want 0\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
	}
	if !strings.Contains(stdout.String(), "orders: done") {
		t.Errorf("stdout does not report orders done:\n%s", stdout.String())
	}
}
