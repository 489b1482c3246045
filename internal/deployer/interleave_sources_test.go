package deployer_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/eventwire/eventwire/internal/definition"
	"github.com/eventwire/eventwire/internal/deployer"
	"github.com/eventwire/eventwire/internal/deployer/compose"
	"github.com/eventwire/eventwire/internal/reconcile"
	"github.com/eventwire/eventwire/internal/records"
	"github.com/eventwire/eventwire/internal/testkit/deployertest"
)

// storedDeclarer declares orders from a source whose file the table keeps
// (a pipeline action's, or the CLI's) and runs it as that source does:
// the file kept, its declaration indexed, then applied as the declaration
// under the function's lease (Handler.RunDeclared), through a handler of
// its own on the same AWS and table.
func storedDeclarer(w *deployertest.World, h *compose.Handler, src records.Source, tr records.Trigger, variant string) func() error {
	return func() error {
		ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "stored-" + src.ID()})
		data := []byte(w.File("orders", variant))
		f, err := definition.Parse(src.Path, data, nil)
		if err != nil {
			return err
		}
		if err := w.Store.PutFile(ctx, src, records.StoredFile{Path: src.Path, Data: data}); err != nil {
			return err
		}
		if err := w.Store.DeclareAlone(ctx, src, "orders", false); err != nil {
			return err
		}
		res := h.RunDeclared(ctx, deployer.Work{Trigger: tr, Source: src.String(), Mode: records.ModeApply, File: f}, src)
		if res.Err != nil && !strings.Contains(res.Err.Error(), "conflict") {
			return res.Err
		}
		return nil
	}
}

// TestInterleavings_FourSourcesDeclareOneFunction: an S3 file, a
// CodeCommit push, a pipeline action and the CLI each declare orders,
// with their own wiring, in several orders and all at once (under -race):
// AWS ends wired by exactly one of them, never two, and every other
// source's run is a recorded conflict.
func TestInterleavings_FourSourcesDeclareOneFunction(t *testing.T) {
	for _, order := range []string{"s3 codecommit pipeline cli", "cli pipeline codecommit s3", "at once"} {
		t.Run(order, func(t *testing.T) {
			repo := &deployertest.FakeRepo{Name: "definitions", PageSize: 10, Parents: map[string][]string{deployertest.C1: {}}}
			w, _ := deployertest.RepoWorld(t, repo, []string{"orders"}, []string{"a", "b", "c", "d"})
			repo.Trees = map[string]map[string]string{deployertest.C1: {"orders/_lambdaeventsourcedef.json": w.File("orders", "b")}}
			h := compose.NewFromConfig(w.AWS, reconcile.New(w.AWS, reconcile.Options{}).Runs(),
				deployer.Settings{Table: w.Table, Bucket: deployertest.Bucket}, w.Config.Logger, deployertest.S3Options)
			s3ev := w.Upload("k1/_lambdaeventsourcedef.json", "orders", "a")
			push := deployertest.PushedEvent(t, deployertest.C1, "")
			sources := map[string]func() error{
				"s3":         func() error { w.Deliver(s3ev); return nil },
				"codecommit": func() error { w.Deliver(push); return nil },
				"pipeline": storedDeclarer(w, h, records.PipelineSource("defs/Deploy/eventwire", "BuildArtifact/orders/_lambdaeventsourcedef.json", "job-1"),
					records.TriggerCodePipeline, "c"),
				"cli": storedDeclarer(w, h, records.CLISource("laptop", "orders", "run-1"), records.TriggerCLI, "d"),
			}
			if order == "at once" {
				var wg sync.WaitGroup
				for name, run := range sources {
					wg.Add(1)
					go func() {
						defer wg.Done()
						if err := run(); err != nil {
							t.Errorf("%s: %v", name, err)
						}
					}()
				}
				wg.Wait()
			} else {
				for _, name := range strings.Fields(order) {
					if err := sources[name](); err != nil {
						t.Errorf("%s: %v", name, err)
					}
				}
			}
			checkDeclared(w, "after the four sources", map[string][]string{"orders": {"a", "b", "c", "d"}})
			var applied, conflicts int
			for _, r := range w.History("orders") {
				switch r.Outcome {
				case records.Succeeded:
					applied++
				case records.Conflict:
					conflicts++
				}
			}
			if applied < 1 || conflicts != 3 {
				t.Errorf("records %q: want one source applied, three conflicts", w.Outcomes("orders"))
			}
		})
	}
}
