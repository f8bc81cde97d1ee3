package live

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dropoff-dev/dropoff/src/operation"
)

func newHub(t *testing.T, cfg Config) *Hub {
	t.Helper()
	h, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return h
}

// ringOf is what the hub's ring holds: a new subscriber's backlog.
func ringOf(t *testing.T, h *Hub) []Event {
	t.Helper()
	s, backlog, _, err := h.Subscribe("")
	if err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	s.Close()
	return backlog
}

func publishN(h *Hub, from, n int) {
	for i := from; i < from+n; i++ {
		h.Publish(Event{Type: Accepted, OperationID: fmt.Sprint(i)})
	}
}

func opIDs(events []Event) []string {
	var ids []string
	for _, e := range events {
		ids = append(ids, e.OperationID)
	}
	return ids
}

func TestSubscribeResumesFromTheRing(t *testing.T) {
	h := newHub(t, Config{Recent: 5})
	publishN(h, 0, 8) // the ring keeps 3..7
	recent := ringOf(t, h)
	if got := fmt.Sprint(opIDs(recent)); got != "[3 4 5 6 7]" {
		t.Fatalf("the ring holds %s, want [3 4 5 6 7]", got)
	}
	other := newHub(t, Config{Now: func() time.Time { return time.Unix(1, 0) }})
	other.Publish(Event{})
	tests := []struct {
		name    string
		lastID  string
		want    string
		resumed bool
	}{
		{"no id: the whole ring", "", "[3 4 5 6 7]", false},
		{"an id in the ring", recent[1].ID, "[5 6 7]", true},
		{"the oldest event's predecessor", withSeq(recent[0].ID, 3), "[3 4 5 6 7]", true},
		{"the last id: nothing missed", recent[4].ID, "[]", true},
		{"an id that fell out of the ring", withSeq(recent[0].ID, 2), "[3 4 5 6 7]", false},
		{"an id not issued yet", withSeq(recent[0].ID, 9), "[3 4 5 6 7]", false},
		{"an id of another run", ringOf(t, other)[0].ID, "[3 4 5 6 7]", false},
		{"garbage", "not-an-id", "[3 4 5 6 7]", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, backlog, resumed, err := h.Subscribe(tt.lastID)
			if err != nil {
				t.Fatalf("Subscribe: %v", err)
			}
			defer s.Close()
			if got := fmt.Sprint(opIDs(backlog)); got != tt.want || resumed != tt.resumed {
				t.Errorf("Subscribe(%q) = %s, resumed %v; want %s, %v", tt.lastID, got, resumed, tt.want, tt.resumed)
			}
		})
	}
}

// withSeq is id with its sequence number replaced by seq.
func withSeq(id string, seq int) string {
	epoch, _, _ := strings.Cut(id, "-")
	return fmt.Sprintf("%s-%d", epoch, seq)
}

func TestSubscriptionGetsWhatFollowsInOrder(t *testing.T) {
	h := newHub(t, Config{})
	publishN(h, 0, 2)
	s, backlog, _, err := h.Subscribe("")
	if err != nil {
		t.Fatal(err)
	}
	publishN(h, 2, 3)
	got := opIDs(backlog)
	for range 3 {
		got = append(got, (<-s.Events()).OperationID)
	}
	if fmt.Sprint(got) != "[0 1 2 3 4]" {
		t.Errorf("backlog then stream = %v, want [0 1 2 3 4]: no gap, no repeat", got)
	}
	s.Close()
	s.Close() // twice is fine
	if _, ok := <-s.Events(); ok {
		t.Error("Events still open after Close")
	}
}

