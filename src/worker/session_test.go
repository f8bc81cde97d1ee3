package worker

import (
	"errors"
	"runtime"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/dropoff-dev/dropoff/src/bus"
	"github.com/dropoff-dev/dropoff/src/operation"
	"github.com/dropoff-dev/dropoff/src/shipment"
	"github.com/dropoff-dev/dropoff/src/store"
)

// TestLockLostDropsSessionAndInboxDedupes: the lock is lost after the first
// command committed, so its Complete fails. The worker drops the session
// without touching it again; the bus delivers all three messages anew, and
// the inbox completes the first without applying it twice.
func TestLockLostDropsSessionAndInboxDedupes(t *testing.T) {
	b, s := newFakeBus(10), newFakeStore()
	first := upsert(t, "s", testFields)
	second := patch(t, "s", shipment.Patch{Recipient: new("Bo")})
	third := patch(t, "s", shipment.Patch{Status: new(shipment.PickedUp)})
	cmds := []string{first.OperationID, second.OperationID, third.OperationID}
	b.send(messages(t, first, second, third)...)
	lost := false
	b.completeErr = func(fs *fakeSession, m *bus.ReceivedMessage) error {
		if !lost {
			lost = true
			b.loseLock(fs) // the check that follows reports ErrLockLost
		}
		return nil
	}
	w, _ := start(t, b, s, testConfig())
	waitFor(t, "the queue to drain", func() bool { total, _ := b.pending(); return total == 0 })

	if got := len(s.changes()); got != 3 {
		t.Errorf("got %d change-feed entries, want 3 (each command applied once)", got)
	}
	sh, _ := s.shipment("s")
	if sh.Version != 3 || sh.Status != shipment.PickedUp {
		t.Errorf("got version %d, status %s; want 3, picked_up", sh.Version, sh.Status)
	}
	got := b.completions()
	if len(got) != 3 || got[0].ID != cmds[0] || got[0].DeliveryCount != 2 || got[1].ID != cmds[1] || got[2].ID != cmds[2] {
		t.Errorf("got completions %+v, want the three in order, the first on its second delivery", got)
	}
	sessions := b.allSessions()
	if !sessions[0].lost || !sessions[0].closed || sessions[0].callsAfterLost != 0 {
		t.Errorf("first session: got %+v, want it lost, closed, and not used after ErrLockLost", sessions[0])
	}
	if got := testutil.ToFloat64(w.metrics.messages.WithLabelValues("duplicate")); got != 1 {
		t.Errorf("got duplicate count %v, want 1", got)
	}
}

// TestAlreadyAppliedIsCompletedWithoutEffect: a message whose operation has
// an outcome is completed and changes nothing.
func TestAlreadyAppliedIsCompletedWithoutEffect(t *testing.T) {
	b, s := newFakeBus(10), newFakeStore()
	c := upsert(t, "s", testFields)
	prior := operation.Operation{ID: c.OperationID, ShipmentID: "s", Status: operation.Failed,
		Error: &operation.Error{Code: operation.CodeNotFound, Message: "earlier"}}
	s.record(store.Record{Operation: prior})
	b.send(messages(t, c)...)
	start(t, b, s, testConfig())
	waitFor(t, "the queue to drain", func() bool { total, _ := b.pending(); return total == 0 })
	if op, _ := s.operation(c.OperationID); op.Error == nil || op.Error.Message != "earlier" {
		t.Errorf("got operation %+v, want the earlier outcome kept", op)
	}
	if _, ok := s.shipment("s"); ok {
		t.Errorf("a duplicate created the shipment")
	}
	if got := len(s.changes()); got != 1 {
		t.Errorf("got %d change-feed entries, want 1 (the earlier one)", got)
	}
}

