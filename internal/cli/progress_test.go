package cli

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/eventwire/eventwire/internal/progress"
)

// step is one thing that happens to a progress view: the clock moves by
// after, then event is sent (when Step is set), or the view ticks.
type step struct {
	after time.Duration
	event progress.Event
	tick  bool
}

const mappingAction = "create event-source-mapping arn:aws:sqs:us-east-1:123456789012:orders"

func started(fn, action string) step {
	return step{event: progress.Event{Function: fn, Step: progress.Started, Action: action}}
}

func waiting(fn, state string) step {
	return step{event: progress.Event{Function: fn, Step: progress.Waiting, Resource: "mapping 6f2d", State: state}}
}

func finished(fn string) step {
	return step{event: progress.Event{Function: fn, Step: progress.Finished}}
}

func tickAfter(d time.Duration) step { return step{after: d, tick: true} }

// playProgress runs steps on a view with a clock that moves only as the
// steps say, and returns what it wrote.
func playProgress(live bool, width int, steps []step) string {
	var out strings.Builder
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	v := newProgressView(Env{Stderr: &out, StderrTerminal: live, Width: width, ProgressInterval: 10 * time.Second}, func() time.Time { return now })
	for _, s := range steps {
		now = now.Add(s.after)
		if s.tick {
			v.tick()
		} else {
			v.event(s.event)
		}
	}
	return out.String()
}

func TestProgressView_NotATerminal_ALineEveryInterval(t *testing.T) {
	tests := []struct {
		name  string
		steps []step
		want  string
	}{
		{
			name:  "nothing before the interval",
			steps: []step{started("orders", mappingAction), tickAfter(9 * time.Second), finished("orders")},
			want:  "",
		},
		{
			name: "a line per interval while waiting, none once finished",
			steps: []step{
				started("orders", mappingAction), waiting("orders", "Creating"),
				tickAfter(5 * time.Second), tickAfter(5 * time.Second), tickAfter(5 * time.Second),
				tickAfter(5 * time.Second), finished("orders"), tickAfter(20 * time.Second),
			},
			want: "orders: still waiting for mapping 6f2d … Creating [10s elapsed]\n" +
				"orders: still waiting for mapping 6f2d … Creating [20s elapsed]\n",
		},
		{
			name: "each function in flight, in the order they started; an action without a wait by its name",
			steps: []step{
				started("orders", mappingAction), waiting("orders", "Updating"),
				started("refunds", "update apigateway-route abc/def"),
				tickAfter(12 * time.Second),
			},
			want: "orders: still waiting for mapping 6f2d … Updating [12s elapsed]\n" +
				"refunds: still update apigateway-route abc/def [12s elapsed]\n",
		},
		{
			name: "a new action starts the clock again",
			steps: []step{
				started("orders", mappingAction), tickAfter(8 * time.Second), finished("orders"),
				started("orders", "create elb-target tg"), tickAfter(8 * time.Second),
				tickAfter(3 * time.Second),
			},
			want: "orders: still create elb-target tg [11s elapsed]\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, playProgress(false, 0, tt.steps)); diff != "" {
				t.Errorf("output (-want +got):\n%s", diff)
			}
		})
	}
}

func TestProgressView_Terminal_RewritesLiveLines(t *testing.T) {
	got := playProgress(true, 60, []step{
		started("orders", mappingAction),
		waiting("orders", "Creating"),
		started("refunds", "update apigateway-route abc/def"),
		tickAfter(12 * time.Second),
		{event: progress.Event{Function: "orders", Step: progress.Finished, Err: errors.New("x")}},
	})
	up := func(n int) string { return "\x1b[" + string(rune('0'+n)) + "A\r\x1b[J" }
	want := "orders: create event-source-mapping arn:aws:sqs:us-east-1:…\n" + // cut at the width
		up(1) + "orders: waiting for mapping 6f2d … Creating [0s]\n" +
		up(1) + "orders: waiting for mapping 6f2d … Creating [0s]\n" +
		"refunds: update apigateway-route abc/def [0s]\n" +
		up(2) + "orders: waiting for mapping 6f2d … Creating [12s]\n" +
		"refunds: update apigateway-route abc/def [12s]\n" +
		up(2) + "refunds: update apigateway-route abc/def [12s]\n"
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("output (-want +got):\n%s", diff)
	}
}

// TestProgressView_Terminal_OtherOutputAbove: a line written to standard
// error meanwhile goes above the live lines, which are drawn again below.
func TestProgressView_Terminal_OtherOutputAbove(t *testing.T) {
	var out strings.Builder
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	v := newProgressView(Env{Stderr: &out, StderrTerminal: true, Width: 80}, func() time.Time { return now })
	v.event(progress.Event{Function: "orders", Step: progress.Started, Action: "create elb-target tg"})
	v.Write([]byte("a log line"))
	want := "orders: create elb-target tg [0s]\n" +
		"\x1b[1A\r\x1b[J" + "a log line\n" + "orders: create elb-target tg [0s]\n"
	if diff := cmp.Diff(want, out.String()); diff != "" {
		t.Errorf("output (-want +got):\n%s", diff)
	}
}
