package deployer_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/google/go-cmp/cmp"

	"github.com/eventwire/eventwire/internal/contract"
	"github.com/eventwire/eventwire/internal/definition"
	"github.com/eventwire/eventwire/internal/deployer"
	"github.com/eventwire/eventwire/internal/deployer/bucket"
	"github.com/eventwire/eventwire/internal/deployer/compose"
	"github.com/eventwire/eventwire/internal/reconcile"
	"github.com/eventwire/eventwire/internal/records"
	"github.com/eventwire/eventwire/internal/testkit/awsfixture"
	"github.com/eventwire/eventwire/internal/testkit/deployertest"
	"github.com/eventwire/eventwire/internal/testkit/faultproxy"
	"github.com/eventwire/eventwire/internal/testkit/mototest"
)

const scopeKey = "orders/_lambdaeventsourcedef.json"

// tgFile registers orders in the target group tg; apiFile wires orders to
// a route of the API api.
func tgFile(tg string) string {
	return fmt.Sprintf(`{
  "FunctionName": "orders",
  "PushEventSources": [
    {"Service": "elasticloadbalancing.amazonaws.com", "TargetGroupArn": %q}
  ]
}
`, tg)
}

func apiFile(api awsfixture.API) string {
	return fmt.Sprintf(`{
  "FunctionName": "orders",
  "PushEventSources": [
    {"Service": "apigateway.amazonaws.com", "ApiId": %q, "RouteId": %q}
  ]
}
`, api.ID, api.Routes["POST /orders"])
}

// awsWrites are the calls of ops that may change AWS outside the
// deployer's own bucket and table.
func awsWrites(ops []string) []string {
	var out []string
	for _, op := range ops {
		if !strings.HasPrefix(op, "S3.") && !strings.HasPrefix(op, "DynamoDB.") {
			out = append(out, op)
		}
	}
	return out
}

// scopeWorld is a function orders, a target group orders-tg and an HTTP
// API with a route POST /orders, in moto.
type scopeWorld struct {
	fx  *awsfixture.Fixture
	tg  string
	api awsfixture.API
}

func newScopeWorld(t *testing.T, cfg aws.Config) scopeWorld {
	t.Helper()
	ctx := context.Background()
	w := scopeWorld{fx: awsfixture.New(cfg)}
	var err error
	if _, err = w.fx.Function(ctx, "orders"); err != nil {
		t.Fatal(err)
	}
	if w.tg, err = w.fx.TargetGroup(ctx, "orders-tg"); err != nil {
		t.Fatal(err)
	}
	if w.api, err = w.fx.HTTPAPI(ctx, "orders", []string{"POST /orders"}, nil); err != nil {
		t.Fatal(err)
	}
	return w
}

// scopeHandler is the deployer's handler on cfg, with the real reconciler
// and the settings of its environment: the table of e and env.
func scopeHandler(t *testing.T, e *deployertest.Env, cfg aws.Config, env map[string]string) *compose.Handler {
	t.Helper()
	all := map[string]string{contract.EnvTable: deployertest.Table, contract.EnvBucket: deployertest.Bucket}
	for k, v := range env {
		all[k] = v
	}
	s, err := deployer.SettingsFromEnv(func(k string) string { return all[k] })
	if err != nil {
		t.Fatal(err)
	}
	return compose.NewFromConfig(cfg, reconcile.New(cfg, reconcile.Options{}).Runs(), s, e.Config.Logger, deployertest.S3Options)
}

