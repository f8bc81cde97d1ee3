package sqlitebus_test

import (
	"context"
	"testing"
	"time"

	"github.com/dropoff-dev/dropoff/src/bus"
	"github.com/dropoff-dev/dropoff/src/bus/sqlitebus"
)

// noPolling is a poll interval no test waits out: only the in-process wake-up
// can bring news in time.
const noPolling = time.Hour

// A waiting AcceptNextSession and a waiting Receive are woken by a Send
// through the same Queue at once, without polling.
func TestSendWakesWaitersAtOnce(t *testing.T) {
	t.Parallel()
	q := openQueue(t, tempPath(t), sqlitebus.Config{PollInterval: noPolling})
	accepted := make(chan bus.Session, 1)
	go func() {
		s, err := q.AcceptNextSession(t.Context())
		if err != nil {
			t.Errorf("accept: %v", err)
		}
		accepted <- s
	}()
	stillWaiting(t, accepted)
	mustSend(t, q, msg("s", "a", ""))
	s := receiveFrom(t, accepted)
	defer s.Close(context.Background())
	receive(t, s, 1)

	got := make(chan []*bus.ReceivedMessage, 1)
	go func() {
		msgs, err := s.Receive(t.Context(), 1)
		if err != nil {
			t.Errorf("receive: %v", err)
		}
		got <- msgs
	}()
	stillWaiting(t, got)
	mustSend(t, q, msg("s", "b", ""))
	if msgs := receiveFrom(t, got); len(msgs) != 1 || msgs[0].ID != "b" {
		t.Errorf("woken receive: got %v, want b", describe(msgs))
	}
}

// A Queue notices what another Queue (another process) wrote within its
// poll interval.
func TestOtherQueueWakesByPolling(t *testing.T) {
	t.Parallel()
	path := tempPath(t)
	sender := openQueue(t, path, sqlitebus.Config{PollInterval: noPolling})
	receiver := openQueue(t, path, sqlitebus.Config{PollInterval: 10 * time.Millisecond})
	got := make(chan []*bus.ReceivedMessage, 1)
	go func() {
		ctx, cancel := context.WithTimeout(t.Context(), wait)
		defer cancel()
		s, err := receiver.AcceptNextSession(ctx)
		if err != nil {
			t.Errorf("accept: %v", err)
			got <- nil
			return
		}
		defer s.Close(context.Background())
		msgs, err := s.Receive(ctx, 1)
		if err != nil {
			t.Errorf("receive: %v", err)
		}
		got <- msgs
	}()
	stillWaiting(t, got)
	mustSend(t, sender, msg("s", "a", ""))
	if msgs := receiveFrom(t, got); len(msgs) != 1 || msgs[0].ID != "a" {
		t.Errorf("received through the other queue: got %v, want a", describe(msgs))
	}
}

// receiveFrom waits for a value on ch for at most a second: long for an
// in-process wake-up, far shorter than any poll interval these tests set.
func receiveFrom[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(time.Second):
		t.Fatal("not woken within a second")
	}
	var zero T
	return zero
}

// stillWaiting checks that nothing arrives on ch for a moment: the call
// behind it is waiting, so what follows tests waking it.
func stillWaiting[T any](t *testing.T, ch <-chan T) {
	t.Helper()
	select {
	case v := <-ch:
		t.Fatalf("returned before there was anything to return: %v", v)
	case <-time.After(100 * time.Millisecond):
	}
}
