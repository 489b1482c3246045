package cli

import (
	"errors"
	"fmt"
	"strings"

	"github.com/aws/smithy-go"

	"github.com/eventwire/eventwire/internal/definition"
)

// problem is how err, about the function of o, is told: when AWS answered
// that something the file names does not exist, at that field of the file
// (file:line:column: path: ...), one line, and with debug the SDK's whole
// error chain below; otherwise as prefix: err.
func problem(o outcome, prefix string, err error, debug bool) string {
	e := refused(o.file, err)
	if e == nil {
		return prefix + ": " + err.Error()
	}
	if debug {
		return e.Error() + "\n    " + err.Error()
	}
	return e.Error()
}

// planProblem is how o's planning error is told (see problem).
func (o outcome) planProblem(debug bool) string {
	return problem(o, o.Source, o.err, debug)
}

// applyProblem is how o's apply error, in the command name (apply or
// destroy), is told (see problem).
func (o outcome) applyProblem(name string, debug bool) string {
	return problem(o, fmt.Sprintf("%s: %s %s", o.Source, name, o.Plan.Function.Ref), o.applyErr, debug)
}

// refused returns err as an error about the field of f that names what
// AWS says does not exist, or nil when err is not such an answer or no
// field of f can be blamed. A function named only by the sibling
// _lambdadef.json is blamed there.
func refused(f *definition.File, err error) *definition.Error {
	var ae smithy.APIError
	if f == nil || !errors.As(err, &ae) || !strings.Contains(ae.ErrorCode(), "NotFound") {
		return nil
	}
	// eventwire's own context names the resource it worked on: the text
	// before the SDK's part ("operation error ...").
	ours, _, _ := strings.Cut(err.Error(), "operation error ")
	for _, text := range []string{ae.ErrorMessage(), ours} {
		if fd, ok := blame(f, text); ok {
			return f.ErrorAt(fd.Path, notFound(fd, ae))
		}
	}
	file, fd, ok := f.FunctionDef()
	if !ok || !strings.Contains(ae.ErrorMessage(), fd.Value) && !strings.Contains(ours, fd.Value) {
		return nil
	}
	return &definition.Error{File: file, Line: fd.Line, Column: fd.Column, Path: fd.Path, Msg: notFound(fd, ae)}
}

func notFound(fd definition.Field, ae smithy.APIError) string {
	return fmt.Sprintf("%s %s does not exist (%s)", what(fd), fd.Value, ae.ErrorCode())
}

// namingKeys are the keys whose values name an AWS resource, and what
// that resource is called.
var namingKeys = map[string]string{
	"FunctionName":   "function",
	"EventSourceArn": "event source",
	"TargetGroupArn": "target group",
	"ApiId":          "API",
	"RouteId":        "route",
}

// blame returns the field naming a resource whose value text mentions,
// the longest if several do (a queue's ARN rather than the function name
// it ends with).
func blame(f *definition.File, text string) (definition.Field, bool) {
	var best definition.Field
	for _, fd := range f.Fields() {
		if _, ok := namingKeys[lastKey(fd.Path)]; ok && fd.Value != "" &&
			strings.Contains(text, fd.Value) && len(fd.Value) > len(best.Value) {
			best = fd
		}
	}
	return best, best.Value != ""
}

func lastKey(path string) string { return path[strings.LastIndex(path, ".")+1:] }

// sourceKinds name an event source by its ARN's service.
var sourceKinds = map[string]string{
	"sqs": "queue", "kinesis": "stream", "dynamodb": "stream", "kafka": "cluster",
	"mq": "broker", "rds": "cluster", "docdb": "cluster",
}

// what is what the field names: a queue, a stream, a target group, ...
func what(fd definition.Field) string {
	w := namingKeys[lastKey(fd.Path)]
	if w == "event source" {
		if parts := strings.SplitN(fd.Value, ":", 4); len(parts) == 4 && sourceKinds[parts[2]] != "" {
			return sourceKinds[parts[2]]
		}
	}
	return w
}