// A file naming an API that the stack's apiIds does not list (none by
// default), or a target group outside its targetGroupArns, through the
// settings the stack sets (SettingsFromEnv), the real handler and
// reconciler: recorded as invalid at the value's line:column, the handler
// returns nil (not retried), and nothing is written to AWS. The same file
// with the API or target group listed is applied, so the refusal is the
// list and nothing else.
func TestEndToEnd_UnlistedAPIOrTargetGroupIsInvalid(t *testing.T) {
	apiNeedle := func(w scopeWorld) string { return `"` + w.api.ID + `"` }
	tgNeedle := func(w scopeWorld) string { return `"` + w.tg + `"` }
	tests := []struct {
		name string
		// env is the deployer's environment beyond its table.
		env func(w scopeWorld) map[string]string
		// file is the definition file.
		file func(w scopeWorld) string
		// needle locates the refused value; msg is the error (nil: the
		// file is applied).
		needle func(w scopeWorld) string
		msg    func(w scopeWorld) string
	}{
		{
			name: "no apiIds: API Gateway sources are not enabled",
			env:  func(scopeWorld) map[string]string { return nil },
			file: func(w scopeWorld) string { return apiFile(w.api) }, needle: apiNeedle,
			msg: func(scopeWorld) string { return "PushEventSources[0].ApiId: " + definition.APIsNotEnabled },
		},
		{
			name: "API not in apiIds",
			env:  func(scopeWorld) map[string]string { return map[string]string{contract.EnvAPIIDs: "zzzzzzzzzz"} },
			file: func(w scopeWorld) string { return apiFile(w.api) }, needle: apiNeedle,
			msg: func(w scopeWorld) string {
				return fmt.Sprintf("PushEventSources[0].ApiId: API %s is not an allowed API (allowed: zzzzzzzzzz)", w.api.ID)
			},
		},
		{
			name: "API in apiIds: applied",
			env:  func(w scopeWorld) map[string]string { return map[string]string{contract.EnvAPIIDs: w.api.ID} },
			file: func(w scopeWorld) string { return apiFile(w.api) },
		},
		{
			name: "target group not in targetGroupArns",
			env: func(scopeWorld) map[string]string {
				return map[string]string{contract.EnvTargetGroups: `["arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/billing-*/*"]`}
			},
			file: func(w scopeWorld) string { return tgFile(w.tg) }, needle: tgNeedle,
			msg: func(w scopeWorld) string {
				return "PushEventSources[0].TargetGroupArn: target group " + w.tg +
					" is not an allowed target group (allowed: arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/billing-*/*)"
			},
		},
		{
			name: "target group in targetGroupArns: applied",
			env: func(scopeWorld) map[string]string {
				return map[string]string{contract.EnvTargetGroups: "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/orders-*/*"}
			},
			file: func(w scopeWorld) string { return tgFile(w.tg) },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := deployertest.NewEnv(t)
			cfg := e.AWS
			calls := mototest.Record(&cfg)
			w := newScopeWorld(t, cfg)
			h := scopeHandler(t, e, cfg, tt.env(w))
			ctx := context.Background()
			doc := tt.file(w)
			v := e.Put(scopeKey, doc)
			ev, _ := json.Marshal(bucket.S3PutEvent(deployertest.Bucket, scopeKey, v, "0055AED6DCD90281E5"))

			calls.Reset()
			if err := h.Handle(ctx, ev); err != nil {
				t.Fatalf("Handle = %v, want nil (a validation error is final)", err)
			}
			hist := e.History("orders")
			if len(hist) != 1 {
				t.Fatalf("records: %+v", hist)
			}
			if tt.msg == nil {
				if hist[0].Outcome != records.Succeeded || len(awsWrites(calls.Writes())) == 0 {
					t.Errorf("the listed source was not applied: %+v, calls %v", hist[0], calls.Writes())
				}
				return
			}
			line, col := lineCol(doc, tt.needle(w))
			want := []string{fmt.Sprintf("%s:%d:%d: %s", scopeKey, line, col, tt.msg(w))}
			if hist[0].Outcome != records.Invalid {
				t.Errorf("outcome = %s, want %s", hist[0].Outcome, records.Invalid)
			}
			if diff := cmp.Diff(want, hist[0].Errors); diff != "" {
				t.Errorf("recorded errors (-want +got):\n%s", diff)
			}
			if writes := awsWrites(calls.Writes()); len(writes) != 0 {
				t.Errorf("the invalid file made AWS calls: %v", writes)
			}
		})
	}
}

// denyRegister answers Elastic Load Balancing's RegisterTargets with IAM's
// AccessDenied, in the Query protocol, as AWS does when the role's tag
// condition does not hold (moto enforces no IAM); every other call goes
// to moto.
type denyRegister struct{ next aws.HTTPClient }

func (d denyRegister) Do(r *http.Request) (*http.Response, error) {
	if c := faultproxy.Identify(r); c.Service != "elasticloadbalancing" || c.Operation != "RegisterTargets" {
		return d.next.Do(r)
	}
	body := `<ErrorResponse xmlns="http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/">
  <Error><Type>Sender</Type><Code>AccessDenied</Code><Message>User: arn:aws:sts::123456789012:assumed-role/deployer/x is not authorized to perform: elasticloadbalancing:RegisterTargets on resource: target group because no identity-based policy allows the elasticloadbalancing:RegisterTargets action</Message></Error>
  <RequestId>d1</RequestId></ErrorResponse>`
	return &http.Response{StatusCode: http.StatusForbidden, Status: "403 Forbidden", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{"Content-Type": {"text/xml"}}, Body: io.NopCloser(bytes.NewReader([]byte(body))), Request: r}, nil
}

// With the stack's default (no targetGroupArns) only IAM's tag condition
// scopes target groups. AWS refusing RegisterTargets (FakeAWS: moto
// enforces no IAM) is final: recorded as refused, with the tag to set,
// and the handler returns nil instead of an error Lambda would retry into
// the failure queue. Nothing is registered.
func TestEndToEnd_FakeAWS_UntaggedTargetGroupIsRefusedNotRetried(t *testing.T) {
	e := deployertest.NewEnv(t)
	w := newScopeWorld(t, e.AWS)
	fx, tg := w.fx, w.tg
	ctx := context.Background()
	denied := e.AWS.Copy()
	denied.HTTPClient = denyRegister{next: e.AWS.HTTPClient}
	h := scopeHandler(t, e, denied, nil)
	v := e.Put(scopeKey, tgFile(tg))
	ev, _ := json.Marshal(bucket.S3PutEvent(deployertest.Bucket, scopeKey, v, "0055AED6DCD90281E5"))
	if err := h.Handle(ctx, ev); err != nil {
		t.Fatalf("Handle = %v, want nil (a refused registration is final)", err)
	}
	hist := e.History("orders")
	if len(hist) != 1 || hist[0].Outcome != records.Refused {
		t.Fatalf("records: %+v", hist)
	}
	hint := fmt.Sprintf("the deployer may register functions only in target groups tagged eventwire:allowed=true, and target group %s is not: "+
		"tag it (aws elbv2 add-tags --resource-arns %s --tags Key=eventwire:allowed,Value=true), then deploy the file again; not retried", tg, tg)
	errs := hist[0].Errors
	if len(errs) < 2 || errs[len(errs)-1] != hint || !strings.Contains(errs[0], "AccessDenied") {
		t.Errorf("recorded errors:\n%s\nwant the AccessDenied, then:\n%s", strings.Join(errs, "\n"), hint)
	}
	out, err := fx.ELB.DescribeTargetHealth(ctx, &elasticloadbalancingv2.DescribeTargetHealthInput{TargetGroupArn: aws.String(tg)})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.TargetHealthDescriptions) != 0 {
		t.Errorf("targets registered: %+v", out.TargetHealthDescriptions)
	}
}
