// Package pace is a token bucket: a rate of tokens per second, up to a
// burst, one token a call. A server takes tokens without waiting (Take) to
// decide whether to throttle; a client waits for them (Wait) to stay under a
// quota instead of being throttled.
//
// It imports only the standard library.
package pace

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Clock tells the time and sleeps; tests inject a fake one.
type Clock interface {
	Now() time.Time
	// Sleep waits d, or returns ctx's error if ctx ends first.
	Sleep(ctx context.Context, d time.Duration) error
}

// System is the real clock.
var System Clock = systemClock{}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

func (systemClock) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Bucket is a token bucket, safe for concurrent use. It starts full. A nil
// *Bucket has no limit: Take always succeeds and Wait never waits.
type Bucket struct {
	rate  float64 // tokens a second
	burst float64
	clock Clock

	mu     sync.Mutex
	tokens float64 // below zero when waiters have reserved future tokens
	last   time.Time
}

// New returns a full bucket refilled at rate tokens a second up to burst
// tokens, on the system clock. A rate of zero never refills; a burst below
// one is one.
func New(rate float64, burst int) *Bucket { return NewWithClock(rate, burst, System) }

// NewWithClock is New on clock c.
func NewWithClock(rate float64, burst int, c Clock) *Bucket {
	if burst < 1 {
		burst = 1
	}
	if rate < 0 {
		rate = 0
	}
	return &Bucket{rate: rate, burst: float64(burst), clock: c, tokens: float64(burst), last: c.Now()}
}

// Rate returns the refill rate, in tokens a second.
func (b *Bucket) Rate() float64 { return b.rate }

// Burst returns the bucket's capacity.
func (b *Bucket) Burst() int { return int(b.burst) }

// refill adds the tokens earned since last; b.mu is held.
func (b *Bucket) refill(now time.Time) {
	if d := now.Sub(b.last); d > 0 {
		b.tokens += d.Seconds() * b.rate
		if b.tokens > b.burst {
			b.tokens = b.burst
		}
		b.last = now
	}
}

// Take takes a token if one is there, without waiting, and reports whether
// it did.
func (b *Bucket) Take() bool {
	if b == nil {
		return true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.refill(b.clock.Now())
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// Tokens returns the tokens in the bucket now; below zero, the tokens that
// waiters have reserved ahead of the refill.
func (b *Bucket) Tokens() float64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.refill(b.clock.Now())
	return b.tokens
}

// Wait takes a token, waiting for the refill if the bucket is empty. Waiters
// are served in the order they call Wait. It returns ctx's error, and leaves
// the token, if ctx ends first or its deadline comes before the token would.
func (b *Bucket) Wait(ctx context.Context) error {
	if b == nil {
		return ctx.Err()
	}
	b.mu.Lock()
	now := b.clock.Now()
	b.refill(now)
	b.tokens--
	if b.tokens >= 0 {
		b.mu.Unlock()
		return nil
	}
	if b.rate == 0 {
		b.tokens++
		b.mu.Unlock()
		<-ctx.Done()
		return ctx.Err()
	}
	wait := time.Duration(-b.tokens / b.rate * float64(time.Second))
	if dl, ok := ctx.Deadline(); ok && dl.Before(now.Add(wait)) {
		b.tokens++
		b.mu.Unlock()
		return fmt.Errorf("token in %v, after the deadline: %w", wait, context.DeadlineExceeded)
	}
	b.mu.Unlock()
	if err := b.clock.Sleep(ctx, wait); err != nil {
		b.mu.Lock()
		b.refill(b.clock.Now())
		b.tokens++
		if b.tokens > b.burst {
			b.tokens = b.burst
		}
		b.mu.Unlock()
		return err
	}
	return nil
}
