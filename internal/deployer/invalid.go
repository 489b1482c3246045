package deployer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/eventwire/eventwire/internal/contract"
	"github.com/eventwire/eventwire/internal/definition"
	"github.com/eventwire/eventwire/internal/records"
)

// Parse parses a file; a failure is written as an invalid record of
// source (under the function the file seems to name) and returned as the
// error.
func (h *Handler) Parse(ctx context.Context, source string, in File) (*definition.File, *records.Record, error) {
	f, errs, ref, err := h.Validate(ctx, in)
	if err != nil || errs == nil {
		return f, nil, err
	}
	written, err := h.RecordInvalid(ctx, in.Trigger, source, ref, errs)
	if err != nil {
		return nil, nil, err
	}
	return nil, &written, errors.New(strings.Join(errs, "\n"))
}

// Validate parses a file (with the Policy, if one is set) and checks that
// the deployer may wire its function from there (in.Path is an S3 key for
// TriggerS3). A file that does not validate gives its errors, and the
// function it seems to name; err is a failure to get the Policy.
func (h *Handler) Validate(ctx context.Context, in File) (*definition.File, []string, string, error) {
	tr, path, data, functionDef := in.Trigger, in.Path, in.Data, in.Sib
	parseFile := h.cfg.Parse
	if h.cfg.Policy != nil {
		p, err := h.cfg.Policy(ctx)
		if err != nil {
			return nil, nil, "", err
		}
		parseFile = p.Parse
	}
	f, perr := parseFile(path, data, functionDef)
	if perr != nil {
		return nil, ErrorLines(perr), guessFunction(data, functionDef), nil
	}
	if msg := h.OutOfBounds(tr, path, f.Function); msg != "" {
		return nil, []string{path + ": " + msg}, f.Function, nil
	}
	return f, nil, f.Function, nil
}

// OutOfBounds says why the deployer may not wire function ref from the
// file at path (an S3 key for TriggerS3), or "".
func (h *Handler) OutOfBounds(tr records.Trigger, path, ref string) string {
	name := records.FunctionKey(ref)
	switch {
	case h.cfg.Self != "" && name == h.cfg.Self:
		return fmt.Sprintf("function %q is the eventwire deployer itself, which definition files may not wire", ref)
	case !strings.HasPrefix(name, h.cfg.FunctionPrefix):
		return fmt.Sprintf("function %q is outside the functions this deployer may wire (names starting with %q, %s)", ref, h.cfg.FunctionPrefix, contract.EnvFunctionPrefix)
	}
	if tr != records.TriggerS3 {
		return ""
	}
	if keyPrefix, fnPrefix, ok := longestPrefix(h.cfg.KeyPrefixFunctions, path); ok && !strings.HasPrefix(name, fnPrefix) {
		return fmt.Sprintf("function %q is outside the functions files under %q may wire (names starting with %q, %s)", ref, keyPrefix, fnPrefix, contract.EnvKeyPrefixFunctions)
	}
	return ""
}

// longestPrefix finds the longest key of m that key starts with, and its
// value.
func longestPrefix(m map[string]string, key string) (prefix, value string, ok bool) {
	for p, v := range m {
		if strings.HasPrefix(key, p) && (!ok || len(p) > len(prefix)) {
			prefix, value, ok = p, v, true
		}
	}
	return prefix, value, ok
}

// RecordInvalid logs and records a file's validation errors (final: the
// run ends there) under the function ref.
func (h *Handler) RecordInvalid(ctx context.Context, tr records.Trigger, source, ref string, errs []string) (records.Record, error) {
	rec := records.Record{
		Function:    records.FunctionKey(ref),
		FunctionRef: ref,
		Start:       h.now(),
		Trigger:     tr,
		Source:      source,
		Mode:        records.ModeApply,
		Outcome:     records.Invalid,
		Errors:      errs,
		RequestID:   RequestID(ctx),
	}
	h.log.ErrorContext(ctx, "invalid definition file", "function", rec.Function, "source", source, "errors", rec.Errors)
	return h.cfg.Store.PutRecord(ctx, rec)
}

// Conflicts finds the files of one run that would undo each other on every
// apply, as the CLI does (definition.Conflicts: two files of one function
// and qualifier, or one target group or API route given to two functions).
// It returns the errors by the path of the later file they name.
func Conflicts(files []*definition.File) map[string][]string {
	out := map[string][]string{}
	for _, e := range definition.Conflicts(files) {
		out[e.File] = append(out[e.File], e.Error())
	}
	return out
}

// ErrorLines splits an error into its lines (definition.Errors prints one
// error a line).
func ErrorLines(err error) []string {
	var out []string
	for _, l := range strings.Split(err.Error(), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// guessFunction finds the function a file that failed validation seems to
// name, so that its failure record lands in the function's history: the
// top-level FunctionName, the sibling's, or the first mapping's. "" if none.
func guessFunction(data, functionDef []byte) string {
	var top struct {
		FunctionName     any `json:"FunctionName"`
		PullEventSources struct {
			EventSourceMapping json.RawMessage `json:"EventSourceMapping"`
		} `json:"PullEventSources"`
	}
	_ = json.Unmarshal(data, &top)
	if s, ok := top.FunctionName.(string); ok && s != "" {
		return s
	}
	var def struct {
		FunctionName any `json:"FunctionName"`
	}
	if functionDef != nil && json.Unmarshal(functionDef, &def) == nil {
		if s, ok := def.FunctionName.(string); ok && s != "" {
			return s
		}
	}
	var one struct {
		FunctionName any `json:"FunctionName"`
	}
	var many []struct {
		FunctionName any `json:"FunctionName"`
	}
	if json.Unmarshal(top.PullEventSources.EventSourceMapping, &one) == nil {
		if s, ok := one.FunctionName.(string); ok {
			return s
		}
	}
	if json.Unmarshal(top.PullEventSources.EventSourceMapping, &many) == nil {
		for _, m := range many {
			if s, ok := m.FunctionName.(string); ok && s != "" {
				return s
			}
		}
	}
	return ""
}
