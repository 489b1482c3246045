package runcache

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestLoadOncePerRun(t *testing.T) {
	var loads atomic.Int32
	load := func() ([]string, error) { loads.Add(1); return []string{"a"}, nil }
	c := New()
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := Load(context.Background(), c, "k", load)
			if err != nil || !cmp.Equal(got, []string{"a"}) {
				t.Errorf("Load = %v, %v", got, err)
			}
		}()
	}
	wg.Wait()
	if n := loads.Load(); n != 1 {
		t.Errorf("20 concurrent Loads in one run loaded %d times, want 1", n)
	}
	if _, err := Load(context.Background(), New(), "k", load); err != nil || loads.Load() != 2 {
		t.Errorf("a new run loaded %d times in all, want 2 (nothing shared across runs)", loads.Load())
	}
	Load(context.Background(), nil, "k", load)
	Load(context.Background(), nil, "k", load)
	if n := loads.Load(); n != 4 {
		t.Errorf("with a nil cache every Load loads: %d loads, want 4", n)
	}
}

func TestFailedLoadIsNotKept(t *testing.T) {
	ctx, c := context.Background(), New()
	boom := errors.New("boom")
	if _, err := Load(ctx, c, "k", func() (int, error) { return 0, boom }); !errors.Is(err, boom) {
		t.Fatalf("Load error = %v, want boom", err)
	}
	got, err := Load(ctx, c, "k", func() (int, error) { return 7, nil })
	if err != nil || got != 7 {
		t.Errorf("Load after a failure = %v, %v; want 7 (loaded again)", got, err)
	}
}

func TestUpdateStoreForget(t *testing.T) {
	ctx, c := context.Background(), New()
	loads := 0
	load := func() ([]string, error) { loads++; return []string{"a"}, nil }
	first, _ := Load(ctx, c, "k", load)
	Update(c, "k", func(v []string) []string { return append(append([]string(nil), v...), "b") })
	got, _ := Load(ctx, c, "k", load)
	if !cmp.Equal(got, []string{"a", "b"}) || loads != 1 {
		t.Errorf("after Update: %v after %d loads, want [a b] after 1", got, loads)
	}
	if !cmp.Equal(first, []string{"a"}) {
		t.Errorf("Update changed a value already returned: %v", first)
	}
	Update(c, "missing", func(v []string) []string { return []string{"x"} })
	if got, _ := Load(ctx, c, "missing", func() ([]string, error) { return nil, nil }); got != nil {
		t.Errorf("Update of a key never loaded stored %v", got)
	}
	c.Forget("k")
	if got, _ := Load(ctx, c, "k", load); !cmp.Equal(got, []string{"a"}) || loads != 2 {
		t.Errorf("after Forget: %v after %d loads, want [a] after 2", got, loads)
	}
	Store(c, "s", 5)
	if got, _ := Load(ctx, c, "s", func() (int, error) { return 0, errors.New("should not load") }); got != 5 {
		t.Errorf("after Store: %v, want 5", got)
	}
}

func TestUpdateWhileLoadingDropsTheEntry(t *testing.T) {
	ctx, c := context.Background(), New()
	started, release := make(chan struct{}), make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		Load(ctx, c, "k", func() (int, error) { close(started); <-release; return 1, nil })
	}()
	<-started
	Update(c, "k", func(v int) int { return v + 100 })
	close(release)
	<-done
	got, _ := Load(ctx, c, "k", func() (int, error) { return 2, nil })
	if got != 2 {
		t.Errorf("Load after an Update during a load = %d, want 2 (read again: the first load may predate the write)", got)
	}
}
