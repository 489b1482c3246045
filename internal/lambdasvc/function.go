package lambdasvc

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/eventwire/eventwire/internal/esm"
	"github.com/eventwire/eventwire/internal/plan"
)

// FunctionAPI is the slice of *lambda.Client that Functions needs.
type FunctionAPI interface {
	GetFunction(ctx context.Context, in *lambda.GetFunctionInput, optFns ...func(*lambda.Options)) (*lambda.GetFunctionOutput, error)
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
// and sent as GetFunction's Qualifier. A missing function (or qualifier) is
// an error wrapping ErrNotFound.
func (f *Functions) Resolve(ctx context.Context, ref string) (plan.Function, error) {
	base, qualifier := SplitQualifier(ref)
	in := &lambda.GetFunctionInput{FunctionName: aws.String(base)}
	if qualifier != "" {
		in.Qualifier = aws.String(qualifier)
	}
	out, err := f.api.GetFunction(ctx, in)
	if err != nil {
		return plan.Function{}, fmt.Errorf("get function %s: %w", ref, translate(err))
	}
	if out.Configuration == nil {
		return plan.Function{}, fmt.Errorf("get function %s: no configuration in the answer", ref)
	}
	arn, _ := esm.SplitFunctionARN(aws.ToString(out.Configuration.FunctionArn))
	name := aws.ToString(out.Configuration.FunctionName)
	if name == "" {
		name = arnFunctionName(arn)
	}
	return plan.Function{Ref: ref, Name: name, Qualifier: qualifier, ARN: arn}, nil
}

// SplitQualifier splits a function reference (name, partial ARN or ARN) into
// the reference without its qualifier and the qualifier ("" if none).
//
//	fn                                         -> fn, ""
//	fn:live                                    -> fn, live
//	123456789012:function:fn:7                 -> 123456789012:function:fn, 7
//	arn:aws:lambda:us-east-1:123456789012:function:fn:live
//	  -> arn:aws:lambda:us-east-1:123456789012:function:fn, live
func SplitQualifier(ref string) (base, qualifier string) {
	parts := strings.Split(ref, ":")
	name := 0 // index of the function name
	for i, p := range parts {
		if p == "function" && i+1 < len(parts) {
			name = i + 1
			break
		}
	}
	if name == 0 && len(parts) > 2 {
		// No "function:" segment: the pattern of the API then only allows
		// NAME or NAME:QUALIFIER (an account or region prefix needs it).
		return ref, ""
	}
	if name+1 < len(parts) {
		return strings.Join(parts[:name+1], ":"), strings.Join(parts[name+1:], ":")
	}
	return ref, ""
}

func arnFunctionName(arn string) string {
	parts := strings.Split(arn, ":")
	if len(parts) >= 7 {
		return parts[6]
	}
	return arn
}