// TestShutdownFinishesInFlightWork: cancelled while a transaction is under
// way, the worker commits and completes that message, leaves the ones it did
// not start unsettled and unlocked, and returns with no goroutine left.
func TestShutdownFinishesInFlightWork(t *testing.T) {
	baseline := runtime.NumGoroutine()
	b, s := newFakeBus(10), newFakeStore()
	first := upsert(t, "s", testFields)
	b.send(messages(t, first, patch(t, "s", shipment.Patch{Recipient: new("Bo")}), cancelCmd(t, "s"))...)
	open := s.closeGate()
	cfg := testConfig()
	cfg.DeadLetters = b
	_, stop := start(t, b, s, cfg)
	waitFor(t, "a transaction in flight", func() bool { now, _ := s.updatesInFlight(); return now == 1 })

	errc := make(chan error, 1)
	go func() { errc <- stop() }()
	// Run must not return while the transaction it started is pending. Once
	// the other slots and the recorder have stopped, only three goroutines
	// are left: Run's, the slot waiting at the gate, and the one calling stop.
	waitFor(t, "the other slots to stop", func() bool { return runtime.NumGoroutine() <= baseline+3 })
	select {
	case err := <-errc:
		t.Fatalf("Run returned (%v) before its in-flight transaction finished", err)
	default:
	}
	open()
	if err := <-errc; err != nil {
		t.Fatalf("Run: got %v, want nil", err)
	}

	if got := b.completions(); len(got) != 1 || got[0].ID != first.OperationID {
		t.Errorf("got completions %+v, want only the in-flight message", got)
	}
	if op, _ := s.operation(first.OperationID); op.Status != operation.Succeeded {
		t.Errorf("in-flight operation: got status %s, want Succeeded", op.Status)
	}
	if total, out := b.pending(); total != 2 || out != 0 {
		t.Errorf("got %d messages left, %d of them locked; want 2, none locked", total, out)
	}
	if held := b.heldNow(); held != 0 {
		t.Errorf("got %d sessions held after Run, want 0", held)
	}
	waitFor(t, "the worker's goroutines to end", func() bool { return runtime.NumGoroutine() <= baseline })
}

func TestRunStopsWhenReceiverClosed(t *testing.T) {
	b, s := newFakeBus(10), newFakeStore()
	b.closed = true
	w, err := New(b, s, testConfig())
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Run(t.Context()); !errors.Is(err, bus.ErrClosed) {
		t.Errorf("Run: got %v, want bus.ErrClosed", err)
	}
}

// TestAcceptFailuresAreRetried: an AcceptNextSession failure other than "no
// session" is logged and retried after a backoff.
func TestAcceptFailuresAreRetried(t *testing.T) {
	b, s := newFakeBus(10), newFakeStore()
	b.acceptErrs = 5
	c := upsert(t, "s", testFields)
	b.send(messages(t, c)...)
	cfg := testConfig()
	cfg.MaxSessions = 1
	start(t, b, s, cfg)
	waitFor(t, "the command applied", func() bool { _, ok := s.operation(c.OperationID); return ok })
	b.mu.Lock()
	left := b.acceptErrs
	b.mu.Unlock()
	if left != 0 {
		t.Errorf("got %d injected accept failures left, want 0", left)
	}
}

// TestIdleSessionIsReleased: a slot lets go of a quiet session, so one slot
// serves many shipments.
func TestIdleSessionIsReleased(t *testing.T) {
	b, s := newFakeBus(10), newFakeStore()
	cfg := testConfig()
	cfg.MaxSessions = 1
	start(t, b, s, cfg)
	for _, id := range []string{"a", "b", "c"} {
		b.send(messages(t, upsert(t, id, testFields))...)
	}
	waitFor(t, "three shipments created", func() bool { return s.operationCount() == 3 })
	waitFor(t, "the last session released", func() bool { return b.heldNow() == 0 })
	for i, st := range b.allSessions() {
		if !st.closed {
			t.Errorf("session %d not closed", i)
		}
	}
}

// TestBusySessionIsHandedBack: a shipment whose messages keep coming must not
// keep a worker slot while another shipment's older message waits.
func TestBusySessionIsHandedBack(t *testing.T) {
	b, s := newFakeBus(10), newFakeStore()
	cfg := testConfig()
	cfg.MaxSessions, cfg.ReceiveBatch, cfg.MaxSessionHold = 1, 1, time.Nanosecond
	var busy []bus.Message
	busy = append(busy, messages(t, upsert(t, "busy", testFields))...)
	for range 19 {
		busy = append(busy, messages(t, patch(t, "busy", shipment.Patch{Recipient: &testFields.Recipient}))...)
	}
	b.send(busy[:10]...)
	b.send(messages(t, upsert(t, "quiet", testFields))...)
	b.send(busy[10:]...)
	start(t, b, s, cfg)
	waitFor(t, "all 21 commands applied", func() bool { return s.operationCount() == 21 })

	s.mu.Lock()
	defer s.mu.Unlock()
	quietAt, busyLater := -1, -1
	for i, c := range s.feed {
		if c.Shipment == nil {
			continue
		}
		if c.Shipment.ID == "quiet" {
			quietAt = i
		}
		if c.Shipment.ID == "busy" && c.Shipment.Version == 11 {
			busyLater = i
		}
	}
	if quietAt < 0 || busyLater < 0 || quietAt > busyLater {
		t.Errorf("quiet applied at feed index %d, busy's 11th command at %d: want quiet first (it was sent first)", quietAt, busyLater)
	}
}
