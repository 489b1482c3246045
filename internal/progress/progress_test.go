package progress

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestFunc_ScopeFillsWhatTheReporterLeftEmpty(t *testing.T) {
	var got []Event
	f := Func(func(e Event) { got = append(got, e) }).Scope("orders", "create event-source-mapping q")
	f.Report(Event{Step: Started})
	f.Wait("mapping u1", "Creating")
	f.Report(Event{Function: "refunds", Action: "other", Step: Finished})
	want := []Event{
		{Function: "orders", Action: "create event-source-mapping q", Step: Started},
		{Function: "orders", Action: "create event-source-mapping q", Step: Waiting, Resource: "mapping u1", State: "Creating"},
		{Function: "refunds", Action: "other", Step: Finished},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}

func TestFunc_NilReportsNothing(t *testing.T) {
	var f Func
	if f.Scope("orders", "x") != nil {
		t.Error("Scope of a nil Func is not nil")
	}
	f.Report(Event{Step: Started}) // must not panic
	f.Wait("mapping u1", "Creating")
}
