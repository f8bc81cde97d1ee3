package worker

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/dropoff-dev/dropoff/src/backoff"
	"github.com/dropoff-dev/dropoff/src/bus"
	"github.com/dropoff-dev/dropoff/src/command"
	"github.com/dropoff-dev/dropoff/src/operation"
	"github.com/dropoff-dev/dropoff/src/shipment"
	"github.com/dropoff-dev/dropoff/src/store"
)

func TestBackoff(t *testing.T) {
	w := &Worker{cfg: Config{Retry: backoff.Policy{Initial: 100 * time.Millisecond, Max: 5 * time.Second}}}
	tests := []struct {
		deliveries int
		want       time.Duration
	}{
		{0, 100 * time.Millisecond},
		{1, 100 * time.Millisecond},
		{2, 200 * time.Millisecond},
		{3, 400 * time.Millisecond},
		{6, 3200 * time.Millisecond},
		{7, 5 * time.Second},
		{1000, 5 * time.Second},
	}
	for _, tt := range tests {
		if got := w.backoff(tt.deliveries); got != tt.want {
			t.Errorf("backoff(%d): got %v, want %v", tt.deliveries, got, tt.want)
		}
	}
}

// TestTransientFailureIsRetriedInOrder: a failing transaction abandons the
// message, which is delivered again and then applied, and the next command of
// the session does not overtake it.
func TestTransientFailureIsRetriedInOrder(t *testing.T) {
	b, s := newFakeBus(10), newFakeStore()
	s.failNextUpdates(2)
	create, change := upsert(t, "s", testFields), patch(t, "s", shipment.Patch{Recipient: new("Bo")})
	b.send(messages(t, create, change)...)
	w, _ := start(t, b, s, testConfig())
	waitFor(t, "the queue to drain", func() bool { total, _ := b.pending(); return total == 0 })

	got := b.completions()
	if len(got) != 2 || got[0].ID != create.OperationID || got[0].DeliveryCount != 3 || got[1].ID != change.OperationID {
		t.Fatalf("got completions %+v, want %s on its 3rd delivery, then %s", got, create.OperationID, change.OperationID)
	}
	for _, id := range []string{create.OperationID, change.OperationID} {
		if op, _ := s.operation(id); op.Status != operation.Succeeded {
			t.Errorf("operation %s: got status %s (error %+v), want Succeeded", id, op.Status, op.Error)
		}
	}
	if got := testutil.ToFloat64(w.metrics.messages.WithLabelValues("retried")); got != 2 {
		t.Errorf("got retried count %v, want 2", got)
	}
}

// TestPastMaxDeliveriesOperationEndsDeadLettered: with the database down, the
// message is abandoned until the bus dead-letters it; once the database is
// back, the recorder ends its operation Failed with DeadLettered.
func TestPastMaxDeliveriesOperationEndsDeadLettered(t *testing.T) {
	const maxDelivery = 3
	b, s := newFakeBus(maxDelivery), newFakeStore()
	s.setDown(true)
	c := upsert(t, "s", testFields)
	b.send(messages(t, c)...)
	cfg := testConfig()
	cfg.DeadLetters = b
	start(t, b, s, cfg)
	waitFor(t, "the message to be dead-lettered", func() bool { return len(b.deadLetters()) == 1 })

	dl := b.deadLetters()[0]
	if dl.DeadLetterReason != bus.ReasonMaxDeliveryCountExceeded || dl.DeliveryCount != maxDelivery {
		t.Errorf("got reason %q after %d deliveries, want %q after %d", dl.DeadLetterReason, dl.DeliveryCount, bus.ReasonMaxDeliveryCountExceeded, maxDelivery)
	}
	if _, ok := s.operation(c.OperationID); ok {
		t.Fatalf("operation recorded while the database was down")
	}
	s.setDown(false)
	waitFor(t, "the operation to be recorded", func() bool { _, ok := s.operation(c.OperationID); return ok })

	op, _ := s.operation(c.OperationID)
	if op.Status != operation.Failed || op.Error == nil || op.Error.Code != operation.CodeDeadLettered {
		t.Fatalf("got status %s, error %+v; want Failed with DeadLettered", op.Status, op.Error)
	}
	if !strings.Contains(op.Error.Message, bus.ReasonMaxDeliveryCountExceeded) {
		t.Errorf("got error message %q, want it to name %s", op.Error.Message, bus.ReasonMaxDeliveryCountExceeded)
	}
	if op.Kind != string(command.KindUpsert) || op.ShipmentID != "s" || !op.CreatedAt.Equal(c.AcceptedAt) {
		t.Errorf("got kind %q, shipment %q, created %v; want %q, %q, %v", op.Kind, op.ShipmentID, op.CreatedAt, command.KindUpsert, "s", c.AcceptedAt)
	}
	if _, ok := s.shipment("s"); ok {
		t.Errorf("the dead-lettered command changed the shipment")
	}
}

