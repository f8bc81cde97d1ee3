package bustest

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/dropoff-dev/dropoff/src/bus"
)

// testAbandon: an abandoned message comes back first, same message, its
// delivery count one higher.
func (s suite) testAbandon(t *testing.T) {
	q := s.open(t)
	if max := q.Settings().MaxDeliveryCount; max < 2 {
		t.Skipf("max delivery count %d: an abandoned message is dead-lettered at once", max)
	}
	n := newNames(t)
	sid := n.session("abandon")
	send(t, q, n.message(sid, "retry me"), n.message(sid, "after"))
	ss := acceptSession(t, q, sid, soon)
	defer closeSession(t, ss)
	first := receiveN(t, ss, 1)[0]
	abandon(t, ss, first)
	again := receiveN(t, ss, 1)[0]
	if again.ID != first.ID || again.SequenceNumber != first.SequenceNumber {
		t.Fatalf("after abandon: got %s (%q), want %s again", again.ID, again.Body, first.ID)
	}
	if again.DeliveryCount != first.DeliveryCount+1 {
		t.Errorf("delivery count after abandon: got %d, want %d", again.DeliveryCount, first.DeliveryCount+1)
	}
	complete(t, ss, again)
	complete(t, ss, receiveN(t, ss, 1)[0])
}

// testDeadLetter: a dead-lettered message keeps its content, reason and
// description, and the session goes on with the next message.
func (s suite) testDeadLetter(t *testing.T) {
	q := s.open(t)
	n := newNames(t)
	sid := n.session("deadletter")
	poison := n.message(sid, "poison")
	send(t, q, poison, n.message(sid, "next"))
	ss := acceptSession(t, q, sid, soon)
	defer closeSession(t, ss)
	got := receiveN(t, ss, 1)[0]
	const reason, description = "bustest.Poison", "cannot decode: unexpected 'p' ✗"
	ctx, cancel := context.WithTimeout(t.Context(), soon)
	defer cancel()
	if err := ss.DeadLetter(ctx, got, reason, description); err != nil {
		t.Fatalf("dead-letter: %v", err)
	}
	if next := receiveN(t, ss, 1)[0]; string(next.Body) != "next" {
		t.Errorf("after dead-letter: got %q, want %q", next.Body, "next")
	} else {
		complete(t, ss, next)
	}

	dl := waitDeadLetter(t, q, poison.ID, soon)
	if dl.DeadLetterReason != reason || dl.DeadLetterDescription != description {
		t.Errorf("dead letter: got reason %q and description %q, want %q and %q",
			dl.DeadLetterReason, dl.DeadLetterDescription, reason, description)
	}
	if diff := cmp.Diff(got.Message, dl.Message); diff != "" {
		t.Errorf("dead letter differs from the message (-received +dead letter):\n%s", diff)
	}
}

// testMaxDelivery: a message abandoned MaxDeliveryCount times is not
// delivered again but dead-lettered with ReasonMaxDeliveryCountExceeded.
func (s suite) testMaxDelivery(t *testing.T) {
	q := s.open(t)
	max := q.Settings().MaxDeliveryCount
	if max > 50 {
		t.Skipf("max delivery count %d: too many rounds for the suite", max)
	}
	n := newNames(t)
	sid := n.session("maxdelivery")
	poison := n.message(sid, "always fails")
	send(t, q, poison, n.message(sid, "next"))
	ss := acceptSession(t, q, sid, soon)
	defer closeSession(t, ss)
	for i := 1; i <= max; i++ {
		got := receiveN(t, ss, 1)[0]
		if got.ID != poison.ID || got.DeliveryCount != i {
			t.Fatalf("delivery %d: got %s with count %d, want %s with count %d", i, got.ID, got.DeliveryCount, poison.ID, i)
		}
		abandon(t, ss, got)
	}
	if next := receiveN(t, ss, 1)[0]; string(next.Body) != "next" {
		t.Errorf("after %d abandons: got %q (count %d), want %q", max, next.Body, next.DeliveryCount, "next")
	} else {
		complete(t, ss, next)
	}
	dl := waitDeadLetter(t, q, poison.ID, soon)
	if dl.DeadLetterReason != bus.ReasonMaxDeliveryCountExceeded {
		t.Errorf("dead-letter reason: got %q, want %q", dl.DeadLetterReason, bus.ReasonMaxDeliveryCountExceeded)
	}
	if dl.DeliveryCount < max {
		t.Errorf("dead letter's delivery count: got %d, want at least %d", dl.DeliveryCount, max)
	}
}

// testDuplicate: a second message with an id sent within the duplicate
// window is accepted (Send returns nil) and dropped.
func (s suite) testDuplicate(t *testing.T) {
	q := s.open(t)
	if q.Settings().DuplicateWindow == 0 {
		t.Skip("the queue has no duplicate detection: a resent message id is a second message; Dropoff's queue needs requiresDuplicateDetection, or a retried send applies a command twice")
	}
	n := newNames(t)
	sid := n.session("duplicate")
	first := n.message(sid, "first")
	dup := first
	dup.Body = []byte("duplicate")
	send(t, q, first)
	send(t, q, dup)
	send(t, q, n.message(sid, "last"))
	ss := acceptSession(t, q, sid, soon)
	defer closeSession(t, ss)
	got := receiveN(t, ss, 2)
	if diff := cmp.Diff([]string{"first", "last"}, bodies(got)); diff != "" {
		t.Errorf("duplicate not dropped (-want +got):\n%s", diff)
	}
	for _, m := range got {
		complete(t, ss, m)
	}
}

// testTTL: a message whose time to live runs out is never delivered; it is
// dead-lettered with ReasonTTLExpired where the queue says so, else dropped.
func (s suite) testTTL(t *testing.T) {
	q := s.open(t)
	n := newNames(t)
	sid := n.session("ttl")
	short := n.message(sid, "expires")
	short.TimeToLive = time.Second
	sentAt := time.Now()
	send(t, q, short, n.message(sid, "stays"))

	// Waiting for the time to live to pass is the behaviour under test here,
	// not a stand-in for synchronisation.
	time.Sleep(time.Until(sentAt.Add(short.TimeToLive + 500*time.Millisecond)))
	ss := acceptSession(t, q, sid, soon)
	defer closeSession(t, ss)
	got := receiveN(t, ss, 1)[0]
	if string(got.Body) != "stays" {
		t.Errorf("after expiry: got %q, want %q", got.Body, "stays")
	}
	complete(t, ss, got)

	if !q.Settings().DeadLetterOnExpiration {
		if dl := findDeadLetter(t, q, short.ID); dl != nil {
			t.Errorf("expired message dead-lettered (reason %q), want it dropped", dl.DeadLetterReason)
		}
		return
	}
	dl := waitDeadLetter(t, q, short.ID, soon)
	if dl.DeadLetterReason != bus.ReasonTTLExpired {
		t.Errorf("dead-letter reason: got %q, want %q", dl.DeadLetterReason, bus.ReasonTTLExpired)
	}
}

// abandon abandons m on s.
func abandon(t *testing.T, s bus.Session, m *bus.ReceivedMessage) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), soon)
	defer cancel()
	if err := s.Abandon(ctx, m); err != nil {
		t.Fatalf("abandon %s: %v", m.ID, err)
	}
}
