// Package fakeaws holds fakes of AWS behaviour that moto does not emulate,
// speaking the real wire protocol so that tests use the real SDK clients.
// Only tests import it.
//
// A test kit: only tests, internal/tools and their mains import it
// (internal/layers checks).
package fakeaws

import (
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
)

// LambdaPolicies answers Lambda's GetPolicy, AddPermission,
// RemovePermission and ListAliases for one function as AWS does where moto
// does not: every qualifier (alias or version) has its own resource-based
// policy (moto keeps one per function and ignores Qualifier), and a
// duplicate statement id is refused with ResourceConflictException (moto
// accepts it).
type LambdaPolicies struct {
	// Function is the function ARN the requests name.
	Function string
	// Aliases are the function's aliases; with any, a request for another
	// qualifier answers ResourceNotFoundException.
	Aliases []string

	mu       sync.Mutex
	policies map[string]map[string]string // qualifier -> sid -> statement JSON
	requests []string
}

// SetStatement puts a statement (JSON) into a qualifier's policy, as one
// made outside eventwire would be.
func (f *LambdaPolicies) SetStatement(qualifier, sid, statement string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.put(qualifier, sid, statement)
}

func (f *LambdaPolicies) put(qualifier, sid, statement string) {
	if f.policies == nil {
		f.policies = map[string]map[string]string{}
	}
	if f.policies[qualifier] == nil {
		f.policies[qualifier] = map[string]string{}
	}
	f.policies[qualifier][sid] = statement
}

// Sids returns the statement ids of each qualifier's policy, sorted.
func (f *LambdaPolicies) Sids() map[string][]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string][]string{}
	for q, p := range f.policies {
		for sid := range p {
			out[q] = append(out[q], sid)
		}
		sort.Strings(out[q])
	}
	return out
}

// Requests returns the requests served, as "METHOD PATH Qualifier=Q".
func (f *LambdaPolicies) Requests() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.requests)
}

func (f *LambdaPolicies) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	q := r.URL.Query().Get("Qualifier")
	f.requests = append(f.requests, r.Method+" "+r.URL.Path+" Qualifier="+q)
	fail := func(code int, typ, msg string) {
		w.Header().Set("X-Amzn-ErrorType", typ)
		w.WriteHeader(code)
		json.NewEncoder(w).Encode(map[string]string{"Type": "User", "message": msg})
	}
	if q != "" && len(f.Aliases) > 0 && !slices.Contains(f.Aliases, q) {
		fail(404, "ResourceNotFoundException", "Function not found: "+f.Function+":"+q)
		return
	}
	base := "/2015-03-31/functions/" + f.Function
	switch {
	case r.Method == http.MethodGet && r.URL.Path == base+"/aliases":
		var as []map[string]string
		for _, a := range f.Aliases {
			as = append(as, map[string]string{"Name": a, "AliasArn": f.Function + ":" + a, "FunctionVersion": "1"})
		}
		json.NewEncoder(w).Encode(map[string]any{"Aliases": as})
	case r.Method == http.MethodGet && r.URL.Path == base+"/policy":
		if len(f.policies[q]) == 0 {
			fail(404, "ResourceNotFoundException", "The resource you requested does not exist.")
			return
		}
		var sts []string
		for _, s := range f.policies[q] {
			sts = append(sts, s)
		}
		sort.Strings(sts)
		doc := `{"Version":"2012-10-17","Id":"default","Statement":[` + strings.Join(sts, ",") + `]}`
		json.NewEncoder(w).Encode(map[string]string{"Policy": doc, "RevisionId": "r"})
	case r.Method == http.MethodPost && r.URL.Path == base+"/policy":
		body, _ := io.ReadAll(r.Body)
		var in struct{ StatementId, Action, Principal, SourceArn string }
		json.Unmarshal(body, &in)
		if _, dup := f.policies[q][in.StatementId]; dup {
			fail(409, "ResourceConflictException", "The statement id ("+in.StatementId+") provided already exists. Please provide a new statement id, or remove the existing statement.")
			return
		}
		res := f.Function
		if q != "" {
			res += ":" + q
		}
		st, _ := json.Marshal(map[string]any{
			"Sid": in.StatementId, "Effect": "Allow", "Principal": map[string]string{"Service": in.Principal},
			"Action": in.Action, "Resource": res, "Condition": map[string]any{"ArnLike": map[string]string{"AWS:SourceArn": in.SourceArn}},
		})
		f.put(q, in.StatementId, string(st))
		w.WriteHeader(201)
		json.NewEncoder(w).Encode(map[string]string{"Statement": string(st)})
	case r.Method == http.MethodDelete && strings.HasPrefix(r.URL.Path, base+"/policy/"):
		sid := strings.TrimPrefix(r.URL.Path, base+"/policy/")
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
