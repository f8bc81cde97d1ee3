package bustest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/dropoff-dev/dropoff/src/bus"
)

// promptly is how soon after its context ends a waiting call must return.
const promptly = 2 * time.Second

// testLockExpiry: a holder that crashes (nothing renews its lock, nothing
// releases it: Features.Crash) loses the session when the lock runs out; the
// message it had received is delivered again, its count raised, on every
// adapter: an expired lock is a delivery attempt.
func (s suite) testLockExpiry(t *testing.T) {
	q := s.open(t)
	lock := q.Settings().LockDuration
	if lock > maxLockForExpiry {
		t.Skipf("lock duration %v: the suite waits out at most %v for a lock to expire", lock, maxLockForExpiry)
	}
	crashed := s.open(t)
	n := newNames(t)
	sid := n.session("crash")
	m := n.message(sid, "outlives its receiver")
	send(t, q, m)
	ss := acceptSession(t, crashed, sid, soon)
	first := receiveN(t, ss, 1)[0]
	s.opts.Features.Crash(t, crashed, ss) // ss is never closed

	again := acceptSession(t, q, sid, 3*lock+soon)
	defer closeSession(t, again)
	got := receiveN(t, again, 1)[0]
	if got.ID != m.ID || got.SequenceNumber != first.SequenceNumber {
		t.Errorf("redelivered: got message %s (seq %d), want %s (seq %d)", got.ID, got.SequenceNumber, m.ID, first.SequenceNumber)
	}
	if got.DeliveryCount != first.DeliveryCount+1 {
		t.Errorf("delivery count after a lost lock: got %d, want %d", got.DeliveryCount, first.DeliveryCount+1)
	}
	complete(t, again, got)
}

// testCloseReleases: closing a session hands its unsettled messages to the
// next receiver at once, with the delivery count the adapter declares
// (Features.CloseRaisesDeliveryCount), and settling on the closed session
// fails with bus.ErrClosed.
func (s suite) testCloseReleases(t *testing.T) {
	q := s.open(t)
	n := newNames(t)
	sid := n.session("close")
	send(t, q, n.message(sid, "done"), n.message(sid, "left unsettled"))
	ss := acceptSession(t, q, sid, soon)
	got := receiveN(t, ss, 2)
	complete(t, ss, got[0])
	closeSession(t, ss)
	if err := ss.Complete(t.Context(), got[1]); !errors.Is(err, bus.ErrClosed) {
		t.Errorf("complete on a closed session: got %v, want %v", err, bus.ErrClosed)
	}

	next := acceptSession(t, q, sid, releaseWait(q))
	defer closeSession(t, next)
	again := receiveN(t, next, 1)[0]
	if again.ID != got[1].ID {
		t.Errorf("after close: got %s (%q), want %s", again.ID, again.Body, got[1].ID)
	}
	want := got[1].DeliveryCount
	if s.opts.Features.CloseRaisesDeliveryCount {
		want++
	}
	if again.DeliveryCount != want {
		t.Errorf("delivery count after close: got %d, want %d (Features.CloseRaisesDeliveryCount %v)",
			again.DeliveryCount, want, s.opts.Features.CloseRaisesDeliveryCount)
	}
	complete(t, next, again)
}

// testAcceptCancel: a waiting AcceptNextSession returns ctx.Err() promptly
// once its context is cancelled.
func (s suite) testAcceptCancel(t *testing.T) {
	q := s.open(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancelled := make(chan time.Time, 1)
	timer := time.AfterFunc(200*time.Millisecond, func() {
		cancelled <- time.Now()
		cancel()
	})
	defer timer.Stop()
	err := acceptUntilError(t, q, ctx)
	returned := time.Now()
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("accept after cancel: got %v, want %v", err, context.Canceled)
	}
	if d := returned.Sub(<-cancelled); d > promptly {
		t.Errorf("accept returned %v after cancel, want within %v", d, promptly)
	}
}

// testAcceptDeadline: with no session to accept, AcceptNextSession returns
// bus.ErrNoSession promptly once its deadline passes.
func (s suite) testAcceptDeadline(t *testing.T) {
	q := s.open(t)
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	deadline, _ := ctx.Deadline()
	err := acceptUntilError(t, q, ctx)
	if !errors.Is(err, bus.ErrNoSession) {
		t.Fatalf("accept past deadline: got %v, want %v", err, bus.ErrNoSession)
	}
	if d := time.Since(deadline); d > promptly {
		t.Errorf("accept returned %v after its deadline, want within %v", d, promptly)
	}
}

// acceptUntilError calls AcceptNextSession with ctx until it fails and
// returns the error. Sessions it gets (others', on a shared queue) are held
// untouched, so it moves past them, and closed before it returns.
func acceptUntilError(t *testing.T, q Queue, ctx context.Context) error {
	t.Helper()
	var others []bus.Session
	defer func() {
		for _, o := range others {
			closeSession(t, o)
		}
	}()
	for {
		ss, err := q.AcceptNextSession(ctx)
		if err != nil {
			return err
		}
		others = append(others, ss)
	}
}

// testReceiveCancel: Receive on an idle session returns no messages and
// ctx.Err() promptly, whether ctx is cancelled or its deadline passes; the
// session is still usable afterwards.
func (s suite) testReceiveCancel(t *testing.T) {
	q := s.open(t)
	n := newNames(t)
	sid := n.session("idle")
	send(t, q, n.message(sid, "warm-up"))
	ss := acceptSession(t, q, sid, soon)
	defer closeSession(t, ss)
	complete(t, ss, receiveN(t, ss, 1)[0])

	ctx, cancel := context.WithCancel(t.Context())
	cancelled := make(chan time.Time, 1)
	timer := time.AfterFunc(200*time.Millisecond, func() {
		cancelled <- time.Now()
		cancel()
	})
	defer timer.Stop()
	got, err := ss.Receive(ctx, 10)
	returned := time.Now()
	if len(got) != 0 || !errors.Is(err, context.Canceled) {
		t.Fatalf("receive after cancel: got %d messages and %v, want none and %v", len(got), err, context.Canceled)
	}
	if d := returned.Sub(<-cancelled); d > promptly {
		t.Errorf("receive returned %v after cancel, want within %v", d, promptly)
	}

	dctx, dcancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer dcancel()
	deadline, _ := dctx.Deadline()
	got, err = ss.Receive(dctx, 10)
	if len(got) != 0 || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("receive past deadline: got %d messages and %v, want none and %v", len(got), err, context.DeadlineExceeded)
	}
	if d := time.Since(deadline); d > promptly {
		t.Errorf("receive returned %v after its deadline, want within %v", d, promptly)
	}

	send(t, q, n.message(sid, "after the wait"))
	if m := receiveN(t, ss, 1)[0]; string(m.Body) != "after the wait" {
		t.Errorf("receive after the wait: got %q, want %q", m.Body, "after the wait")
	} else {
		complete(t, ss, m)
	}
}

// releaseWait is how soon a closed session must be acceptable again: before
// its lock could have run out on its own, so that a Close that does not
// release the lock cannot pass for one that does.
func releaseWait(q Queue) time.Duration {
	return min(q.Settings().LockDuration/2, soon)
}
