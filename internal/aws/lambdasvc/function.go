package lambdasvc

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/eventwire/eventwire/internal/funcref"
)

// FunctionAPI is the slice of *lambda.Client that Functions needs.
// GetFunctionConfiguration, not GetFunction: the deployer needs the name
// and ARN, and lambda:GetFunction would also hand it a download URL of
// every function's code. (It draws on Lambda's shared control-plane quota
// of about 15 requests/s, where GetFunction has 100/s of its own.)
type FunctionAPI interface {
	GetFunctionConfiguration(ctx context.Context, in *lambda.GetFunctionConfigurationInput, optFns ...func(*lambda.Options)) (*lambda.GetFunctionConfigurationOutput, error)
}

// Functions resolves function references against Lambda.
type Functions struct {
	api FunctionAPI
}

// NewFunctions returns a Functions that calls api.
func NewFunctions(api FunctionAPI) *Functions { return &Functions{api: api} }

// Resolve looks the function up. ref is a name, a partial ARN
// (ACCOUNT:function:NAME), a full ARN, any of them optionally qualified with
// an alias or version (NAME:live, an alias ARN). The qualifier is split off
// and sent as GetFunctionConfiguration's Qualifier. A missing function (or qualifier) is
// an error wrapping ErrNotFound.
func (f *Functions) Resolve(ctx context.Context, ref string) (funcref.Function, error) {
	r, err := funcref.Parse(ref)
	if err != nil {
		return funcref.Function{}, fmt.Errorf("get function: %w", err)
	}
	in := &lambda.GetFunctionConfigurationInput{FunctionName: aws.String(r.Unqualified().String())}
	if r.Qualifier != "" {
		in.Qualifier = aws.String(r.Qualifier)
	}
	out, err := f.api.GetFunctionConfiguration(ctx, in)
	if err != nil {
		return funcref.Function{}, fmt.Errorf("get function %s: %w", ref, translate(err))
	}
	arn := aws.ToString(out.FunctionArn)
	if got, err := funcref.Parse(arn); err == nil {
		arn = got.Unqualified().String()
	}
	name := aws.ToString(out.FunctionName)
	if name == "" {
		name = funcref.Name(arn)
	}
	return funcref.Function{Ref: ref, Name: name, Qualifier: r.Qualifier, ARN: arn}, nil
}
