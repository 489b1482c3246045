package cli

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/eventwire/eventwire/internal/progress"
)

// DefaultProgressInterval is how often a run that is not on a terminal
// says what a function still in flight is doing (Terraform's "Still
// creating...").
const DefaultProgressInterval = 10 * time.Second

// progressView shows the functions in flight on standard error: on a
// terminal (live) one line each, rewritten in place as they change; else a
// line per function every interval while it is in flight. It is also the
// writer of everything else written to standard error meanwhile, so that
// the live lines stay below it.
type progressView struct {
	mu       sync.Mutex
	w        io.Writer
	live     bool
	width    int // of the terminal: a longer live line is cut
	interval time.Duration
	now      func() time.Time
	flights  map[string]*flight
	order    []string // functions in flight, in the order they started
	drawn    int      // live lines on screen
}

// flight is a function's action in progress.
type flight struct {
	action, resource, state string
	since, said             time.Time
}

// newProgressView returns the view of env's standard error: live when it
// is a terminal (env.StderrTerminal), lines cut at env.Width, else a line
// every env.ProgressInterval; now is the clock.
func newProgressView(env Env, now func() time.Time) *progressView {
	interval, width := env.ProgressInterval, env.Width
	if interval <= 0 {
		interval = DefaultProgressInterval
	}
	if width <= 0 {
		width = 80
	}
	return &progressView{w: env.Stderr, live: env.StderrTerminal, width: width, interval: interval, now: now,
		flights: map[string]*flight{}}
}

// event takes one progress event (the progress.Func of the run).
func (v *progressView) event(e progress.Event) {
	v.mu.Lock()
	defer v.mu.Unlock()
	switch e.Step {
	case progress.Started:
		if _, ok := v.flights[e.Function]; !ok {
			v.order = append(v.order, e.Function)
		}
		now := v.now()
		v.flights[e.Function] = &flight{action: e.Action, since: now, said: now}
	case progress.Waiting:
		if f := v.flights[e.Function]; f != nil {
			f.resource, f.state = e.Resource, e.State
		}
	case progress.Finished:
		delete(v.flights, e.Function)
		for i, fn := range v.order {
			if fn == e.Function {
				v.order = append(v.order[:i], v.order[i+1:]...)
				break
			}
		}
	}
	if v.live {
		v.redraw()
	}
}

// tick redraws the live lines (their clocks move), or writes a line for
// each function in flight that has said nothing for an interval.
func (v *progressView) tick() {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.live {
		v.redraw()
		return
	}
	now := v.now()
	for _, fn := range v.order {
		f := v.flights[fn]
		if now.Sub(f.said) < v.interval {
			continue
		}
		f.said = now
		fmt.Fprintf(v.w, "%s: still %s [%s elapsed]\n", fn, f.doing(), elapsed(now.Sub(f.since)))
	}
}

// doing is what the function is doing: waiting on a resource, or its
// action.
func (f *flight) doing() string {
	if f.state != "" {
		return fmt.Sprintf("waiting for %s … %s", f.resource, f.state)
	}
	return f.action
}

func elapsed(d time.Duration) string { return d.Truncate(time.Second).String() }

// redraw replaces the live lines on screen; v.mu is held.
func (v *progressView) redraw() {
	v.clear()
	now := v.now()
	for _, fn := range v.order {
		f := v.flights[fn]
		line := fmt.Sprintf("%s: %s [%s]", fn, f.doing(), elapsed(now.Sub(f.since)))
		if r := []rune(line); len(r) >= v.width {
			line = string(r[:v.width-2]) + "…"
		}
		fmt.Fprintf(v.w, "%s\n", line)
	}
	v.drawn = len(v.order)
}

// clear erases the live lines; v.mu is held.
func (v *progressView) clear() {
	if v.drawn > 0 {
		fmt.Fprintf(v.w, "\x1b[%dA\r\x1b[J", v.drawn)
		v.drawn = 0
	}
}

// Write writes p above the live lines.
func (v *progressView) Write(p []byte) (int, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if !v.live || v.drawn == 0 {
		return v.w.Write(p)
	}
	v.clear()
	n, err := v.w.Write(p)
	if !strings.HasSuffix(string(p), "\n") {
		fmt.Fprintln(v.w)
	}
	v.redraw()
	return n, err
}

// start ticks the view until the returned stop is called; stop erases the
// live lines.
func (v *progressView) start() (stop func()) {
	every := min(v.interval, time.Second)
	t := time.NewTicker(every)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-t.C:
				v.tick()
			case <-done:
				return
			}
		}
	}()
	return func() {
		t.Stop()
		close(done)
		wg.Wait()
		v.mu.Lock()
		v.clear()
		v.mu.Unlock()
	}
}
