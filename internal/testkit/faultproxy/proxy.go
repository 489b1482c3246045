// Package faultproxy is a reverse proxy on loopback in front of an AWS
// endpoint (moto in tests and the benchmark) that makes it behave more like
// AWS under load: it adds latency to every call, enforces AWS's per-account
// quota buckets with AWS's own throttling answers, injects 500/503 answers
// and dropped connections, can make an event source mapping report Creating
// or Updating for its next reads, and counts calls per service, operation
// and bucket.
//
// A test or a benchmark starts it, points its SDK configuration's
// BaseEndpoint at URL, and closes it:
//
//	p, err := faultproxy.Start(motoURL, faultproxy.Config{Latency: 20 * time.Millisecond})
//	...
//	defer p.Close()
//	cfg.BaseEndpoint = aws.String(p.URL)
//
// Paths under /moto-api/ (moto's reset) pass through untouched and
// uncounted.
//
// Go's HTTP client retries a GET itself, once and unseen by the SDK, when a
// reused connection is dropped before the answer; the proxy counts both
// requests.
//
// A test kit: only tests, internal/tools and their mains import it
// (internal/layers checks); of eventwire's packages it imports only the
// quota figures (internal/aws/quota, pace).
package faultproxy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/eventwire/eventwire/internal/aws/pace"
)

// Config configures a Proxy.
type Config struct {
	// Latency is added to every call before it is answered, throttled and
	// faulted calls too.
	Latency time.Duration
	// Quotas are the token buckets by name; nil means DefaultQuotas(). An
	// empty map throttles nothing.
	Quotas map[string]Quota
	// Bucket names the bucket a call draws on; nil means DefaultBucket. A
	// call whose bucket has no quota is never throttled.
	Bucket func(Call) string
	// Faults injects errors and dropped connections at random.
	Faults Faults
	// Clock runs the buckets and the latency; nil means the system clock.
	Clock pace.Clock
	// APIGatewayCooldown, when not zero, makes API Gateway refuse
	// concurrent changes to one API as AWS does (409 ConflictException
	// "Unable to complete operation due to concurrent modification";
	// terraform-provider-aws #40575): a change to an API while another
	// change to it is in flight, or within APIGatewayCooldown of its
	// answer, is refused. moto never refuses them.
	APIGatewayCooldown time.Duration
	// MissingFunctionListsNothing makes ListEventSourceMappings filtered
	// by a function that does not exist answer an empty list, as AWS may
	// (it answers an empty list or the mappings, never an error:
	// LocalStack's AWS-validated tests), where moto matches the filter's
	// text against the mappings it keeps.
	MissingFunctionListsNothing bool
	// UserDisableReasons gives a disabled mapping the StateTransitionReason
	// AWS writes when a user disables it, where moto writes "User
	// initiated" for every source: "User action" for a Kinesis or DynamoDB
	// stream's mapping, USER_INITIATED for the others (SQS, Kafka, MQ).
	UserDisableReasons bool
	// PolicyLimit makes AddPermission refuse, as AWS does, a statement
	// that would take the function's resource policy past 20,480 bytes
	// (PolicyLengthExceededException); moto has no limit. The size is
	// moto's policy document plus the statement, close to AWS's count;
	// moto keeps one policy per function whatever the qualifier.
	PolicyLimit bool
	// S3EncodesKeys makes ListObjectVersions asked with EncodingType url
	// answer with its keys and key markers URL-encoded, as S3 does; moto
	// ignores the parameter and writes keys raw, control characters and
	// all, into an XML no client can parse.
	S3EncodesKeys bool
}

// AWSAPIGatewayCooldown is the window after a change to an HTTP API in
// which the proxy's model refuses another change to it, as measured
// against AWS's behaviour by peers (the bench runs with it).
const AWSAPIGatewayCooldown = 50 * time.Millisecond

// Fault is what the proxy does to a call instead of answering it plainly.
type Fault int

const (
	// NoFault forwards the call.
	NoFault Fault = iota
	// Error500 answers 500 in the service's error shape, without forwarding.
	Error500
	// Error503 answers 503 in the service's error shape, without forwarding.
	Error503
	// Drop closes the connection without an answer, without forwarding:
	// the call had no effect.
	Drop
	// DropAfter forwards the call, then closes the connection instead of
	// answering: the call took effect, but the caller cannot know.
	DropAfter
)

func (f Fault) String() string {
	return [...]string{"none", "500", "503", "drop", "drop-after"}[f]
}

// Faults are the fractions of calls that get each fault, at random but
// reproducibly: the same Seed and the same sequence of calls get the same
// faults. A call is throttled before it can be faulted.
type Faults struct {
	Error500, Error503, Drop, DropAfter float64
	Seed                                uint64
	// Match limits the faults to the calls it accepts; nil accepts all.
	Match func(Call) bool
}

