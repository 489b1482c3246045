// Package retry retries AWS calls that may succeed later (a busy or
// conflicting resource, throttling, a permission still propagating), a
// bounded number of times, with full-jitter exponential backoff.
//
// It imports only the standard library, never its callers nor a test kit
// (internal/layers checks).
package retry

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"time"
)

// Policy bounds retries. The zero value retries nothing.
type Policy struct {
	// Max is how many times a call is retried after its first attempt.
	Max int
	// Backoff is the first backoff; it doubles each retry, up to 32 times
	// itself. Each wait is a random time up to the backoff (full jitter).
	Backoff time.Duration
	// Sleep waits, or returns ctx's error; nil means Sleep (tests put a
	// fake clock here).
	Sleep func(ctx context.Context, d time.Duration) error
	// Log gets one debug line per retry; nil logs nothing.
	Log *slog.Logger
}

// Do calls call until it succeeds, fails with an error that again does not
// accept, or Max retries are spent; it returns call's last error.
func (p Policy) Do(ctx context.Context, what string, call func() error, again func(error) bool) error {
	b := p.Start()
	for attempt := 0; ; attempt++ {
		err := call()
		if err == nil || attempt >= p.Max || !again(err) {
			return err
		}
		if err := b.Wait(ctx, what, err); err != nil {
			return err
		}
	}
}

// Start returns the backoff of one sequence of retries, for callers that
// loop themselves.
func (p Policy) Start() *Backoff { return &Backoff{p: p, next: p.Backoff} }

// Backoff is the state of one sequence of retries.
type Backoff struct {
	p       Policy
	next    time.Duration
	attempt int
}

// Wait waits before the next retry of what, which failed with cause.
func (b *Backoff) Wait(ctx context.Context, what string, cause error) error {
	b.attempt++
	wait := time.Duration(1)
	if b.next > 0 {
		wait = time.Duration(rand.Int64N(int64(b.next)) + 1)
	}
	if b.p.Log != nil {
		b.p.Log.DebugContext(ctx, "retrying", "call", what, "attempt", b.attempt, "wait", wait, "error", cause)
	}
	sleep := b.p.Sleep
	if sleep == nil {
		sleep = Sleep
	}
	if err := sleep(ctx, wait); err != nil {
		return err
	}
	if b.next < 32*b.p.Backoff {
		b.next *= 2
	}
	return nil
}

// Sleep waits for d, or until ctx ends.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
