package lambdasvc

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/google/go-cmp/cmp"

	"github.com/eventwire/eventwire/internal/testkit/fakeaws"
	"github.com/eventwire/eventwire/internal/wiring"
)

func TestParsePolicy(t *testing.T) {
	const fn = "arn:aws:lambda:us-east-1:123456789012:function:orders"
	tests := []struct {
		name, doc, queried string
		want               []wiring.Statement
	}{
		{name: "empty", doc: "", want: nil},
		{
			name: "service principal with ArnLike source",
			doc: `{"Version":"2012-10-17","Id":"default","Statement":[{"Sid":"eventwire-1","Effect":"Allow",
				"Principal":{"Service":"elasticloadbalancing.amazonaws.com"},"Action":"lambda:InvokeFunction",
				"Resource":"` + fn + `","Condition":{"ArnLike":{"AWS:SourceArn":"arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/tg/1"}}}]}`,
			want: []wiring.Statement{{Sid: "eventwire-1", Principal: "elasticloadbalancing.amazonaws.com",
				SourceArn: "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/tg/1"}},
		},
		{
			name:    "qualifier read from Resource, over the one asked for",
			queried: "",
			doc: `{"Statement":[{"Sid":"a","Principal":{"Service":"apigateway.amazonaws.com"},"Action":"lambda:InvokeFunction",
				"Resource":"` + fn + `:live","Condition":{"ArnLike":{"AWS:SourceArn":"arn:aws:execute-api:us-east-1:123456789012:api/prod/GET/x"}}}]}`,
			want: []wiring.Statement{{Sid: "a", Qualifier: "live", Principal: "apigateway.amazonaws.com",
				SourceArn: "arn:aws:execute-api:us-east-1:123456789012:api/prod/GET/x"}},
		},
		{
			name:    "Resource not a function ARN: the qualifier asked for",
			queried: "canary",
			doc:     `{"Statement":[{"Sid":"b","Principal":"*","Action":["lambda:InvokeFunction","lambda:GetFunction"],"Resource":"*"}]}`,
			want:    []wiring.Statement{{Sid: "b", Qualifier: "canary", Principal: "*"}},
		},
		{
			name: "account principal and other conditions",
			doc: `{"Statement":[{"Sid":"c","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"lambda:InvokeFunction",
				"Resource":"` + fn + `","Condition":{"StringEquals":{"AWS:SourceAccount":"111122223333"}}}]}`,
			want: []wiring.Statement{{Sid: "c", Principal: "arn:aws:iam::111122223333:root"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParsePolicy(tt.doc, tt.queried)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	if _, err := ParsePolicy("{", ""); err == nil {
		t.Error("malformed policy: no error")
	}
}

const fakeFn = "arn:aws:lambda:us-east-1:123456789012:function:orders"

func newFakePermissions(t *testing.T) (*Permissions, *fakeaws.LambdaPolicies) {
	t.Helper()
	f := &fakeaws.LambdaPolicies{Function: fakeFn}
	hs := httptest.NewServer(f)
	t.Cleanup(hs.Close)
	c := lambda.New(lambda.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(hs.URL),
		Credentials: aws.AnonymousCredentials{}, Retryer: aws.NopRetryer{},
	})
	return NewPermissions(c), f
}

func TestPermissions_FakeAWS_PolicyPerQualifier(t *testing.T) {
	ctx := context.Background()
	p, f := newFakePermissions(t)

	got, err := p.List(ctx, fakeFn, "live")
	if err != nil || got != nil {
		t.Fatalf("no policy: List = %v, %v; want no statements, no error", got, err)
	}
	grant := wiring.Statement{Sid: "eventwire-x", Qualifier: "live", Principal: "apigateway.amazonaws.com",
		SourceArn: "arn:aws:execute-api:us-east-1:123456789012:api/prod/GET/orders"}
	if err := p.Add(ctx, fakeFn, grant); err != nil {
		t.Fatal(err)
	}
	// The same statement id again: AWS answers ResourceConflictException;
	// the grant is already there, so that is success.
	if err := p.Add(ctx, fakeFn, grant); err != nil {
		t.Errorf("second Add of the same statement: %v", err)
	}
	got, err = p.List(ctx, fakeFn, "live")
	if err != nil {
		t.Fatal(err)
	}
	want := []wiring.Statement{{Sid: "eventwire-x", Qualifier: "live", Principal: "apigateway.amazonaws.com", SourceArn: grant.SourceArn}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("List live (-want +got):\n%s", diff)
	}
	if got, _ := p.List(ctx, fakeFn, ""); got != nil {
		t.Errorf("unqualified policy = %v, want none (the grant is on alias live)", got)
	}
	if err := p.Remove(ctx, fakeFn, "live", "eventwire-x"); err != nil {
		t.Fatal(err)
	}
	if err := p.Remove(ctx, fakeFn, "live", "eventwire-x"); err != nil {
		t.Errorf("Remove of a statement already gone: %v", err)
	}
	if sids := f.Sids()["live"]; len(sids) != 0 {
		t.Errorf("policy of live after Remove: %v", sids)
	}
	wantReqs := []string{
		"GET /2015-03-31/functions/" + fakeFn + "/policy Qualifier=live",
		"POST /2015-03-31/functions/" + fakeFn + "/policy Qualifier=live",
		"POST /2015-03-31/functions/" + fakeFn + "/policy Qualifier=live",
		"GET /2015-03-31/functions/" + fakeFn + "/policy Qualifier=live",
		"GET /2015-03-31/functions/" + fakeFn + "/policy Qualifier=",
		"DELETE /2015-03-31/functions/" + fakeFn + "/policy/eventwire-x Qualifier=live",
		"DELETE /2015-03-31/functions/" + fakeFn + "/policy/eventwire-x Qualifier=live",
	}
	if diff := cmp.Diff(wantReqs, f.Requests()); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
}

func TestPermissions_FakeAWS_ErrorsTranslated(t *testing.T) {
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Amzn-ErrorType", "TooManyRequestsException")
		w.WriteHeader(429)
		io.WriteString(w, `{"Type":"User","message":"Rate exceeded","Reason":"CallerRateLimitExceeded"}`)
	}))
	defer hs.Close()
	p := NewPermissions(lambda.New(lambda.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(hs.URL),
		Credentials: aws.AnonymousCredentials{}, Retryer: aws.NopRetryer{},
	}))
	_, err := p.List(context.Background(), fakeFn, "")
	if !errors.Is(err, ErrThrottled) {
		t.Errorf("List: err = %v, want ErrThrottled", err)
	}
	err = p.Add(context.Background(), fakeFn, wiring.Statement{Sid: "s", Principal: "apigateway.amazonaws.com"})
	if !errors.Is(err, ErrThrottled) || !strings.Contains(err.Error(), "add permission s to "+fakeFn) {
		t.Errorf("Add: err = %v, want ErrThrottled naming the statement and function", err)
	}
}
