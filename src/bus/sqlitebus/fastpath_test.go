package sqlitebus_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/dropoff-dev/dropoff/src/bus"
	"github.com/dropoff-dev/dropoff/src/bus/sqlitebus"
)

// An accept looks for sessions whose lock ran out at most every 100ms while
// it keeps finding free ones (accept.go). A session whose holder died is
// still taken over: at once when no session is free, and within that
// interval while free sessions keep coming, so it never starves behind them.
func TestExpiredSessionIsTakenOverDespiteFreeOnes(t *testing.T) {
	t.Parallel()
	const lock = 20 * time.Second // long enough that no renewal runs during the test
	for _, free := range []bool{false, true} {
		t.Run(map[bool]string{false: "no session free", true: "free sessions waiting"}[free], func(t *testing.T) {
			t.Parallel()
			clock := newFakeClock()
			path := tempPath(t)
			cfg := sqlitebus.Config{Now: clock.Now, LockDuration: lock}
			stalled, other := openQueue(t, path, cfg), openQueue(t, path, cfg)
			mustSend(t, stalled, msg("dead", "a", ""))
			receive(t, accept(t, stalled), 1) // and never settled: its holder hangs

			// Just before that lock runs out, other accepts and so looks for
			// expired locks: there are none yet, and it will not look again
			// for 100ms while it finds free sessions.
			clock.Add(lock - 50*time.Millisecond)
			mustSend(t, other, msg("f0", "f0", ""))
			if s := accept(t, other); s.ID() != "f0" {
				t.Fatalf("accepted %s, want f0", s.ID())
			}
			clock.Add(60 * time.Millisecond) // the dead holder's lock has run out

			if free {
				mustSend(t, other, msg("f1", "f1", ""), msg("f2", "f2", ""))
				accept(t, other) // within the interval: any of them
				clock.Add(100 * time.Millisecond)
			}
			s := accept(t, other)
			if s.ID() != "dead" {
				t.Fatalf("accepted %s, want the session whose lock ran out", s.ID())
			}
			if diff := cmp.Diff([]string{"a#2"}, describe(receive(t, s, 1))); diff != "" {
				t.Errorf("taken over (-want +got):\n%s", diff)
			}
		})
	}
}

// A holder that settled all it was given releases its session with one
// statement that drops it only if no message is left. A message sent to the
// session from another process (which this one's wake-ups do not see) keeps
// the session: it is unlocked, and the message delivered next.
func TestReleaseKeepsAMessageSentFromElsewhere(t *testing.T) {
	t.Parallel()
	path := tempPath(t)
	holder, elsewhere := openQueue(t, path, sqlitebus.Config{}), openQueue(t, path, sqlitebus.Config{})
	mustSend(t, holder, msg("s", "a", ""))
	s := accept(t, holder)
	m := receive(t, s, 1)[0]
	if err := s.Complete(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	// Nothing more in the session as far as the holder knows.
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	if got, err := s.Receive(ctx, 1); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("receive from an empty session: got %v, %v; want it to wait", describe(got), err)
	}
	cancel()

	mustSend(t, elsewhere, msg("s", "b", ""))
	if err := s.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	again := accept(t, elsewhere)
	if diff := cmp.Diff([]string{"b#1"}, describe(receive(t, again, 1))); diff != "" {
		t.Errorf("after the release (-want +got):\n%s", diff)
	}
}

// A completion checks the lock inside its one statement; when it deletes
// nothing it says why: a message settled already is not held, a lock that
// ran out is lost.
func TestCompleteSaysWhyItCompletedNothing(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	q := openQueue(t, tempPath(t), sqlitebus.Config{Now: clock.Now})
	mustSend(t, q, msg("s", "a", ""), msg("s", "b", ""))
	s := accept(t, q)
	got := receive(t, s, 2)
	if err := s.Complete(t.Context(), got[0]); err != nil {
		t.Fatal(err)
	}
	if err := s.Complete(t.Context(), got[0]); err == nil || errors.Is(err, bus.ErrLockLost) {
		t.Errorf("completing a message twice: got %v, want an error that it is not held", err)
	}
	clock.Add(31 * time.Second) // past the lock
	if err := s.Complete(t.Context(), got[1]); !errors.Is(err, bus.ErrLockLost) {
		t.Errorf("completing after the lock ran out: got %v, want %v", err, bus.ErrLockLost)
	}
}
