package faultproxy

import (
	"net/http"
	"strings"
	"sync"
	"time"
)

// apiChanges is the model of API Gateway's refusal of concurrent changes
// to one API: which APIs have a change in flight, and when each API's
// last change was answered.
type apiChanges struct {
	mu       sync.Mutex
	inFlight map[string]bool
	lastDone map[string]time.Time
}

// begin reports whether a change to api may start at now: none other is
// in flight and the last was answered at least cooldown ago. If so, the
// change is in flight until end.
func (a *apiChanges) begin(api string, now time.Time, cooldown time.Duration) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.inFlight == nil {
		a.inFlight, a.lastDone = map[string]bool{}, map[string]time.Time{}
	}
	if a.inFlight[api] {
		return false
	}
	if last, ok := a.lastDone[api]; ok && now.Sub(last) < cooldown {
		return false
	}
	a.inFlight[api] = true
	return true
}

// end records that a change to api was answered at now.
func (a *apiChanges) end(api string, now time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.inFlight, api)
	a.lastDone[api] = now
}

// apiChange returns the HTTP API a call changes: an API Gateway v2 call
// other than a read, on a path /v2/apis/{apiId}/... .
func apiChange(c Call, r *http.Request) (string, bool) {
	if c.Service != "apigateway" || r.Method == http.MethodGet || r.Method == http.MethodHead {
		return "", false
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/v2/apis/")
	if !ok {
		return "", false
	}
	api, _, _ := strings.Cut(rest, "/")
	return api, api != ""
}

// concurrentModification is API Gateway's answer to a concurrent change.
func concurrentModification() answer {
	return restError(http.StatusConflict, "ConflictException",
		"Unable to complete operation due to concurrent modification. Please try again later.")
}
