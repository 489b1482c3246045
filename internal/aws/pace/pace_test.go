package pace

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// fakeClock moves only when told to, or when something sleeps on it.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	slept  []time.Duration
	frozen bool // sleeps do not move the clock
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.slept = append(c.slept, d)
	if !c.frozen {
		c.now = c.now.Add(d)
	}
	return nil
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func TestTake(t *testing.T) {
	// Each step advances the clock, then takes once.
	type step struct {
		advance time.Duration
		want    bool
	}
	tests := []struct {
		name        string
		rate        float64
		burst       int
		steps       []step
		wantGranted int
	}{
		{
			name: "burst then refill", rate: 10, burst: 2,
			steps: []step{{0, true}, {0, true}, {0, false}, {50 * time.Millisecond, false}, {50 * time.Millisecond, true}, {0, false}},
		},
		{
			name: "refill stops at the burst", rate: 10, burst: 2,
			steps: []step{{time.Hour, true}, {0, true}, {0, false}},
		},
		{
			name: "zero rate never refills", rate: 0, burst: 1,
			steps: []step{{0, true}, {time.Hour, false}},
		},
		{
			name: "burst below one is one", rate: 1, burst: 0,
			steps: []step{{0, true}, {0, false}, {time.Second, true}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &fakeClock{now: time.Unix(1000, 0)}
			b := NewWithClock(tt.rate, tt.burst, c)
			var got, want []bool
			for _, s := range tt.steps {
				c.advance(s.advance)
				got = append(got, b.Take())
				want = append(want, s.want)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("takes (-want +got):\n%s", diff)
			}
		})
	}
}

func TestWait(t *testing.T) {
	c := &fakeClock{now: time.Unix(1000, 0)}
	b := NewWithClock(4, 2, c)
	ctx := context.Background()
	for i := 0; i < 5; i++ {
		if err := b.Wait(ctx); err != nil {
			t.Fatalf("wait %d: %v", i, err)
		}
	}
	// Two from the burst, then one every 250ms; each waiter reserves the
	// next token, and the fake sleep moves the clock to it.
	want := []time.Duration{250 * time.Millisecond, 250 * time.Millisecond, 250 * time.Millisecond}
	if diff := cmp.Diff(want, c.slept); diff != "" {
		t.Errorf("sleeps (-want +got):\n%s", diff)
	}
	if b.Take() {
		t.Error("Take after the waits succeeded, want an empty bucket")
	}
}

func TestWaitReservesAheadOfTime(t *testing.T) {
	// Waiters whose sleeps overlap (here: sleeps that do not move the
	// clock) queue behind each other.
	c := &fakeClock{now: time.Unix(1000, 0), frozen: true}
	b := NewWithClock(10, 1, c)
	b.Take()
	for i := 0; i < 3; i++ {
		if err := b.Wait(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	want := []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 300 * time.Millisecond}
	if diff := cmp.Diff(want, c.slept); diff != "" {
		t.Errorf("sleeps (-want +got):\n%s", diff)
	}
}

func TestWaitDeadline(t *testing.T) {
	c := &fakeClock{now: time.Unix(1000, 0)}
	b := NewWithClock(1, 1, c)
	b.Take()
	ctx, cancel := context.WithDeadline(context.Background(), c.Now().Add(100*time.Millisecond))
	defer cancel()
	err := b.Wait(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Wait = %v, want a deadline error", err)
	}
	if len(c.slept) != 0 {
		t.Errorf("slept %v, want no sleep when the deadline comes first", c.slept)
	}
	c.advance(time.Second)
	if !b.Take() {
		t.Error("the refused waiter kept its token")
	}
}

func TestWaitCancelled(t *testing.T) {
	c := &fakeClock{now: time.Unix(1000, 0)}
	b := NewWithClock(1, 1, c)
	b.Take()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := b.Wait(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait = %v, want context.Canceled", err)
	}
	c.advance(time.Second)
	if !b.Take() {
		t.Error("the cancelled waiter kept its token")
	}
}

func TestNilBucket(t *testing.T) {
	var b *Bucket
	if !b.Take() {
		t.Error("nil Take = false, want true")
	}
	if err := b.Wait(context.Background()); err != nil {
		t.Errorf("nil Wait = %v", err)
	}
}
