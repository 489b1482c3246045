package retry

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestDo_BoundedFullJitterBackoff(t *testing.T) {
	busy := errors.New("busy")
	final := errors.New("final")
	tests := []struct {
		name      string
		errs      []error // what the call returns, in turn (then nil)
		wantCalls int
		wantErr   error
	}{
		{"succeeds at once", nil, 1, nil},
		{"succeeds after two retries", []error{busy, busy}, 3, nil},
		{"stops on an error not to retry", []error{busy, final}, 2, final},
		{"gives up after Max retries", []error{busy, busy, busy, busy, busy}, 4, busy},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var waits []time.Duration
			p := Policy{Max: 3, Backoff: 100 * time.Millisecond, Sleep: func(_ context.Context, d time.Duration) error {
				waits = append(waits, d)
				return nil
			}}
			calls := 0
			err := p.Do(context.Background(), "call", func() error {
				calls++
				if calls <= len(tt.errs) {
					return tt.errs[calls-1]
				}
				return nil
			}, func(err error) bool { return errors.Is(err, busy) })
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Errorf("Do = %v, want %v", err, tt.wantErr)
			}
			if calls != tt.wantCalls {
				t.Errorf("calls = %d, want %d", calls, tt.wantCalls)
			}
			if len(waits) != calls-1 {
				t.Errorf("waits = %v, want one before each retry", waits)
			}
			for i, w := range waits {
				if limit := 100 * time.Millisecond << i; w <= 0 || w > limit {
					t.Errorf("wait %d = %v, want within (0, %v]", i, w, limit)
				}
			}
		})
	}
}

func TestBackoff_CapsAt32TimesTheFirst(t *testing.T) {
	var waits []time.Duration
	b := Policy{Backoff: time.Second, Sleep: func(_ context.Context, d time.Duration) error {
		waits = append(waits, d)
		return nil
	}}.Start()
	for range 10 {
		b.Wait(context.Background(), "x", nil)
	}
	if diff := cmp.Diff(32*time.Second, b.next); diff != "" {
		t.Errorf("backoff after 10 waits (-want +got):\n%s", diff)
	}
}

func TestSleep_EndsWithTheContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Errorf("Sleep = %v, want context.Canceled", err)
	}
}
