package bustest

import (
	"context"
	"errors"
	"math"
	"slices"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/dropoff-dev/dropoff/src/bus"
)

// testDeadLetterAdmin: dead letters can be peeked from a sequence number,
// resubmitted (a copy with a new id goes back to its session; the dead letter
// goes away; a second resubmit finds nothing) and purged.
func (s suite) testDeadLetterAdmin(t *testing.T) {
	q := s.open(t)
	n := newNames(t)
	sid := n.session("dlq-admin")
	a, b := n.message(sid, "a"), n.message(sid, "b")
	dls := deadLetterAll(t, q, a, b)
	dlA, dlB := dls[0], dls[1]
	ctx, cancel := context.WithTimeout(t.Context(), soon)
	defer cancel()

	// Peek from b's sequence number starts at b.
	got, err := q.PeekDeadLetters(ctx, dlB.SequenceNumber, 1)
	if err != nil || len(got) != 1 || got[0].ID != b.ID {
		t.Errorf("peek from %d: got %d messages (%v), want %s first", dlB.SequenceNumber, len(got), err, b.ID)
	}

	checkResubmit(ctx, t, q, sid, a, dlA)
	checkPurge(ctx, t, q, b, dlB)
}

// checkResubmit resubmits a, dead-lettered as dl: a copy with a new id is
// delivered in its session, afresh; resubmitting again finds nothing.
func checkResubmit(ctx context.Context, t *testing.T, q Queue, sid string, a bus.Message, dlA *bus.ReceivedMessage) {
	t.Helper()
	if err := q.ResubmitDeadLetter(ctx, dlA.SequenceNumber); err != nil {
		t.Fatalf("resubmit %d: %v", dlA.SequenceNumber, err)
	}
	if m := findDeadLetter(t, q, a.ID); m != nil {
		t.Errorf("after resubmit: %s still in the dead-letter queue", a.ID)
	}
	ss := acceptSession(t, q, sid, soon)
	back := receiveN(t, ss, 1)[0]
	if back.ID == a.ID {
		t.Errorf("resubmitted copy kept the id %s, want a new one", a.ID)
	}
	if diff := cmp.Diff(a, back.Message, cmpopts.IgnoreFields(bus.Message{}, "ID")); diff != "" {
		t.Errorf("resubmitted copy differs (-sent +resubmitted):\n%s", diff)
	}
	if back.DeliveryCount != 1 {
		t.Errorf("resubmitted copy's delivery count: got %d, want 1", back.DeliveryCount)
	}
	complete(t, ss, back)
	closeSession(t, ss)

	for _, seq := range []int64{dlA.SequenceNumber, math.MaxInt64 - 1} {
		if err := q.ResubmitDeadLetter(ctx, seq); !errors.Is(err, bus.ErrNotFound) {
			t.Errorf("resubmit missing dead letter %d: got %v, want %v", seq, err, bus.ErrNotFound)
		}
	}

}

// checkPurge purges: it asks before removing, so a message its before
// refuses (b, dead-lettered as dlB) stays, and the purge says why; then
// every dead letter goes, each after before saw it whole.
func checkPurge(ctx context.Context, t *testing.T, q Queue, b bus.Message, dlB *bus.ReceivedMessage) {
	t.Helper()
	refused := errors.New("bustest: not yet")
	_, err := q.PurgeDeadLetters(ctx, func(_ context.Context, m *bus.ReceivedMessage) error {
		if m.ID == b.ID {
			return refused
		}
		return nil
	})
	if !errors.Is(err, refused) {
		t.Errorf("purge refused on %s: got %v, want %v", b.ID, err, refused)
	}
	if m := findDeadLetter(t, q, b.ID); m == nil {
		t.Errorf("purge refused on %s, but it is gone", b.ID)
	}

	// Purge removes every dead letter, also those of others on a shared
	// queue (acceptable, and expected, for a test queue), each after before
	// saw it whole.
	var mu sync.Mutex
	var seen []*bus.ReceivedMessage
	purged, err := q.PurgeDeadLetters(ctx, func(_ context.Context, m *bus.ReceivedMessage) error {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, m)
		return nil
	})
	if err != nil {
		t.Fatalf("purge: %v", err)
	}
	if purged < 1 || purged > len(seen) {
		t.Errorf("purge: got %d removed after %d seen, want from 1 (%s) to the number seen", purged, len(seen), b.ID)
	}
	i := slices.IndexFunc(seen, func(m *bus.ReceivedMessage) bool { return m.ID == b.ID })
	if i < 0 {
		t.Errorf("purge removed %s without showing it to before", b.ID)
	} else if diff := cmp.Diff(dlB, seen[i], cmpopts.IgnoreFields(bus.ReceivedMessage{}, "DeliveryCount")); diff != "" {
		t.Errorf("before saw %s otherwise than a peek does (-peek +before):\n%s", b.ID, diff)
	}
	if m := findDeadLetter(t, q, b.ID); m != nil {
		t.Errorf("after purge: %s still in the dead-letter queue", b.ID)
	}
}

// deadLetterAll sends msgs (all of one session), receives and dead-letters
// them, and returns them as the dead-letter queue shows them.
func deadLetterAll(t *testing.T, q Queue, msgs ...bus.Message) []*bus.ReceivedMessage {
	t.Helper()
	send(t, q, msgs...)
	ss := acceptSession(t, q, msgs[0].SessionID, soon)
	defer closeSession(t, ss)
	ctx, cancel := context.WithTimeout(t.Context(), soon)
	defer cancel()
	for _, m := range receiveN(t, ss, len(msgs)) {
		if err := ss.DeadLetter(ctx, m, "bustest.Admin", "for the admin test"); err != nil {
			t.Fatalf("dead-letter %s: %v", m.Body, err)
		}
	}
	var out []*bus.ReceivedMessage
	for _, m := range msgs {
		out = append(out, waitDeadLetter(t, q, m.ID, soon))
	}
	return out
}

// testDurability: messages and dead letters whose Send or settlement
// returned are still there after the queue is closed and opened again.
func (s suite) testDurability(t *testing.T) {
	if s.opts.Reopen == nil {
		t.Skip("Options.Reopen not set: durability across a reopen not tested")
	}
	q := s.open(t)
	n := newNames(t)
	sid := n.session("durable")
	dead, kept := n.message(sid, "dead"), n.message(sid, "kept")
	send(t, q, dead, kept)
	ss := acceptSession(t, q, sid, soon)
	first := receiveN(t, ss, 1)[0]
	ctx, cancel := context.WithTimeout(t.Context(), soon)
	defer cancel()
	if err := ss.DeadLetter(ctx, first, "bustest.Durable", "before the reopen"); err != nil {
		t.Fatalf("dead-letter: %v", err)
	}
	closeSession(t, ss)

	q = s.opts.Reopen(t, q)
	if dl := findDeadLetter(t, q, dead.ID); dl == nil {
		t.Errorf("after reopen: dead letter %s lost", dead.ID)
	}
	ss = acceptSession(t, q, sid, soon)
	defer closeSession(t, ss)
	got := receiveN(t, ss, 1)[0]
	if got.ID != kept.ID || string(got.Body) != "kept" {
		t.Errorf("after reopen: got %s (%q), want %s (%q)", got.ID, got.Body, kept.ID, "kept")
	}
	complete(t, ss, got)
}
