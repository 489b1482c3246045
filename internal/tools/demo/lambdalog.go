package demo

import (
	"context"
	"io"
	"log/slog"

	"github.com/aws/aws-lambda-go/lambdacontext"
)

// The demo's invocation, as the Lambda runtime would describe it.
const (
	demoRequestID   = "8f5e2c1a-7b3d-4e6f-9a0b-1c2d3e4f5a6b"
	demoDeployerARN = "arn:aws:lambda:us-east-1:123456789012:function:eventwire-deployer"
)

// invocation is ctx as the Lambda runtime hands it to the handler: with a
// lambdacontext holding the request id.
func invocation(ctx context.Context) context.Context {
	return lambdacontext.NewContext(ctx, &lambdacontext.LambdaContext{
		AwsRequestID:       demoRequestID,
		InvokedFunctionArn: demoDeployerARN,
	})
}

// lambdaLog is the deployed function's log handler
// (lambdacontext.NewLogHandler with the function's log format JSON: keys
// timestamp, level, message, and the requestId of the invocation), writing
// to w. lambdacontext's own handler writes to standard output and reads the
// log format from the environment when the process starts, so the demo
// cannot point it at w; TestLambdaLogIsLambdacontexts holds the two to the
// same output.
type lambdaLog struct{ slog.Handler }

func newLambdaLog(w io.Writer) slog.Handler {
	return lambdaLog{slog.NewJSONHandler(w, &slog.HandlerOptions{ReplaceAttr: lambdacontext.ReplaceAttr})}
}

func (h lambdaLog) Handle(ctx context.Context, r slog.Record) error {
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		r.AddAttrs(slog.String("requestId", lc.AwsRequestID))
	}
	return h.Handler.Handle(ctx, r)
}

func (h lambdaLog) WithAttrs(attrs []slog.Attr) slog.Handler {
	return lambdaLog{h.Handler.WithAttrs(attrs)}
}

func (h lambdaLog) WithGroup(name string) slog.Handler {
	return lambdaLog{h.Handler.WithGroup(name)}
}