// MappingState makes an event source mapping report a state it is not in.
type MappingState struct {
	// State is reported instead of the mapping's own (Creating, Updating).
	State string
	// Reason, if not empty, is reported as its StateTransitionReason.
	Reason string
	// Reads is how many answers report it: each GetEventSourceMapping
	// answer for the mapping, and each ListEventSourceMappings answer that
	// holds it, uses one. Below zero: until ClearMappingState.
	Reads int
}

// Counts are what happened to calls.
type Counts struct {
	Calls     int // calls that arrived
	Throttled int // answered with the throttling error
	Errors    int // answered with an injected 500 or 503
	Dropped   int // connections dropped, before or after forwarding
	Conflicts int // changes to an HTTP API refused as concurrent
}

func (c *Counts) add(o Counts) {
	c.Calls += o.Calls
	c.Throttled += o.Throttled
	c.Errors += o.Errors
	c.Dropped += o.Dropped
	c.Conflicts += o.Conflicts
}

// Snapshot is the counts since Start or the last Reset.
type Snapshot struct {
	Calls   map[Call]Counts
	Buckets map[string]Counts // calls outside every bucket are not here
	Total   Counts
}

// Service sums the counts of one service's calls.
func (s Snapshot) Service(name string) Counts {
	var c Counts
	for call, n := range s.Calls {
		if call.Service == name {
			c.add(n)
		}
	}
	return c
}

// Proxy is a running fault-injecting proxy.
type Proxy struct {
	// URL is the proxy's base URL, http://127.0.0.1:port.
	URL string

	srv       *http.Server
	ln        net.Listener
	rp        *httputil.ReverseProxy
	transport *http.Transport
	clock     pace.Clock
	bucket    func(Call) string
	buckets   map[string]*pace.Bucket
	cooldown  time.Duration // Config.APIGatewayCooldown
	apis      apiChanges
	upstream  *url.URL
	// emptyListForMissing is Config.MissingFunctionListsNothing.
	emptyListForMissing bool
	// userReasons is Config.UserDisableReasons.
	userReasons bool
	// policyLimit is Config.PolicyLimit.
	policyLimit bool
	// encodeKeys is Config.S3EncodesKeys.
	encodeKeys bool

	mu      sync.Mutex
	latency time.Duration
	faults  Faults
	rng     *rand.Rand
	script  []scripted
	states  map[string]*MappingState
	snap    Snapshot
	ids     uint64
}

// scripted is a fault for the next matching calls.
type scripted struct {
	match Call
	fault Fault
	left  int
}

// Start starts a proxy in front of upstream, an AWS endpoint's base URL.
func Start(upstream string, cfg Config) (*Proxy, error) {
	u, err := url.Parse(upstream)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("upstream %q: not a base URL", upstream)
	}
	p := &Proxy{
		clock:               cfg.Clock,
		bucket:              cfg.Bucket,
		buckets:             map[string]*pace.Bucket{},
		latency:             cfg.Latency,
		cooldown:            cfg.APIGatewayCooldown,
		upstream:            u,
		emptyListForMissing: cfg.MissingFunctionListsNothing,
		userReasons:         cfg.UserDisableReasons,
		policyLimit:         cfg.PolicyLimit,
		encodeKeys:          cfg.S3EncodesKeys,
		states:              map[string]*MappingState{},
	}
	if p.clock == nil {
		p.clock = pace.System
	}
	if p.bucket == nil {
		p.bucket = DefaultBucket
	}
	quotas := cfg.Quotas
	if quotas == nil {
		quotas = DefaultQuotas()
	}
	for name, q := range quotas {
		p.buckets[name] = pace.NewWithClock(q.Rate, q.Burst, p.clock)
	}
	p.setFaults(cfg.Faults)
	p.resetCounts()
	// Enough idle connections to moto for a benchmark's concurrent calls.
	p.transport = http.DefaultTransport.(*http.Transport).Clone()
	p.transport.MaxIdleConnsPerHost = 64
	p.rp = &httputil.ReverseProxy{
		Rewrite:        func(r *httputil.ProxyRequest) { r.SetURL(u) },
		Transport:      p.transport,
		ModifyResponse: p.modifyResponse,
		ErrorHandler:   p.errorHandler,
	}
	p.ln, err = net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen on loopback: %w", err)
	}
	p.URL = "http://" + p.ln.Addr().String()
	p.srv = &http.Server{Handler: p, ReadHeaderTimeout: time.Minute}
	go p.srv.Serve(p.ln)
	return p, nil
}

