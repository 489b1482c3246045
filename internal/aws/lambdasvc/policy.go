package lambdasvc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/eventwire/eventwire/internal/funcref"
	"github.com/eventwire/eventwire/internal/wiring"
)

// PolicyAPI is the slice of the Lambda client that Permissions needs.
type PolicyAPI interface {
	GetPolicy(ctx context.Context, in *lambda.GetPolicyInput, opts ...func(*lambda.Options)) (*lambda.GetPolicyOutput, error)
	AddPermission(ctx context.Context, in *lambda.AddPermissionInput, opts ...func(*lambda.Options)) (*lambda.AddPermissionOutput, error)
	RemovePermission(ctx context.Context, in *lambda.RemovePermissionInput, opts ...func(*lambda.Options)) (*lambda.RemovePermissionOutput, error)
	lambda.ListAliasesAPIClient
}

// InvokeAction is the only action eventwire grants.
const InvokeAction = "lambda:InvokeFunction"

// Permissions reads and changes functions' resource-based policies.
type Permissions struct {
	api PolicyAPI
}

// NewPermissions returns a Permissions on api (usually a *lambda.Client).
func NewPermissions(api PolicyAPI) *Permissions { return &Permissions{api: api} }

// List returns the statements of the policy of functionName (a name or an
// unqualified ARN) at qualifier ("" for the unqualified function). A
// function or alias without a policy has no statements: that is not an
// error.
func (p *Permissions) List(ctx context.Context, functionName, qualifier string) ([]wiring.Statement, error) {
	in := &lambda.GetPolicyInput{FunctionName: aws.String(functionName)}
	if qualifier != "" {
		in.Qualifier = aws.String(qualifier)
	}
	out, err := p.api.GetPolicy(ctx, in)
	if err != nil {
		err = translate(err)
		if errors.Is(err, ErrNotFound) {
			// GetPolicy answers ResourceNotFoundException both for a
			// function without a policy and for a missing function; the
			// caller resolved the function already.
			return nil, nil
		}
		return nil, fmt.Errorf("get policy of %s: %w", funcref.Qualify(functionName, qualifier), err)
	}
	sts, err := ParsePolicy(aws.ToString(out.Policy), qualifier)
	if err != nil {
		return nil, fmt.Errorf("policy of %s: %w", funcref.Qualify(functionName, qualifier), err)
	}
	return sts, nil
}

// Add grants InvokeAction on functionName at s.Qualifier to s.Principal
// from s.SourceArn, with statement id s.Sid. A statement that already
// exists with that id is success: eventwire's statement ids are hashes of
// what they grant.
func (p *Permissions) Add(ctx context.Context, functionName string, s wiring.Statement) error {
	in := &lambda.AddPermissionInput{
		FunctionName: aws.String(functionName),
		StatementId:  aws.String(s.Sid),
		Action:       aws.String(InvokeAction),
		Principal:    aws.String(s.Principal),
	}
	if s.SourceArn != "" {
		in.SourceArn = aws.String(s.SourceArn)
	}
	if s.Qualifier != "" {
		in.Qualifier = aws.String(s.Qualifier)
	}
	_, err := p.api.AddPermission(ctx, in)
	if err != nil {
		err = translate(err)
		if errors.Is(err, ErrConflict) && strings.Contains(err.Error(), "already exists") {
			return nil
		}
		return fmt.Errorf("add permission %s to %s: %w", s.Sid, funcref.Qualify(functionName, s.Qualifier), err)
	}
	return nil
}

// Remove deletes the statement sid from the policy of functionName at
// qualifier. A statement (or policy) that is already gone is success.
func (p *Permissions) Remove(ctx context.Context, functionName, qualifier, sid string) error {
	in := &lambda.RemovePermissionInput{FunctionName: aws.String(functionName), StatementId: aws.String(sid)}
	if qualifier != "" {
		in.Qualifier = aws.String(qualifier)
	}
	if _, err := p.api.RemovePermission(ctx, in); err != nil {
		err = translate(err)
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		return fmt.Errorf("remove permission %s from %s: %w", sid, funcref.Qualify(functionName, qualifier), err)
	}
	return nil
}

// Aliases returns the names of functionName's aliases, sorted. Each alias
// has its own resource-based policy.
func (p *Permissions) Aliases(ctx context.Context, functionName string) ([]string, error) {
	var names []string
	pg := lambda.NewListAliasesPaginator(p.api, &lambda.ListAliasesInput{FunctionName: aws.String(functionName)})
	for pg.HasMorePages() {
		out, err := pg.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list aliases of %s: %w", functionName, translate(err))
		}
		for _, a := range out.Aliases {
			names = append(names, aws.ToString(a.Name))
		}
	}
	sort.Strings(names)
	return names, nil
}

// policyDocument is the part of an IAM policy document that eventwire
// reads. Principal, Action and the condition values may each be a string
// or a list (or, for Principal, an object of lists).
type policyDocument struct {
	Statement []struct {
		Sid       string                                `json:"Sid"`
		Effect    string                                `json:"Effect"`
		Principal json.RawMessage                       `json:"Principal"`
		Resource  json.RawMessage                       `json:"Resource"`
		Condition map[string]map[string]json.RawMessage `json:"Condition"`
	} `json:"Statement"`
}

// ParsePolicy reads the statements of a resource-based policy document.
// queried is the qualifier the policy was asked for; a statement's own
// Resource (arn:...:function:NAME[:QUALIFIER]) takes precedence.
func ParsePolicy(doc, queried string) ([]wiring.Statement, error) {
	if strings.TrimSpace(doc) == "" {
		return nil, nil
	}
	var d policyDocument
	if err := json.Unmarshal([]byte(doc), &d); err != nil {
		return nil, fmt.Errorf("parse policy document: %w", err)
	}
	sts := make([]wiring.Statement, 0, len(d.Statement))
	for _, s := range d.Statement {
		st := wiring.Statement{Sid: s.Sid, Qualifier: queried}
		if q, ok := resourceQualifier(strings.Join(stringOrList(s.Resource), ",")); ok {
			st.Qualifier = q
		}
		st.Principal = principal(s.Principal)
		for op, kv := range s.Condition {
			if !strings.EqualFold(op, "ArnLike") && !strings.EqualFold(op, "ArnEquals") {
				continue
			}
			for k, v := range kv {
				if strings.EqualFold(k, "AWS:SourceArn") {
					st.SourceArn = strings.Join(stringOrList(v), ",")
				}
			}
		}
		sts = append(sts, st)
	}
	return sts, nil
}

// resourceQualifier returns the qualifier of a function ARN
// (arn:PARTITION:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]); ok is
// false when resource is not one.
func resourceQualifier(resource string) (qualifier string, ok bool) {
	r, err := funcref.Parse(resource)
	if err != nil || r.Partition == "" {
		return "", false
	}
	return r.Qualifier, true
}

func principal(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(raw, &obj) == nil {
		if svc, ok := obj["Service"]; ok {
			return strings.Join(stringOrList(svc), ",")
		}
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var vals []string
		for _, k := range keys {
			vals = append(vals, stringOrList(obj[k])...)
		}
		return strings.Join(vals, ",")
	}
	return strings.Join(stringOrList(raw), ",")
}

func stringOrList(raw json.RawMessage) []string {
	if len(raw) == 0 {
		return nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return []string{s}
	}
	var l []string
	if json.Unmarshal(raw, &l) == nil {
		return l
	}
	return nil
}
