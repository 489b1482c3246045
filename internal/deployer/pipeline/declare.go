package pipeline

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/aws/aws-sdk-go-v2/aws"
	cptypes "github.com/aws/aws-sdk-go-v2/service/codepipeline/types"

	"github.com/eventwire/eventwire/internal/contract"
	"github.com/eventwire/eventwire/internal/deployer"
	"github.com/eventwire/eventwire/internal/records"
)

// A pipeline's action is a declaring source, like a branch: each run's
// input artifacts are the whole set of its files. An apply run first
// writes its set to the declaration index under the action's lease (each
// file declares its function, kept in the table since the artifacts
// cannot be read again: records.Store.PutFile; a file of the previous run
// that this one lacks is removed), then converges each function no file
// of the run declares any more (torn down unless another source declares
// it, under the function's lease, as a push that deletes a file), then
// applies each file as its declaration (deployer.Handler.RunDeclared: a
// function another live source declared first is a conflict, and nothing
// is applied to it). Plan mode writes nothing to the index.

// actionName is the declaring source of a job: PIPELINE/STAGE/ACTION, ""
// if CodePipeline did not say.
func actionName(pc *cptypes.PipelineContext) string {
	if pc == nil || pc.PipelineName == nil || pc.Stage == nil || pc.Action == nil {
		return ""
	}
	return aws.ToString(pc.PipelineName) + "/" + aws.ToString(pc.Stage.Name) + "/" + aws.ToString(pc.Action.Name)
}

// declSource is the index's source of a file of the job.
func (j *pipelineJob) declSource(f *pipelineFile) records.Source {
	return records.PipelineSource(j.action, f.path, j.job.ID)
}

// runFile runs one file of the job: in apply mode with a declaring
// action, as its declaration; else as a run of its own.
func (j *pipelineJob) runFile(ctx context.Context, f *pipelineFile, mode records.Mode) deployer.Result {
	w := deployer.Work{Trigger: records.TriggerCodePipeline, Source: j.source(f), Mode: mode, File: f.parsed}
	if mode == records.ModeApply && j.action != "" {
		return j.pl.h.RunDeclared(ctx, w, j.declSource(f))
	}
	return j.pl.h.Run(ctx, w)
}

// runDeclaring indexes the run's set, converges the functions it no
// longer declares (in the job's work context), then runs the files
// (runFiles), and answers the job in ctx.
func (j *pipelineJob) runDeclaring(ctx context.Context, files []*pipelineFile) error {
	runCtx, cancel := j.work(ctx)
	defer cancel()
	st, err := j.indexSet(runCtx, files)
	if err != nil {
		if errors.Is(err, records.ErrLeaseHeld) || errors.Is(err, records.ErrIndexMoved) {
			return j.continueFromHere(ctx) // another run of the action indexes
		}
		return j.fail(ctx, cptypes.FailureTypeJobFailed, err.Error())
	}
	for _, fn := range st.Pending.Sorted("") {
		err := j.pl.h.Converge(runCtx, deployer.Convergence{
			Trigger: records.TriggerCodePipeline, Fn: fn, Event: "codepipeline://" + j.job.ID, Pending: st.Pending,
		})
		if errors.Is(err, records.ErrLeaseHeld) {
			return j.continueFromHere(ctx) // still pending: converged next time
		}
		line := fn + ": no longer declared by " + j.action
		j.progress.Lock()
		if err != nil {
			j.state.Failed = append(j.state.Failed, fmt.Sprintf("%s: %v", line, err))
			line += ": failed"
		}
		j.state.Done = append(j.state.Done, line)
		j.progress.Unlock()
	}
	if len(files) == 0 {
		j.progress.Lock()
		j.state.Done = append(j.state.Done, fmt.Sprintf("no %s in the input artifacts", contract.DefinitionFileName))
		j.progress.Unlock()
	}
	return j.runFiles(ctx, files, records.ModeApply)
}

// indexSet is indexSetHeld under the action's lease.
func (j *pipelineJob) indexSet(ctx context.Context, files []*pipelineFile) (records.SetState, error) {
	var st records.SetState
	var err error
	if lerr := j.pl.h.WithLease(ctx, records.SetLease(records.KindPipeline, j.action), j.log, func(ctx context.Context) {
		st, err = j.indexSetHeld(ctx, files)
	}); lerr != nil {
		return st, lerr
	}
	return st, err
}

// indexSetHeld writes the run's files to the index: each file kept and
// declaring its function, each file of the previous run the run lacks
// removed, the functions no file declares any more marked pending first
// (a failure after it converges too much, never too little). It returns
// the set afterwards.
func (j *pipelineJob) indexSetHeld(ctx context.Context, files []*pipelineFile) (records.SetState, error) {
	store := j.pl.h.Store()
	prev, err := store.Set(ctx, records.KindPipeline, j.action)
	if err != nil {
		return prev, err
	}
	paths, declared := map[string]string{}, map[string]bool{}
	var changes []records.Change
	for _, f := range files {
		src, fn := j.declSource(f), records.DeclKey(f.parsed.Function)
		paths[f.path], declared[fn] = fn, true
		if err := store.PutFile(ctx, src, records.StoredFile{Path: f.path, Data: f.data, Sib: f.sib}); err != nil {
			return prev, err
		}
		changes = append(changes, records.Change{Kind: records.Declare, Source: src, Function: fn})
	}
	var dropped []string
	for _, p := range sortedKeys(prev.Paths) {
		if _, ok := paths[p]; ok {
			continue
		}
		if fn := prev.Paths[p]; !declared[fn] {
			dropped = append(dropped, fn)
		}
		changes = append(changes, records.Change{Kind: records.Remove, Source: records.PipelineSource(j.action, p, j.job.ID)})
	}
	if err := store.AddPending(ctx, prev.Pending, records.NewID(), dropped...); err != nil {
		return prev, err
	}
	for _, c := range changes {
		st, err := store.SourceState(ctx, c.Source)
		if err == nil {
			err = store.Index(ctx, st, c)
		}
		if err != nil {
			return prev, err
		}
	}
	if err := store.AdvanceSet(ctx, prev, j.job.ID, paths); err != nil {
		return prev, err
	}
	return store.Set(ctx, records.KindPipeline, j.action)
}

// sortedKeys are m's keys in order.
func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