// Close stops the proxy and closes its connections.
func (p *Proxy) Close() error {
	err := p.srv.Close()
	p.transport.CloseIdleConnections()
	return err
}

// SetLatency changes the latency added to every call.
func (p *Proxy) SetLatency(d time.Duration) {
	p.mu.Lock()
	p.latency = d
	p.mu.Unlock()
}

// SetFaults replaces the random faults, and restarts their sequence from
// f.Seed.
func (p *Proxy) SetFaults(f Faults) {
	p.mu.Lock()
	p.setFaults(f)
	p.mu.Unlock()
}

func (p *Proxy) setFaults(f Faults) {
	p.faults = f
	p.rng = rand.New(rand.NewPCG(f.Seed, f.Seed^0x9e3779b97f4a7c15))
}

// FailNext gives fault to the next n calls that match pattern (its empty
// fields match anything), before any random fault. Throttled calls do not
// count.
func (p *Proxy) FailNext(pattern Call, fault Fault, n int) {
	p.mu.Lock()
	p.script = append(p.script, scripted{match: pattern, fault: fault, left: n})
	p.mu.Unlock()
}

// SetMappingState makes the mapping with this UUID report st.
func (p *Proxy) SetMappingState(uuid string, st MappingState) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if st.Reads == 0 {
		delete(p.states, uuid)
		return
	}
	p.states[uuid] = &st
}

// ClearMappingState lets the mapping report its own state again.
func (p *Proxy) ClearMappingState(uuid string) {
	p.mu.Lock()
	delete(p.states, uuid)
	p.mu.Unlock()
}

// Snapshot returns the counts so far.
func (p *Proxy) Snapshot() Snapshot {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := Snapshot{Calls: map[Call]Counts{}, Buckets: map[string]Counts{}, Total: p.snap.Total}
	for k, v := range p.snap.Calls {
		s.Calls[k] = v
	}
	for k, v := range p.snap.Buckets {
		s.Buckets[k] = v
	}
	return s
}

// Reset sets the counts to zero. The buckets keep their tokens.
func (p *Proxy) Reset() {
	p.mu.Lock()
	p.resetCounts()
	p.mu.Unlock()
}

func (p *Proxy) resetCounts() {
	p.snap = Snapshot{Calls: map[Call]Counts{}, Buckets: map[string]Counts{}}
}

// count adds d to a call's counts; p.mu is held.
func (p *Proxy) count(c Call, bucket string, d Counts) {
	n := p.snap.Calls[c]
	n.add(d)
	p.snap.Calls[c] = n
	if bucket != "" {
		b := p.snap.Buckets[bucket]
		b.add(d)
		p.snap.Buckets[bucket] = b
	}
	p.snap.Total.add(d)
}

// pickFault decides a call's fault; p.mu is held.
func (p *Proxy) pickFault(c Call) Fault {
	for i := range p.script {
		s := &p.script[i]
		if s.left > 0 && c.matches(s.match) {
			s.left--
			f := s.fault
			if s.left == 0 {
				p.script = append(p.script[:i], p.script[i+1:]...)
			}
			return f
		}
	}
	f := p.faults
	if f.Error500+f.Error503+f.Drop+f.DropAfter <= 0 || (f.Match != nil && !f.Match(c)) {
		return NoFault
	}
	u := p.rng.Float64()
	for _, k := range []struct {
		rate  float64
		fault Fault
	}{{f.Error500, Error500}, {f.Error503, Error503}, {f.Drop, Drop}, {f.DropAfter, DropAfter}} {
		if u < k.rate {
			return k.fault
		}
		u -= k.rate
	}
	return NoFault
}

// forward is what the proxy knows of a forwarded call.
type forward struct {
	call      Call
	dropAfter bool
}

type forwardKey struct{}

var errDropped = errors.New("connection dropped by the proxy")

