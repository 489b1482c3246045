// Package runcache keeps the reads of shared resources (an HTTP API's
// routes and integrations, a target group's description) for one run: one
// CLI command, one invocation of the deployer. Every function of the run
// that needs a read shares it; eventwire's own writes update it; nothing
// outlives the run, so a later run always reads AWS afresh.
//
// A Cache is a value: a run makes one (New) and hands it to the adapters
// that read through it (internal/aws/elbsvc and apigwsvc, WithCache). A
// nil *Cache keeps nothing: every Load reads. Load, Store and Update are
// functions, not methods, because they have type parameters.
//
// Like every adapter under internal/aws, it imports only the standard
// library, never its callers nor a test kit (internal/layers checks).
package runcache

import (
	"context"
	"sync"
)

// Cache is one run's reads, safe for concurrent use.
type Cache struct {
	mu      sync.Mutex
	entries map[string]*entry
}

type entry struct {
	done chan struct{} // closed when the load ends
	val  any
	err  error
}

// New returns a new, empty cache: the start of a run.
func New() *Cache { return &Cache{entries: map[string]*entry{}} }

// Load returns the value c keeps under key, calling load for it the first
// time in the run; callers that ask while it loads wait for that one load
// (or until ctx is done). A failed load is not kept: the next caller loads
// again. With a nil c, Load calls load. Values are shared: callers must
// not change them (Update replaces them).
func Load[T any](ctx context.Context, c *Cache, key string, load func() (T, error)) (T, error) {
	if c == nil {
		return load()
	}
	c.mu.Lock()
	if e, ok := c.entries[key]; ok {
		c.mu.Unlock()
		select {
		case <-e.done:
		case <-ctx.Done():
			var zero T
			return zero, ctx.Err()
		}
		if e.err == nil {
			return e.val.(T), nil
		}
		return Load(ctx, c, key, load) // that load failed and was dropped
	}
	e := &entry{done: make(chan struct{})}
	c.entries[key] = e
	c.mu.Unlock()
	v, err := load()
	c.mu.Lock()
	e.val, e.err = v, err
	if err != nil && c.entries[key] == e {
		delete(c.entries, key)
	}
	c.mu.Unlock()
	close(e.done)
	return v, err
}

// Store keeps v under key in c, as if it had been loaded.
func Store[T any](c *Cache, key string, v T) {
	if c == nil {
		return
	}
	e := &entry{done: make(chan struct{}), val: v}
	close(e.done)
	c.mu.Lock()
	c.entries[key] = e
	c.mu.Unlock()
}

// Update replaces the value kept under key by change(value), after a write
// of eventwire's that AWS accepted. change must return a new value, not
// change the one it gets. A value still loading is dropped instead (the
// load may have read AWS before the write). With a nil c it does nothing.
func Update[T any](c *Cache, key string, change func(T) T) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok {
		return
	}
	select {
	case <-e.done:
	default:
		delete(c.entries, key)
		return
	}
	if e.err != nil {
		return
	}
	ne := &entry{done: make(chan struct{}), val: change(e.val.(T))}
	close(ne.done)
	c.entries[key] = ne
}

// Forget drops the value kept under key, after a write whose effect is not
// known (it failed, or its answer was lost): the next Load reads AWS.
func (c *Cache) Forget(key string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	delete(c.entries, key)
	c.mu.Unlock()
}
