package sqlitebus_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/dropoff-dev/dropoff/src/bus"
	"github.com/dropoff-dev/dropoff/src/bus/sqlitebus"
)

// The accept delivers the session's first messages with the lock; a session
// closed before any Receive gives them back with the count they had, so the
// next holder sees their first delivery.
func TestPrefetchedMessagesGoBackOnClose(t *testing.T) {
	t.Parallel()
	q := openQueue(t, tempPath(t), sqlitebus.Config{})
	mustSend(t, q, msg("s", "a", "1"), msg("s", "b", "2"))
	s := accept(t, q)
	if err := s.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	s = accept(t, q)
	if diff := cmp.Diff([]string{"a#1", "b#1"}, describe(receive(t, s, 2))); diff != "" {
		t.Errorf("after a close with nothing received (-want +got):\n%s", diff)
	}
}

// Receive hands the prefetched messages over in order and in batches of the
// size asked, then looks for more.
func TestPrefetchedMessagesInBatches(t *testing.T) {
	t.Parallel()
	q := openQueue(t, tempPath(t), sqlitebus.Config{Prefetch: 2})
	mustSend(t, q, msg("s", "a", "1"), msg("s", "b", "2"), msg("s", "c", "3"))
	s := accept(t, q)
	var got []string
	for range 3 {
		got = append(got, describe(receive(t, s, 1))...)
	}
	if diff := cmp.Diff([]string{"a#1", "b#1", "c#1"}, got); diff != "" {
		t.Errorf("received (-want +got):\n%s", diff)
	}
}

// Once a look found every waiting message delivered, a Receive waits for a
// send without running a transaction; the send wakes it at once.
func TestDrainedSessionWaitsWithoutLooking(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	q := openQueue(t, tempPath(t), sqlitebus.Config{Registerer: reg})
	mustSend(t, q, msg("s", "a", "1"))
	s := accept(t, q)
	m := receive(t, s, 1)[0]
	if err := s.Complete(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	before := batchOps(t, reg)
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	_, err := s.Receive(ctx, 1)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("receive from a drained session: %v, want the deadline", err)
	}
	if ops := batchOps(t, reg) - before; ops != 0 {
		t.Errorf("receive from a drained session ran %v operations, want 0", ops)
	}
	done := make(chan []*bus.ReceivedMessage, 1)
	go func() {
		got, _ := s.Receive(t.Context(), 1)
		done <- got
	}()
	mustSend(t, q, msg("s", "b", "2"))
	select {
	case got := <-done:
		if diff := cmp.Diff([]string{"b#1"}, describe(got)); diff != "" {
			t.Errorf("after a send (-want +got):\n%s", diff)
		}
	case <-time.After(wait):
		t.Fatal("a send did not wake the drained session's Receive")
	}
}

// A closed session's release is queued, not waited for, and Close lets it
// finish: after the queue is closed and opened again, the session is free at
// once, not after its lock runs out.
func TestReleaseOutlivesQueueClose(t *testing.T) {
	t.Parallel()
	path := tempPath(t)
	q, err := sqlitebus.Open(path, sqlitebus.Config{LockDuration: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	mustSend(t, q, msg("s", "a", "1"))
	ctx, cancel := context.WithTimeout(t.Context(), wait)
	defer cancel()
	s, err := q.AcceptNextSession(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	q = openQueue(t, path, sqlitebus.Config{LockDuration: time.Hour})
	s = accept(t, q)
	if diff := cmp.Diff([]string{"a#1"}, describe(receive(t, s, 1))); diff != "" {
		t.Errorf("after reopening (-want +got):\n%s", diff)
	}
}

func batchOps(t *testing.T, reg *prometheus.Registry) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() == "dropoff_sqlitebus_batch_operations" {
			return float64(f.GetMetric()[0].GetHistogram().GetSampleSum())
		}
	}
	t.Fatal("no dropoff_sqlitebus_batch_operations")
	return 0
}