// TestDeadLetterRecorder: the recorder records only operations with no
// outcome, skips what it cannot read, and survives a failing peek.
func TestDeadLetterRecorder(t *testing.T) {
	b, s := newFakeBus(10), newFakeStore()
	done, poison, unknown := upsert(t, "a", testFields), upsert(t, "b", testFields), upsert(t, "c", testFields)
	msgs := messages(t, done, poison, unknown)
	msgs[1].Subject, msgs[1].Body = "shipment.explode", []byte("not json")
	msgs[2].ID, msgs[2].Properties = "not-an-operation-id", nil
	b.send(msgs...)
	// Dead-letter them by hand, as the bus would have.
	b.mu.Lock()
	for _, id := range []string{"a", "b", "c"} {
		b.deadLetter(b.queues[id][0], "Manual", "moved by the test")
	}
	b.peekErrs = 1
	b.mu.Unlock()
	applied := operation.Operation{ID: done.OperationID, ShipmentID: "a", Status: operation.Succeeded, ResourceVersion: 1}
	s.record(store.Record{Operation: applied})

	sc := newScanner(t, b, s)
	if err := sc.scan(t.Context(), true); err == nil || sc.next != 0 {
		t.Fatalf("with a failing peek: got error %v, cursor %d; want an error, cursor 0", err, sc.next)
	}
	if err := sc.scan(t.Context(), false); err != nil {
		t.Fatalf("scan: %v", err)
	}
	if want := b.seq + 1; sc.next != want {
		t.Errorf("got cursor %d, want %d", sc.next, want)
	}

	if op, _ := s.operation(done.OperationID); op.Status != operation.Succeeded {
		t.Errorf("an operation with an outcome: got status %s, want Succeeded (left alone)", op.Status)
	}
	op, ok := s.operation(poison.OperationID)
	if !ok || op.Error == nil || op.Error.Code != operation.CodeDeadLettered || op.Kind != "" {
		t.Errorf("poison message: got %+v (found %v), want Failed with DeadLettered and no kind", op, ok)
	} else if !strings.Contains(op.Error.Message, "Manual: moved by the test") {
		t.Errorf("poison message: got error message %q, want the reason and description", op.Error.Message)
	}
	if got := s.operationCount(); got != 2 {
		t.Errorf("got %d operations, want 2 (the one without an operation id skipped)", got)
	}
}

// TestDeadLetterRecorderRetriesWhileDown: a failed transaction leaves the
// cursor where it was, so the next scan records the operation.
func TestDeadLetterRecorderRetriesWhileDown(t *testing.T) {
	b, s := newFakeBus(10), newFakeStore()
	c := upsert(t, "a", testFields)
	b.send(messages(t, c)...)
	b.mu.Lock()
	b.deadLetter(b.queues["a"][0], bus.ReasonTTLExpired, "")
	b.mu.Unlock()
	sc := newScanner(t, b, s)
	s.setDown(true)
	if err := sc.scan(t.Context(), false); err == nil || sc.next != 0 {
		t.Fatalf("while down: got error %v, cursor %d; want an error, cursor 0", err, sc.next)
	}
	s.setDown(false)
	if err := sc.scan(t.Context(), false); err != nil || sc.next != 2 {
		t.Errorf("got error %v, cursor %d; want nil, 2", err, sc.next)
	}
	if op, ok := s.operation(c.OperationID); !ok || op.Error == nil || op.Error.Code != operation.CodeDeadLettered {
		t.Errorf("got %+v (found %v), want Failed with DeadLettered", op, ok)
	}
}

// TestResubmittedDeadLetterIsApplied: an operation recorded DeadLettered is
// processed when its message comes back (an admin resubmitted it).
func TestResubmittedDeadLetterIsApplied(t *testing.T) {
	b, s := newFakeBus(10), newFakeStore()
	c := upsert(t, "s", testFields)
	s.record(store.Record{Operation: operation.Operation{ID: c.OperationID, ShipmentID: "s", Status: operation.Failed,
		Error: &operation.Error{Code: operation.CodeDeadLettered, Message: "dead-lettered"}}})
	m := messages(t, c)[0]
	m.ID = "resubmitted-copy" // a resubmitted dead letter has a new message id
	b.send(m)
	start(t, b, s, testConfig())
	waitFor(t, "the queue to drain", func() bool { total, _ := b.pending(); return total == 0 })
	if op, _ := s.operation(c.OperationID); op.Status != operation.Succeeded || op.ResourceVersion != 1 {
		t.Errorf("got status %s, version %d; want Succeeded at version 1", op.Status, op.ResourceVersion)
	}
}

