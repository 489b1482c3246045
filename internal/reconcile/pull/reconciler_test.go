package pull

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/eventwire/eventwire/internal/aws/lambdasvc"
	"github.com/eventwire/eventwire/internal/definition"
	"github.com/eventwire/eventwire/internal/plan"
	"github.com/eventwire/eventwire/internal/progress"
	"github.com/eventwire/eventwire/internal/wiring"
)

// fakeStore is a fake of the adapter that behaves like AWS where moto does
// not: mappings go through transitional states, deletes take a while,
// calls answer ResourceInUse / ResourceConflict / TooManyRequests.
type fakeStore struct {
	mappings map[string]*fakeMapping
	// list is what List answers (besides the mappings' own observations).
	list []wiring.Mapping
	// errs are errors returned, in order, by the next calls of an
	// operation ("Create", "Update", ...), before it succeeds.
	errs map[string][]error
	// created is the script of states of the next created mapping.
	created []string
	// createdState is the state Create answers; Creating if empty.
	createdState string
	calls        []string
}

type fakeMapping struct {
	o wiring.Mapping
	// states are the states the next Gets report, one per Get; the last
	// one stays.
	states []string
	// deleting is how many Gets answer Deleting after a Delete before the
	// mapping is gone; -1 once gone.
	deleting int
	deleted  bool
}

func newFakeStore() *fakeStore {
	return &fakeStore{mappings: map[string]*fakeMapping{}, errs: map[string][]error{}}
}

func (f *fakeStore) add(uuid string, states ...string) *fakeMapping {
	m := &fakeMapping{o: wiring.Mapping{UUID: uuid, ARN: "arn:esm:" + uuid, FunctionArn: fnARN}, states: states}
	f.mappings[uuid] = m
	return m
}

func (f *fakeStore) fail(op string) error {
	if q := f.errs[op]; len(q) > 0 {
		f.errs[op] = q[1:]
		return fmt.Errorf("%s: %w", strings.ToLower(op), q[0])
	}
	return nil
}

func (f *fakeStore) List(ctx context.Context, function string, mine func(wiring.Mapping) bool) ([]wiring.Mapping, error) {
	f.calls = append(f.calls, "List "+function)
	if err := f.fail("List"); err != nil {
		return nil, err
	}
	return f.list, nil
}

func (f *fakeStore) Get(ctx context.Context, uuid string) (wiring.Mapping, error) {
	f.calls = append(f.calls, "Get "+uuid)
	if err := f.fail("Get"); err != nil {
		return wiring.Mapping{}, err
	}
	m, ok := f.mappings[uuid]
	if !ok || m.deleting < 0 {
		return wiring.Mapping{}, fmt.Errorf("get %s: %w", uuid, lambdasvc.ErrNotFound)
	}
	o := m.o
	if m.deleted {
		if m.deleting == 0 {
			m.deleting = -1
			return wiring.Mapping{}, fmt.Errorf("get %s: %w", uuid, lambdasvc.ErrNotFound)
		}
		m.deleting--
		o.State = wiring.StateDeleting
		return o, nil
	}
	if len(m.states) > 0 {
		m.o.State = m.states[0]
		if len(m.states) > 1 {
			m.states = m.states[1:]
		}
	}
	return m.o, nil
}

func (f *fakeStore) Create(ctx context.Context, d definition.Mapping) (wiring.Mapping, error) {
	f.calls = append(f.calls, "Create "+deref(d.EventSourceArn))
	if err := f.fail("Create"); err != nil {
		return wiring.Mapping{}, err
	}
	uuid := fmt.Sprintf("new%d", len(f.mappings)+1)
	m := f.add(uuid, f.created...)
	m.o.Mapping, m.o.Tags = d, d.Tags
	m.o.State = wiring.StateCreating
	if f.createdState != "" {
		m.o.State = f.createdState
	}
	return m.o, nil
}

func (f *fakeStore) Update(ctx context.Context, uuid string, fields definition.Mapping) (wiring.Mapping, error) {
	f.calls = append(f.calls, "Update "+uuid)
	if err := f.fail("Update"); err != nil {
		return wiring.Mapping{}, err
	}
	o := f.mappings[uuid].o
	o.State = wiring.StateUpdating // as AWS answers an update
	return o, nil
}

func (f *fakeStore) Delete(ctx context.Context, uuid string) error {
	f.calls = append(f.calls, "Delete "+uuid)
	if err := f.fail("Delete"); err != nil {
		return err
	}
	if m, ok := f.mappings[uuid]; ok {
		m.deleted = true
	}
	return nil
}

