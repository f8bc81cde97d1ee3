package sqlitebus_test

import (
	"context"
	"database/sql"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/dropoff-dev/dropoff/src/bus"
	"github.com/dropoff-dev/dropoff/src/bus/sqlitebus"
)

// When a holder's lock runs out (it stopped renewing: a stalled or crashed
// process), settling fails with bus.ErrLockLost, and another receiver gets the
// session and the message again, its delivery count raised.
func TestExpiredLockFailsSettlement(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	path := tempPath(t)
	cfg := sqlitebus.Config{Now: clock.Now}
	stalled, other := openQueue(t, path, cfg), openQueue(t, path, cfg)
	mustSend(t, stalled, msg("s", "a", ""))
	s := accept(t, stalled)
	m := receive(t, s, 1)[0]

	clock.Add(31 * time.Second) // past the 30s lock; the renewal (every 15s of real time) has not run
	if err := s.Complete(t.Context(), m); !errors.Is(err, bus.ErrLockLost) {
		t.Errorf("complete after the lock ran out: got %v, want %v", err, bus.ErrLockLost)
	}
	if _, err := s.Receive(t.Context(), 1); !errors.Is(err, bus.ErrLockLost) {
		t.Errorf("receive after the lock was lost: got %v, want %v", err, bus.ErrLockLost)
	}
	again := receive(t, accept(t, other), 1)
	if diff := cmp.Diff([]string{"a#2"}, describe(again)); diff != "" {
		t.Errorf("redelivered (-want +got):\n%s", diff)
	}
	if err := s.Close(t.Context()); err != nil {
		t.Errorf("close of a session whose lock was lost: got %v, want nil", err)
	}
}

// A message whose delivery count has reached the maximum when its lock is
// lost goes to the dead-letter queue, not back to a receiver.
func TestExpiredLockAtMaxDeliveryDeadLetters(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	q := openQueue(t, tempPath(t), sqlitebus.Config{Now: clock.Now, MaxDeliveryCount: 1})
	mustSend(t, q, msg("s", "a", ""))
	receive(t, accept(t, q), 1)
	clock.Add(31 * time.Second)

	expectNoSession(t, q) // its only message is dead-lettered on the way
	dls := deadLetters(t, q)
	if len(dls) != 1 || dls[0].ID != "a" || dls[0].DeadLetterReason != bus.ReasonMaxDeliveryCountExceeded {
		t.Fatalf("dead letters: got %v, want a with reason %s", describe(dls), bus.ReasonMaxDeliveryCountExceeded)
	}
}

// The renewal notices a lost lock on its own, and a Receive waiting on the
// session returns bus.ErrLockLost.
func TestRenewalNoticesLostLock(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	q := openQueue(t, tempPath(t), sqlitebus.Config{Now: clock.Now, LockDuration: 200 * time.Millisecond})
	mustSend(t, q, msg("s", "a", ""))
	s := accept(t, q)
	receive(t, s, 1)
	errs := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(t.Context(), wait)
		defer cancel()
		_, err := s.Receive(ctx, 1) // nothing more: it waits
		errs <- err
	}()
	select { // checking that it waits takes a moment of waiting
	case err := <-errs:
		t.Fatalf("receive on an idle session returned at once: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	clock.Add(time.Hour) // the next renewal finds the lock run out
	if err := <-errs; !errors.Is(err, bus.ErrLockLost) {
		t.Errorf("waiting receive: got %v, want %v", err, bus.ErrLockLost)
	}
}

// An id sent again after the duplicate window is a new message; the sweep
// forgets ids older than the window.
func TestDuplicateWindowEnds(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	path := tempPath(t)
	q := openQueue(t, path, sqlitebus.Config{Now: clock.Now, DuplicateWindow: time.Minute})
	mustSend(t, q, msg("s", "a", "first"))
	mustSend(t, q, msg("s", "a", "duplicate"))
	clock.Add(2 * time.Minute)
	mustSend(t, q, msg("s", "a", "again"))
	got := receive(t, accept(t, q), 2)
	if string(got[0].Body) != "first" || string(got[1].Body) != "again" {
		t.Errorf("bodies: got %q and %q, want %q and %q", got[0].Body, got[1].Body, "first", "again")
	}

	clock.Add(2 * time.Minute)
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	eventually(t, "old message ids pruned", func() bool {
		var n int
		err := db.QueryRow("SELECT count(*) FROM message_ids").Scan(&n)
		return err == nil && n == 0
	})
}

// With DeadLetterOnExpiration off, an expired message is dropped.
func TestExpiredMessageDropped(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	q := openQueue(t, tempPath(t), sqlitebus.Config{Now: clock.Now, DeadLetterOnExpiration: new(false)})
	short := msg("s", "a", "")
	short.TimeToLive = time.Minute
	mustSend(t, q, short, msg("s", "b", ""))
	clock.Add(2 * time.Minute)
	got := receive(t, accept(t, q), 1)
	if diff := cmp.Diff([]string{"b#1"}, describe(got)); diff != "" {
		t.Errorf("received (-want +got):\n%s", diff)
	}
	if dls := deadLetters(t, q); len(dls) != 0 {
		t.Errorf("dead letters: got %v, want none", describe(dls))
	}
}

// Expired messages no one receives are dead-lettered by the sweep, and a
// message's time to live is capped by the queue's default.
func TestSweepDeadLettersExpired(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	q := openQueue(t, tempPath(t), sqlitebus.Config{Now: clock.Now, DefaultTimeToLive: time.Hour})
	long := msg("s", "a", "")
	long.TimeToLive = 24 * time.Hour
	mustSend(t, q, long)
	clock.Add(61 * time.Minute)
	eventually(t, "expired message dead-lettered", func() bool { return len(deadLetters(t, q)) == 1 })
	dl := deadLetters(t, q)[0]
	if dl.DeadLetterReason != bus.ReasonTTLExpired || dl.TimeToLive != time.Hour {
		t.Errorf("dead letter: got reason %q and time to live %v, want %q and %v",
			dl.DeadLetterReason, dl.TimeToLive, bus.ReasonTTLExpired, time.Hour)
	}
	expectNoSession(t, q)
}

// A message can only be settled on the session that received it.
func TestSettleOnWrongSessionFails(t *testing.T) {
	t.Parallel()
	q := openQueue(t, tempPath(t), sqlitebus.Config{})
	mustSend(t, q, msg("a", "1", ""), msg("b", "2", ""))
	sa, sb := accept(t, q), accept(t, q)
	m := receive(t, sa, 1)[0]
	err := sb.Complete(t.Context(), m)
	if err == nil || errors.Is(err, bus.ErrLockLost) {
		t.Errorf("complete on another session: got %v, want an error other than %v", err, bus.ErrLockLost)
	}
	if err := sa.Complete(t.Context(), m); err != nil {
		t.Errorf("complete on its own session: %v", err)
	}
	if err := sa.Complete(t.Context(), m); err == nil {
		t.Error("complete twice: got no error")
	}
}
