// Package runcache keeps the reads of shared resources (an HTTP API's
// routes and integrations, a target group's description) for one run: one
// CLI command, one invocation of the deployer. Every function of the run
// that needs a read shares it; eventwire's own writes update it; nothing
// outlives the run, so a later run always reads AWS afresh.
//
// The cache travels in the context (With); without one, every Load reads.
package runcache

import (
	"context"
	"sync"
)

type ctxKey struct{}

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

// With returns ctx with a new, empty cache: the start of a run.
func With(ctx context.Context) context.Context {
	return context.WithValue(ctx, ctxKey{}, &Cache{entries: map[string]*entry{}})
}

func from(ctx context.Context) *Cache {
	c, _ := ctx.Value(ctxKey{}).(*Cache)
	return c
}

// Load returns the value kept under key, calling load for it the first
// time in the run; callers that ask while it loads wait for that one load.
// A failed load is not kept: the next caller loads again. Without a cache
// in ctx, Load calls load. Values are shared: callers must not change
// them (Update replaces them).
func Load[T any](ctx context.Context, key string, load func() (T, error)) (T, error) {
	c := from(ctx)
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
		return Load(ctx, key, load) // that load failed and was dropped
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

// Store keeps v under key, as if it had been loaded.
func Store[T any](ctx context.Context, key string, v T) {
	c := from(ctx)
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
// load may have read AWS before the write), as is one without a cache.
func Update[T any](ctx context.Context, key string, change func(T) T) {
	c := from(ctx)
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
func Forget(ctx context.Context, key string) {
	c := from(ctx)
	if c == nil {
		return
	}
	c.mu.Lock()
	delete(c.entries, key)
	c.mu.Unlock()
}