func (f *fakeStore) Tag(ctx context.Context, arn string, tags map[string]string) error {
	f.calls = append(f.calls, fmt.Sprintf("Tag %s %v", arn, tags))
	return f.fail("Tag")
}

func (f *fakeStore) Untag(ctx context.Context, arn string, keys []string) error {
	f.calls = append(f.calls, fmt.Sprintf("Untag %s %v", arn, keys))
	return f.fail("Untag")
}

// fakeClock advances only when the reconciler sleeps.
type fakeClock struct {
	t      time.Time
	sleeps int
}

func (c *fakeClock) now() time.Time { return c.t }

func (c *fakeClock) sleep(_ context.Context, d time.Duration) error {
	c.t = c.t.Add(d)
	c.sleeps++
	return nil
}

func testReconciler(f *fakeStore, opts Options) (*Reconciler, *fakeClock) {
	r := newReconciler(f, opts)
	c := &fakeClock{t: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)}
	r.now, r.sleep = c.now, c.sleep
	return r, c
}

var sqsCreate = plan.Action{
	Kind: plan.Create, Resource: plan.ResourceMapping, ID: queue,
	Op: &Op{Create: &definition.Mapping{EventSourceArn: p(queue), FunctionName: p(fnARN),
		Tags: map[string]string{wiring.TagKey: "orders"}}, Enabled: true},
}

func updateAction(uuid string) plan.Action {
	return plan.Action{
		Kind: plan.Update, Resource: plan.ResourceMapping, ID: queue + " " + uuid,
		Op: &Op{UUID: uuid, MappingARN: "arn:esm:" + uuid, Update: &definition.Mapping{BatchSize: p(int32(5))}, Enabled: true},
	}
}

func TestExecute_FakeAWS_WaitsOutTransitionalStates(t *testing.T) {
	tests := []struct {
		name      string
		setup     func(f *fakeStore)
		action    plan.Action
		wantCalls []string
	}{
		{
			name:   "create waits for Creating to end",
			setup:  func(f *fakeStore) { f.created = []string{"Creating", "Creating", "Enabled"} },
			action: sqsCreate,
			wantCalls: []string{
				"Create " + queue, "Get new1", "Get new1", "Get new1",
			},
		},
		{
			name: "update waits before acting and after",
			setup: func(f *fakeStore) {
				f.add("u1", "Updating", "Enabling", "Enabled", "Updating", "Enabled")
			},
			action: updateAction("u1"),
			wantCalls: []string{
				"Get u1", "Get u1", "Get u1", "Update u1", "Get u1", "Get u1",
			},
		},
		{
			name:   "delete waits until gone",
			setup:  func(f *fakeStore) { f.add("u1", "Enabled").deleting = 2 },
			action: plan.Action{Kind: plan.Delete, Resource: plan.ResourceMapping, ID: "x", Op: &Op{UUID: "u1"}},
			wantCalls: []string{
				"Get u1", "Delete u1", "Get u1", "Get u1", "Get u1",
			},
		},
		{
			name: "replace deletes, waits until gone, creates",
			setup: func(f *fakeStore) {
				f.add("u1", "Enabled").deleting = 1
				f.created = []string{"Creating", "Enabled"}
			},
			action: plan.Action{Kind: plan.Replace, Resource: plan.ResourceMapping, ID: "x",
				Op: &Op{UUID: "u1", Create: sqsCreate.Op.(*Op).Create, Enabled: true}},
			wantCalls: []string{
				"Get u1", "Delete u1", "Get u1", "Get u1", "Create " + queue, "Get new2", "Get new2",
			},
		},
		{
			name:   "delete of a mapping already gone",
			setup:  func(f *fakeStore) {},
			action: plan.Action{Kind: plan.Delete, Resource: plan.ResourceMapping, ID: "x", Op: &Op{UUID: "gone"}},
			wantCalls: []string{
				"Get gone",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeStore()
			tt.setup(f)
			r, _ := testReconciler(f, Options{})
			if err := r.Execute(context.Background(), fnByName, tt.action, ExecuteOptions{}); err != nil {
				t.Fatalf("Execute: %v", err)
			}
			if diff := cmp.Diff(tt.wantCalls, f.calls); diff != "" {
				t.Errorf("calls (-want +got):\n%s", diff)
			}
		})
	}
}

