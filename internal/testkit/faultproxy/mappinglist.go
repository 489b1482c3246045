package faultproxy

import (
	"net/http"
	"net/url"
	"strconv"
)

// listOfMissingFunction reports whether r lists the event source mappings
// of a function that does not exist upstream (asked with GetFunction).
func (p *Proxy) listOfMissingFunction(r *http.Request, c Call) bool {
	fn := r.URL.Query().Get("FunctionName")
	if c.Service != "lambda" || c.Operation != "ListEventSourceMappings" || fn == "" {
		return false
	}
	resp, err := p.upstreamGet(r, p.upstream.JoinPath("2015-03-31", "functions", url.PathEscape(fn)))
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusNotFound
}

// upstreamGet asks upstream for u itself, with r's authorization, to learn
// what the answer to r depends on.
func (p *Proxy) upstreamGet(r *http.Request, u *url.URL) (*http.Response, error) {
	req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", r.Header.Get("Authorization"))
	return p.transport.RoundTrip(req)
}

// emptyMappingList is ListEventSourceMappings' answer with no mapping.
func emptyMappingList(w http.ResponseWriter, id string) {
	body := `{"EventSourceMappings":[]}`
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Amzn-RequestId", id)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	w.Write([]byte(body))
}