func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/moto-api/") {
		p.rp.ServeHTTP(w, r)
		return
	}
	call, proto := identify(r)
	bucket := p.bucket(call)
	p.mu.Lock()
	p.count(call, bucket, Counts{Calls: 1})
	latency := p.latency
	p.ids++
	id := fmt.Sprintf("00000000-0000-4000-8000-%012x", p.ids)
	p.mu.Unlock()

	if latency > 0 {
		if err := p.clock.Sleep(r.Context(), latency); err != nil {
			return
		}
	}
	if b := p.buckets[bucket]; b != nil && !b.Take() {
		p.mu.Lock()
		p.count(call, bucket, Counts{Throttled: 1})
		p.mu.Unlock()
		throttled(call, proto).write(w, id)
		return
	}
	p.mu.Lock()
	fault := p.pickFault(call)
	switch fault {
	case Error500, Error503:
		p.count(call, bucket, Counts{Errors: 1})
	case Drop, DropAfter:
		p.count(call, bucket, Counts{Dropped: 1})
	}
	p.mu.Unlock()
	switch fault {
	case Error500:
		serverError(call, proto, http.StatusInternalServerError).write(w, id)
		return
	case Error503:
		serverError(call, proto, http.StatusServiceUnavailable).write(w, id)
		return
	case Drop:
		drop(w)
		return
	}
	if api, ok := apiChange(call, r); ok && p.cooldown > 0 {
		if !p.apis.begin(api, p.clock.Now(), p.cooldown) {
			p.mu.Lock()
			p.count(call, bucket, Counts{Conflicts: 1})
			p.mu.Unlock()
			concurrentModification().write(w, id)
			return
		}
		defer func() { p.apis.end(api, p.clock.Now()) }()
	}
	if p.policyLimit && p.policyTooLarge(r, call) {
		policyLengthExceeded().write(w, id)
		return
	}
	if p.emptyListForMissing && p.listOfMissingFunction(r, call) {
		emptyMappingList(w, id)
		return
	}
	ctx := context.WithValue(r.Context(), forwardKey{}, &forward{call: call, dropAfter: fault == DropAfter})
	p.rp.ServeHTTP(w, r.WithContext(ctx))
}

// drop closes the client's connection without an answer.
func drop(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}

func (p *Proxy) errorHandler(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, errDropped) {
		drop(w)
		return
	}
	if r.Context().Err() != nil {
		return
	}
	http.Error(w, "faultproxy: upstream: "+err.Error(), http.StatusBadGateway)
}

func (p *Proxy) modifyResponse(resp *http.Response) error {
	fw, _ := resp.Request.Context().Value(forwardKey{}).(*forward)
	if fw == nil {
		return nil
	}
	if fw.dropAfter {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return errDropped
	}
	if p.encodeKeys && fw.call.Service == "s3" && fw.call.Operation == "ListObjectVersions" &&
		resp.Request.URL.Query().Get("encoding-type") == "url" && resp.StatusCode == http.StatusOK {
		return encodeKeys(resp)
	}
	if fw.call.Service != "lambda" || resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Encoding") != "" ||
		(fw.call.Operation != "GetEventSourceMapping" && fw.call.Operation != "ListEventSourceMappings") {
		return nil
	}
	p.mu.Lock()
	none := len(p.states) == 0 && !p.userReasons
	p.mu.Unlock()
	if none {
		return nil
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return fmt.Errorf("read %s answer: %w", fw.call, err)
	}
	if b, ok := p.rewriteMappings(body, fw.call.Operation); ok {
		body = b
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
	return nil
}

// rewriteMappings applies the mapping states to a Get or List answer, and
// reports whether it changed anything.
func (p *Proxy) rewriteMappings(body []byte, op string) ([]byte, bool) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var doc map[string]any
	if dec.Decode(&doc) != nil {
		return nil, false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	changed := false
	if op == "GetEventSourceMapping" {
		changed = p.applyState(doc)
	} else {
		list, _ := doc["EventSourceMappings"].([]any)
		for _, m := range list {
			if m, ok := m.(map[string]any); ok && p.applyState(m) {
				changed = true
			}
		}
	}
	if !changed {
		return nil, false
	}
	out, err := json.Marshal(doc)
	if err != nil {
		return nil, false
	}
	return out, true
}

// userDisableReason gives a disabled mapping whose reason is moto's (or
// none) the one AWS writes for a user's disable, and reports whether it
// did.
func userDisableReason(m map[string]any) bool {
	if reason, _ := m["StateTransitionReason"].(string); m["State"] != "Disabled" || reason != "" && reason != "User initiated" {
		return false
	}
	source, _ := m["EventSourceArn"].(string)
	m["StateTransitionReason"] = "USER_INITIATED"
	if strings.HasPrefix(source, "arn:aws:kinesis:") || strings.HasPrefix(source, "arn:aws:dynamodb:") {
		m["StateTransitionReason"] = "User action"
	}
	return true
}

// applyState applies the state held for one mapping (or, without one, a
// user's disable reason where Config.UserDisableReasons asks); p.mu is
// held.
func (p *Proxy) applyState(m map[string]any) bool {
	uuid, _ := m["UUID"].(string)
	st := p.states[uuid]
	if st == nil {
		return p.userReasons && userDisableReason(m)
	}
	m["State"] = st.State
	if st.Reason != "" {
		m["StateTransitionReason"] = st.Reason
	}
	if st.Reads > 0 {
		st.Reads--
		if st.Reads == 0 {
			delete(p.states, uuid)
		}
	}
	return true
}