func TestExecute_FakeAWS_BadStates(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(f *fakeStore)
		action  plan.Action
		wantErr []string
	}{
		{
			name: "created mapping ends disabled by Lambda",
			setup: func(f *fakeStore) {
				f.created = []string{"Creating", "Disabled"}
			},
			action:  sqsCreate,
			wantErr: []string{"event source mapping new1 is Disabled, not Enabled", "PROBLEM: Function call failed"},
		},
		{
			name:    "mapping stuck in Updating",
			setup:   func(f *fakeStore) { f.add("u1", "Updating") },
			action:  updateAction("u1"),
			wantErr: []string{"event source mapping u1 still Updating after 10s", "PROBLEM: Function call failed"},
		},
		{
			name:    "mapping never gone",
			setup:   func(f *fakeStore) { f.add("u1", "Enabled").deleting = 1000 },
			action:  plan.Action{Kind: plan.Delete, Resource: plan.ResourceMapping, ID: "x", Op: &Op{UUID: "u1"}},
			wantErr: []string{"event source mapping u1 not deleted after 10s: still Deleting"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeStore()
			tt.setup(f)
			for _, m := range f.mappings {
				m.o.StateTransitionReason = "PROBLEM: Function call failed"
			}
			r, clock := testReconciler(f, Options{WaitTimeout: 10 * time.Second, PollInterval: 2 * time.Second})
			// Mappings created during the action report the reason too.
			r.m = reasonStore{f}
			err := r.Execute(context.Background(), fnByName, tt.action, ExecuteOptions{})
			if err == nil {
				t.Fatal("Execute succeeded, want an error")
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if clock.sleeps > 10 {
				t.Errorf("%d polls for a 10s wait at 2s intervals, want at most 6", clock.sleeps)
			}
		})
	}
}

// reasonStore reports a Lambda-initiated reason on every mapping it reads.
type reasonStore struct{ *fakeStore }

func (s reasonStore) Get(ctx context.Context, uuid string) (wiring.Mapping, error) {
	o, err := s.fakeStore.Get(ctx, uuid)
	o.StateTransitionReason = "PROBLEM: Function call failed"
	return o, err
}

func TestExecute_FakeAWS_Retries(t *testing.T) {
	inUse := lambdasvc.ErrInUse
	tests := []struct {
		name      string
		errs      []error
		retryMax  int
		wantErr   error
		wantCalls int
	}{
		{"in use, conflict, throttled, then success", []error{inUse, lambdasvc.ErrConflict, lambdasvc.ErrThrottled}, 6, nil, 4},
		{"retries are bounded", []error{inUse, inUse, inUse, inUse}, 2, inUse, 3},
		{"not found is not retried", []error{lambdasvc.ErrNotFound}, 6, lambdasvc.ErrNotFound, 1},
		{"execution role not ready yet, then success", []error{lambdasvc.ErrRoleNotReady, lambdasvc.ErrRoleNotReady}, 6, nil, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeStore()
			f.add("u1", "Enabled")
			f.errs["Update"] = tt.errs
			r, clock := testReconciler(f, Options{RetryMax: tt.retryMax, RetryBackoff: time.Second})
			err := r.Execute(context.Background(), fnByName, updateAction("u1"), ExecuteOptions{})
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("Execute: %v, want %v", err, tt.wantErr)
			}
			n := 0
			for _, c := range f.calls {
				if c == "Update u1" {
					n++
				}
			}
			if n != tt.wantCalls {
				t.Errorf("%d Update calls, want %d (calls: %v)", n, tt.wantCalls, f.calls)
			}
			if got, want := clock.sleeps, tt.wantCalls-1; got != want {
				t.Errorf("%d backoffs, want %d", got, want)
			}
			// Full jitter: no backoff longer than the cap.
			if max := time.Duration(tt.wantCalls) * 32 * time.Second; clock.t.Sub(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)) > max {
				t.Errorf("backoffs took %s, more than %s", clock.t.Sub(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)), max)
			}
		})
	}
}