func newScanner(t *testing.T, b *fakeBus, s *fakeStore) *deadLetterScanner {
	t.Helper()
	cfg := testConfig()
	cfg.DeadLetters = b
	w, err := New(b, s, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &deadLetterScanner{w: w, handled: map[int64]struct{}{}}
}

// TestDeadLetterBehindCursor: a message retried for a while is dead-lettered
// after a later one, with a lower sequence number than the cursor. The
// incremental scan cannot see it; the full scan records it, and does not
// record again what it has handled.
func TestDeadLetterBehindCursor(t *testing.T) {
	b, s := newFakeBus(10), newFakeStore()
	early, late := upsert(t, "a", testFields), upsert(t, "b", testFields)
	b.send(messages(t, early, late)...) // early gets sequence number 1, late 2
	sc := newScanner(t, b, s)
	b.mu.Lock()
	b.deadLetter(b.queues["b"][0], command.ReasonMalformed, "poison")
	b.mu.Unlock()
	if err := sc.scan(t.Context(), false); err != nil || sc.next != 3 {
		t.Fatalf("got error %v, cursor %d; want nil, 3", err, sc.next)
	}
	b.mu.Lock()
	b.deadLetter(b.queues["a"][0], bus.ReasonMaxDeliveryCountExceeded, "delivered too many times")
	b.mu.Unlock()

	if err := sc.scan(t.Context(), false); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.operation(early.OperationID); ok {
		t.Fatalf("an incremental scan found a dead letter behind its cursor; the test no longer shows the gap")
	}
	if err := sc.scan(t.Context(), true); err != nil {
		t.Fatal(err)
	}
	if op, ok := s.operation(early.OperationID); !ok || op.Error == nil || op.Error.Code != operation.CodeDeadLettered {
		t.Errorf("after a full scan: got %+v (found %v), want Failed with DeadLettered", op, ok)
	}

	before := s.updateCount()
	if err := sc.scan(t.Context(), true); err != nil {
		t.Fatal(err)
	}
	if got := s.updateCount() - before; got != 0 {
		t.Errorf("a second full scan ran %d transactions, want 0 (all handled)", got)
	}
	if _, err := b.PurgeDeadLetters(t.Context(), func(context.Context, *bus.ReceivedMessage) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if err := sc.scan(t.Context(), true); err != nil || len(sc.handled) != 0 {
		t.Errorf("after a purge: got error %v, %d handled; want nil, 0", err, len(sc.handled))
	}
}

// TestRecorderRescansPeriodically: Run's recorder finds a dead letter that
// landed behind its cursor by itself.
func TestRecorderRescansPeriodically(t *testing.T) {
	b, s := newFakeBus(1000), newFakeStore()
	early, late := upsert(t, "a", testFields), upsert(t, "b", testFields)
	b.send(messages(t, early, late)...)
	b.mu.Lock()
	b.deadLetter(b.queues["b"][0], command.ReasonMalformed, "poison")
	b.mu.Unlock()
	// early keeps failing, and is retried, until the test lowers the max
	// delivery count; the recorder meanwhile handles late and moves on.
	s.failRecord = func(r store.Record) error {
		if r.Operation.ID == early.OperationID && r.Operation.Status == operation.Succeeded {
			return errFakeDown
		}
		return nil
	}
	cfg := testConfig()
	cfg.DeadLetters = b
	cfg.DeadLetterRescan = 50 * time.Millisecond
	start(t, b, s, cfg)
	waitFor(t, "late recorded", func() bool { _, ok := s.operation(late.OperationID); return ok })
	b.mu.Lock()
	b.maxDelivery = 1
	b.mu.Unlock()
	waitFor(t, "early recorded", func() bool { _, ok := s.operation(early.OperationID); return ok })
	if op, _ := s.operation(early.OperationID); op.Error == nil || op.Error.Code != operation.CodeDeadLettered {
		t.Errorf("got %+v, want Failed with DeadLettered", op)
	}
}

// TestPurgeRecordsFirst: a purge that runs before the recorder met a dead
// letter still gives its operation an outcome, and while the write database
// is down it removes nothing.
func TestPurgeRecordsFirst(t *testing.T) {
	b, s := newFakeBus(10), newFakeStore()
	c := upsert(t, "a", testFields)
	b.send(messages(t, c)...)
	w := newScanner(t, b, s).w // the recorder never runs
	b.mu.Lock()
	b.deadLetter(b.queues["a"][0], bus.ReasonMaxDeliveryCountExceeded, "delivered too many times")
	b.mu.Unlock()
	admin := w.DeadLetterAdmin()

	s.setDown(true)
	if n, err := admin.PurgeDeadLetters(t.Context()); err == nil || n != 0 {
		t.Errorf("purge with the database down: got %d removed, error %v; want 0 and an error", n, err)
	}
	if got := len(b.deadLetters()); got != 1 {
		t.Errorf("after a failed purge: %d dead letters, want 1", got)
	}

	s.setDown(false)
	if n, err := admin.PurgeDeadLetters(t.Context()); err != nil || n != 1 {
		t.Fatalf("purge: got %d removed, error %v; want 1, nil", n, err)
	}
	op, ok := s.operation(c.OperationID)
	if !ok || op.Status != operation.Failed || op.Error == nil || op.Error.Code != operation.CodeDeadLettered {
		t.Errorf("after the purge: got %+v (found %v), want Failed with DeadLettered", op, ok)
	}
}