// TestStuckSubscriberNeverBlocksPublish: a subscriber that never reads is
// dropped once its buffer is full, and Publish, called from the pipeline's
// goroutines, goes on without waiting for it.
func TestStuckSubscriberNeverBlocksPublish(t *testing.T) {
	h := newHub(t, Config{Buffer: 4})
	stuck, _, _, err := h.Subscribe("")
	if err != nil {
		t.Fatal(err)
	}
	reader, _, _, err := h.Subscribe("")
	if err != nil {
		t.Fatal(err)
	}
	var got []Event
	done := make(chan struct{})
	go func() {
		defer close(done)
		for e := range reader.Events() {
			got = append(got, e)
			if len(got) == 1000 {
				return
			}
		}
	}()
	published := make(chan struct{})
	go func() {
		var wg sync.WaitGroup
		for w := range 4 { // four publishers, as the worker's sessions are
			wg.Go(func() {
				for i := range 250 {
					h.Publish(Event{Type: Applied, OperationID: fmt.Sprint(w*1000 + i)})
					if i%4 == 0 {
						waitFor(t, func() bool { return len(reader.c) < 4 }) // let the reader keep up
					}
				}
			})
		}
		wg.Wait()
		close(published)
	}()
	select {
	case <-published:
	case <-time.After(10 * time.Second):
		t.Fatal("Publish blocked on a subscriber that does not read")
	}
	if !stuck.Dropped() {
		t.Error("the stuck subscriber was not dropped")
	}
	for range stuck.Events() { // closed: ranging ends after the buffered events
	}
	<-done
}

// waitFor polls cond until it holds, for up to 10 s.
func waitFor(t *testing.T, cond func() bool) {
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Error("condition not met within 10s")
			return
		}
		time.Sleep(time.Millisecond)
	}
}

func TestHubLimitsAndClose(t *testing.T) {
	h := newHub(t, Config{MaxSubscribers: 1})
	s, _, _, err := h.Subscribe("")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := h.Subscribe(""); !errors.Is(err, ErrFull) {
		t.Errorf("second Subscribe = %v, want ErrFull", err)
	}
	h.Close()
	if _, ok := <-s.Events(); ok {
		t.Error("Events still open after the hub closed")
	}
	if s.Dropped() {
		t.Error("a subscription ended by Close reports Dropped")
	}
	if _, _, _, err := h.Subscribe(""); !errors.Is(err, ErrClosed) {
		t.Errorf("Subscribe after Close = %v, want ErrClosed", err)
	}
	h.Publish(Event{}) // dropped, no panic
	if _, err := New(Config{Recent: -1}); err == nil {
		t.Error("New with a negative size: nil error")
	}
}

// fakeReader serves RecentOperations from a list the test changes.
type fakeReader struct {
	mu    sync.Mutex
	ops   []operation.Operation // newest first
	reads int
}

func (f *fakeReader) RecentOperations(_ context.Context, limit int) ([]operation.Operation, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads++
	return f.ops[:min(limit, len(f.ops))], nil
}

func (f *fakeReader) add(op operation.Operation) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ops = append([]operation.Operation{op}, f.ops...)
}

func TestTailPublishesWhatChangesInTheProjection(t *testing.T) {
	at := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	r := &fakeReader{ops: []operation.Operation{{ID: "old", Status: operation.Succeeded, LastUpdatedAt: at}}}
	h := newHub(t, Config{})
	s, _, _, err := h.Subscribe("")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { done <- Tail{Reader: r, Hub: h, Interval: time.Millisecond}.Run(ctx) }()
	next := func() Event {
		t.Helper()
		select {
		case e := <-s.Events():
			return e
		case <-time.After(10 * time.Second):
			t.Fatal("no event within 10s")
			return Event{}
		}
	}
	waitFor(t, func() bool { r.mu.Lock(); defer r.mu.Unlock(); return r.reads > 0 }) // what was there is not news
	r.add(operation.Operation{ID: "a", Status: operation.Succeeded, ResourceVersion: 1, LastUpdatedAt: at.Add(time.Second)})
	r.add(operation.Operation{ID: "b", Status: operation.Failed, LastUpdatedAt: at.Add(2 * time.Second),
		Error: &operation.Error{Code: operation.CodeDeadLettered}})
	// The same id again, changed: a resubmitted dead letter that succeeded.
	r.add(operation.Operation{ID: "b", Status: operation.Succeeded, LastUpdatedAt: at.Add(3 * time.Second)})
	var got []string
	for range 3 {
		e := next()
		if e.Type != Visible {
			t.Errorf("event %s has type %s, want visible", e.OperationID, e.Type)
		}
		got = append(got, e.OperationID+":"+string(e.Status))
	}
	if fmt.Sprint(got) != "[a:Succeeded b:Failed b:Succeeded]" {
		t.Errorf("tail published %v; want a, then b failed, then b succeeded (and not the old one)", got)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run = %v, want nil after ctx ended", err)
	}
	if len(s.Events()) != 0 {
		t.Errorf("%d more events; want none: nothing else changed", len(s.Events()))
	}
}