// TestExecute_FakeAWS_CreateConflictAdopts: AWS refuses a duplicate mapping
// with ResourceConflictException; the executor re-observes and adopts the
// mapping that appeared meanwhile instead of failing.
func TestExecute_FakeAWS_CreateConflictAdopts(t *testing.T) {
	f := newFakeStore()
	f.errs["Create"] = []error{lambdasvc.ErrConflict}
	existing := f.add("e1", "Enabled")
	existing.o.Mapping = sqsAsAWSReports(queue)
	existing.o.Mapping.BatchSize = p(int32(3))
	existing.o.Tags = map[string]string{"owner": "ops"}
	f.list = []wiring.Mapping{existing.o}
	r, _ := testReconciler(f, Options{})
	if err := r.Execute(context.Background(), fnByName, sqsCreate, ExecuteOptions{}); err != nil {
		t.Fatalf("Execute: %v", err)
	}
	want := []string{
		"Create " + queue,
		"List " + fnARN,
		"Get e1", "Update e1", "Get e1",
		"Tag arn:esm:e1 map[eventwire:managed:orders]",
		// The owner tag was not set by eventwire: adoption keeps it.
	}
	if diff := cmp.Diff(want, f.calls); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
}

// TestExecute_FakeAWS_CreateConflictUnseen: a conflict whose mapping cannot
// be seen (one still being deleted) is retried, boundedly.
func TestExecute_FakeAWS_CreateConflictUnseen(t *testing.T) {
	tests := []struct {
		name      string
		conflicts int
		wantErr   error
		wantCalls []string
	}{
		{
			name: "gone on the second try", conflicts: 1,
			wantCalls: []string{"Create " + queue, "List " + fnARN, "Create " + queue, "Get new1"},
		},
		{
			name: "bounded", conflicts: 10, wantErr: lambdasvc.ErrConflict,
			wantCalls: []string{
				"Create " + queue, "List " + fnARN, "Create " + queue, "List " + fnARN, "Create " + queue, "List " + fnARN,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeStore()
			for i := 0; i < tt.conflicts; i++ {
				f.errs["Create"] = append(f.errs["Create"], lambdasvc.ErrConflict)
			}
			f.created = []string{"Enabled"}
			r, _ := testReconciler(f, Options{RetryMax: 2})
			err := r.Execute(context.Background(), fnByName, sqsCreate, ExecuteOptions{})
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("Execute: %v, want %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.wantCalls, f.calls); diff != "" {
				t.Errorf("calls (-want +got):\n%s", diff)
			}
		})
	}
}

func TestExecute_LeaveAloneDoesNothing(t *testing.T) {
	f := newFakeStore()
	r, _ := testReconciler(f, Options{})
	err := r.Execute(context.Background(), fnByName, plan.Action{Kind: plan.LeaveAlone, Resource: plan.ResourceMapping, ID: "x"}, ExecuteOptions{})
	if err != nil || len(f.calls) != 0 {
		t.Errorf("Execute: %v, calls %v; want nothing", err, f.calls)
	}
}

// TestPlan_FakeAWS_GoneFunctionListsEveryMapping: AWS answers a
// ListEventSourceMappings filter naming a deleted function with an empty
// list, the mappings or (emulators) an error. For a function that is gone,
// the reconciler lists every mapping, unfiltered, and keeps the function's
// own; for a function that exists, it filters, and a refusal stands.
func TestPlan_FakeAWS_GoneFunctionListsEveryMapping(t *testing.T) {
	managedTags := map[string]string{wiring.TagKey: "orders"}
	others := []wiring.Mapping{
		{UUID: "mine", ARN: "arn:esm:mine", FunctionArn: fnARN, Mapping: definition.Mapping{EventSourceArn: p(queue)}, Tags: managedTags},
		{UUID: "theirs", ARN: "arn:esm:theirs", FunctionArn: fnARN + "-other", Mapping: definition.Mapping{EventSourceArn: p(queue)}, Tags: managedTags},
	}
	for _, missing := range []bool{true, false} {
		t.Run(fmt.Sprintf("missing=%v", missing), func(t *testing.T) {
			f := newFakeStore()
			f.list = others
			r, _ := testReconciler(f, Options{})
			fn := plan.Function{Ref: "orders", Name: "orders", ARN: fnARN, Missing: missing}
			if !missing {
				f.errs["List"] = []error{lambdasvc.ErrNotFound}
				if actions, err := r.Plan(context.Background(), fn, nil); !errors.Is(err, lambdasvc.ErrNotFound) {
					t.Fatalf("Plan = %v, %v; want the list's not found", actions, err)
				}
				return
			}
			actions, err := r.Plan(context.Background(), fn, nil)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]string{"List "}, f.calls); diff != "" {
				t.Errorf("calls (-want +got):\n%s", diff)
			}
			var got []string
			for _, a := range actions {
				got = append(got, string(a.Kind)+" "+a.ID)
			}
			if diff := cmp.Diff([]string{"delete " + queue + " mine"}, got); diff != "" {
				t.Errorf("actions (-want +got):\n%s", diff)
			}
		})
	}
}

