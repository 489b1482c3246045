package lambdasvc

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/google/go-cmp/cmp"
)

func TestParsePolicy(t *testing.T) {
	const fn = "arn:aws:lambda:us-east-1:123456789012:function:orders"
	tests := []struct {
		name, doc, queried string
		want               []Statement
	}{
		{name: "empty", doc: "", want: nil},
		{
			name: "service principal with ArnLike source",
			doc: `{"Version":"2012-10-17","Id":"default","Statement":[{"Sid":"eventwire-1","Effect":"Allow",
				"Principal":{"Service":"elasticloadbalancing.amazonaws.com"},"Action":"lambda:InvokeFunction",
				"Resource":"` + fn + `","Condition":{"ArnLike":{"AWS:SourceArn":"arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/tg/1"}}}]}`,
			want: []Statement{{Sid: "eventwire-1", Principal: "elasticloadbalancing.amazonaws.com", Action: "lambda:InvokeFunction",
				SourceArn: "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/tg/1"}},
		},
		{
			name:    "qualifier read from Resource, over the one asked for",
			queried: "",
			doc: `{"Statement":[{"Sid":"a","Principal":{"Service":"apigateway.amazonaws.com"},"Action":"lambda:InvokeFunction",
				"Resource":"` + fn + `:live","Condition":{"ArnLike":{"AWS:SourceArn":"arn:aws:execute-api:us-east-1:123456789012:api/prod/GET/x"}}}]}`,
			want: []Statement{{Sid: "a", Qualifier: "live", Principal: "apigateway.amazonaws.com", Action: "lambda:InvokeFunction",
				SourceArn: "arn:aws:execute-api:us-east-1:123456789012:api/prod/GET/x"}},
		},
		{
			name:    "Resource not a function ARN: the qualifier asked for",
			queried: "canary",
			doc:     `{"Statement":[{"Sid":"b","Principal":"*","Action":["lambda:InvokeFunction","lambda:GetFunction"],"Resource":"*"}]}`,
			want:    []Statement{{Sid: "b", Qualifier: "canary", Principal: "*", Action: "lambda:InvokeFunction,lambda:GetFunction"}},
		},
		{
			name: "account principal and other conditions",
			doc: `{"Statement":[{"Sid":"c","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"lambda:InvokeFunction",
				"Resource":"` + fn + `","Condition":{"StringEquals":{"AWS:SourceAccount":"111122223333"}}}]}`,
			want: []Statement{{Sid: "c", Principal: "arn:aws:iam::111122223333:root", Action: "lambda:InvokeFunction"}},
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

// fakePolicies is a Lambda policy endpoint that keeps one policy per
// qualifier and answers a duplicate statement id with
// ResourceConflictException, as AWS does (moto keeps one policy per
// function and accepts duplicates).
type fakePolicies struct {
	mu       sync.Mutex
	policies map[string]map[string]string // qualifier -> sid -> statement JSON
	requests []string
}

const fakeFn = "arn:aws:lambda:us-east-1:123456789012:function:orders"

func (f *fakePolicies) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	q := r.URL.Query().Get("Qualifier")
	f.requests = append(f.requests, r.Method+" "+r.URL.Path+" Qualifier="+q)
	fail := func(code int, typ, msg string) {
		w.Header().Set("X-Amzn-ErrorType", typ)
		w.WriteHeader(code)
		json.NewEncoder(w).Encode(map[string]string{"Type": "User", "message": msg})
	}
	base := "/2015-03-31/functions/" + fakeFn + "/policy"
	switch {
	case r.Method == http.MethodGet && r.URL.Path == base:
		p := f.policies[q]
		if len(p) == 0 {
			fail(404, "ResourceNotFoundException", "The resource you requested does not exist.")
			return
		}
		var sts []string
		for _, s := range p {
			sts = append(sts, s)
		}
		doc := `{"Version":"2012-10-17","Id":"default","Statement":[` + strings.Join(sts, ",") + `]}`
		json.NewEncoder(w).Encode(map[string]string{"Policy": doc, "RevisionId": "r"})
	case r.Method == http.MethodPost && r.URL.Path == base:
		body, _ := io.ReadAll(r.Body)
		var in struct{ StatementId, Action, Principal, SourceArn string }
		json.Unmarshal(body, &in)
		if _, dup := f.policies[q][in.StatementId]; dup {
			fail(409, "ResourceConflictException", "The statement id ("+in.StatementId+") provided already exists. Please provide a new statement id, or remove the existing statement.")
			return
		}
		res := fakeFn
		if q != "" {
			res += ":" + q
		}
		st, _ := json.Marshal(map[string]any{
			"Sid": in.StatementId, "Effect": "Allow", "Principal": map[string]string{"Service": in.Principal},
			"Action": in.Action, "Resource": res, "Condition": map[string]any{"ArnLike": map[string]string{"AWS:SourceArn": in.SourceArn}},
		})
		if f.policies[q] == nil {
			f.policies[q] = map[string]string{}
		}
		f.policies[q][in.StatementId] = string(st)
		w.WriteHeader(201)
		json.NewEncoder(w).Encode(map[string]string{"Statement": string(st)})
	case r.Method == http.MethodDelete && strings.HasPrefix(r.URL.Path, base+"/"):
		sid := strings.TrimPrefix(r.URL.Path, base+"/")
		if _, ok := f.policies[q][sid]; !ok {
			fail(404, "ResourceNotFoundException", "No policy is associated with the given resource.")
			return
		}
		delete(f.policies[q], sid)
		w.WriteHeader(204)
	default:
		fail(400, "InvalidParameterValueException", "unexpected request "+r.Method+" "+r.URL.Path)
	}
}

func newFakePermissions(t *testing.T) (*Permissions, *fakePolicies) {
	t.Helper()
	f := &fakePolicies{policies: map[string]map[string]string{}}
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
	grant := Statement{Sid: "eventwire-x", Qualifier: "live", Principal: "apigateway.amazonaws.com",
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
	want := []Statement{{Sid: "eventwire-x", Qualifier: "live", Principal: "apigateway.amazonaws.com", Action: InvokeAction, SourceArn: grant.SourceArn}}
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
	if len(f.policies["live"]) != 0 {
		t.Errorf("policy of live after Remove: %v", f.policies["live"])
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
	if diff := cmp.Diff(wantReqs, f.requests); diff != "" {
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
	err = p.Add(context.Background(), fakeFn, Statement{Sid: "s", Principal: "apigateway.amazonaws.com"})
	if !errors.Is(err, ErrThrottled) || !strings.Contains(err.Error(), "add permission s to "+fakeFn) {
		t.Errorf("Add: err = %v, want ErrThrottled naming the statement and function", err)
	}
}
