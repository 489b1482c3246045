package faultproxy

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
)

// policyLimit is the size, in bytes, of a function's resource-based
// policy past which AWS refuses AddPermission.
const policyLimit = 20480

// policyTooLarge reports whether r is an AddPermission whose statement
// would take the function's policy (as upstream holds it) past
// policyLimit. It reads r's body and puts it back.
func (p *Proxy) policyTooLarge(r *http.Request, c Call) bool {
	if c.Service != "lambda" || c.Operation != "AddPermission" {
		return false
	}
	body, err := io.ReadAll(r.Body)
	r.Body.Close()
	r.Body = io.NopCloser(bytes.NewReader(body))
	if err != nil {
		return false
	}
	var in struct{ StatementId, Action, Principal, SourceArn string }
	if json.Unmarshal(body, &in) != nil {
		return false
	}
	fn := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/2015-03-31/functions/"), "/policy")
	statement, _ := json.Marshal(map[string]any{
		"Sid": in.StatementId, "Effect": "Allow", "Principal": map[string]string{"Service": in.Principal},
		"Action": in.Action, "Resource": "arn:aws:lambda:us-east-1:123456789012:function:" + fn,
		"Condition": map[string]any{"ArnLike": map[string]string{"AWS:SourceArn": in.SourceArn}},
	})
	return p.policySize(r, fn)+len(statement)+1 > policyLimit
}

// policySize is the size of the function's policy document upstream (0
// if it has none).
func (p *Proxy) policySize(r *http.Request, fn string) int {
	get := p.upstream.JoinPath("2015-03-31", "functions", fn, "policy")
	get.RawQuery = r.URL.RawQuery
	resp, err := p.upstreamGet(r, get)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	var out struct{ Policy string }
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&out) != nil {
		return 0
	}
	return len(out.Policy)
}

// policyLengthExceeded is Lambda's answer to a statement past the limit.
func policyLengthExceeded() answer {
	return answer{status: http.StatusBadRequest, code: "PolicyLengthExceededException",
		body: `{"Type":"User","message":"The final policy size is bigger than the limit."}`}
}