// TestExecute_FakeAWS_ReportsWaits: every read that finds the mapping in a
// transitional state, or not yet gone after a delete, is reported to the
// options' Progress, with the mapping and its state.
func TestExecute_FakeAWS_ReportsWaits(t *testing.T) {
	tests := []struct {
		name   string
		setup  func(f *fakeStore)
		action plan.Action
		want   []progress.Event
	}{
		{
			name:   "create",
			setup:  func(f *fakeStore) { f.created = []string{"Creating", "Creating", "Enabled"} },
			action: sqsCreate,
			want: []progress.Event{
				{Step: progress.Waiting, Resource: "mapping new1", State: "Creating"},
				{Step: progress.Waiting, Resource: "mapping new1", State: "Creating"},
			},
		},
		{
			name:   "delete",
			setup:  func(f *fakeStore) { f.add("u1", "Enabled").deleting = 1 },
			action: plan.Action{Kind: plan.Delete, Resource: plan.ResourceMapping, ID: "x", Op: &Op{UUID: "u1"}},
			want: []progress.Event{
				{Step: progress.Waiting, Resource: "deletion of mapping u1", State: "Deleting"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeStore()
			tt.setup(f)
			r, _ := testReconciler(f, Options{})
			var got []progress.Event
			report := func(e progress.Event) { got = append(got, e) }
			if err := r.Execute(context.Background(), fnByName, tt.action, ExecuteOptions{Progress: report}); err != nil {
				t.Fatalf("Execute: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
		})
	}
}

// TestExecute_FakeAWS_DeferredWaits: with Waits in the options, a create
// that AWS answers Creating returns at once, after the one call; the wait
// runs in Waits.Wait, and a mapping that stays Updating past the bound
// fails there with the bound and its StateTransitionReason. A create
// answered in a stable state (as emulators answer) is not read again.
func TestExecute_FakeAWS_DeferredWaits(t *testing.T) {
	f := newFakeStore()
	f.created = []string{"Creating", "Enabled"}
	r, _ := testReconciler(f, Options{WaitTimeout: 10 * time.Second, PollInterval: 2 * time.Second})
	ctx, waits := context.Background(), &Waits{}
	if err := r.Execute(ctx, fnByName, sqsCreate, ExecuteOptions{Waits: waits}); err != nil {
		t.Fatalf("Execute: %v", err)
	}
	if diff := cmp.Diff([]string{"Create " + queue}, f.calls); diff != "" {
		t.Errorf("calls before the wait (-want +got):\n%s", diff)
	}
	if waits.Len() != 1 {
		t.Fatalf("%d waits deferred, want 1", waits.Len())
	}
	if err := waits.Wait(ctx); err != nil {
		t.Fatalf("Wait: %v", err)
	}
	if diff := cmp.Diff([]string{"Create " + queue, "Get new1", "Get new1"}, f.calls); diff != "" {
		t.Errorf("calls after the wait (-want +got):\n%s", diff)
	}

	f = newFakeStore()
	f.add("u1", "Enabled", "Updating")
	f.mappings["u1"].o.StateTransitionReason = "USER_INITIATED"
	r, _ = testReconciler(f, Options{WaitTimeout: 10 * time.Second, PollInterval: 2 * time.Second})
	waits = &Waits{}
	if err := r.Execute(ctx, fnByName, updateAction("u1"), ExecuteOptions{Waits: waits}); err != nil {
		t.Fatalf("Execute: %v", err)
	}
	err := waits.Wait(ctx)
	if err == nil || !strings.Contains(err.Error(), "event source mapping u1 still Updating after 10s: USER_INITIATED") {
		t.Errorf("Wait error = %v, want the mapping, its state, the bound and its reason", err)
	}

	f = newFakeStore()
	f.createdState = wiring.StateEnabled
	r, _ = testReconciler(f, Options{})
	if err := r.Execute(context.Background(), fnByName, sqsCreate, ExecuteOptions{}); err != nil {
		t.Fatalf("Execute: %v", err)
	}
	if diff := cmp.Diff([]string{"Create " + queue}, f.calls); diff != "" {
		t.Errorf("a create answered Enabled (-want +got):\n%s", diff)
	}
}
