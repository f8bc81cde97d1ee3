package groupcommit_test

import (
	"context"
	"errors"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dropoff-dev/dropoff/src/groupcommit"
)

// Close lets the batch in flight commit, answers the calls still queued
// with the closed error without running them, fails later calls at once,
// and returns only once the writer has ended.
func TestCloseWaitsForTheWriter(t *testing.T) {
	errShut := errors.New("test: shut")
	h := open(t, groupcommit.Config[*testTx]{Closed: errShut})
	release, held := h.hold(t, insert("in-flight"))
	var ranQueued atomic.Bool
	queued := h.queue(t, context.Background(), func(*testTx) error { ranQueued.Store(true); return nil })
	closed := make(chan struct{})
	go func() { h.w.Close(); close(closed) }()
	select {
	case <-h.w.Stopped():
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not stop the writer")
	}
	select {
	case <-closed:
		t.Fatal("Close returned while a batch was in flight")
	default:
	}
	release()
	<-closed
	select {
	case <-groupcommit.Done(h.w):
	default:
		t.Fatal("Close returned before the writer ended")
	}
	if err := receive(t, held); err != nil {
		t.Errorf("the call in flight = %v, want nil (it committed)", err)
	}
	if err := receive(t, queued[0]); !errors.Is(err, errShut) || ranQueued.Load() {
		t.Errorf("the queued call = %v (ran: %v), want %v and not run", err, ranQueued.Load(), errShut)
	}
	if err := h.w.Do(context.Background(), insert("late")); !errors.Is(err, errShut) {
		t.Errorf("Do after Close = %v, want %v", err, errShut)
	}
	if h.w.Submit(insert("late"), nil) {
		t.Error("Submit after Close = true, want false")
	}
	if got := h.ids(t); !slices.Equal(got, []string{"in-flight"}) {
		t.Errorf("committed %v, want [in-flight]", got)
	}
	h.w.Close() // closing twice is harmless
}

// Submit queues a call without waiting for it; then gets its outcome once
// it has committed, and Close waits for submitted calls before it stops
// the writer.
func TestCloseLetsSubmittedCallsFinish(t *testing.T) {
	h := open(t, groupcommit.Config[*testTx]{})
	release, _ := h.hold(t, nil)
	outcome := make(chan error, 1)
	var committedFirst bool
	if !h.w.Submit(insert("s"), func(err error) { committedFirst = h.committed(t, "s"); outcome <- err }) {
		t.Fatal("Submit = false on an open Writer")
	}
	closed := make(chan struct{})
	go func() { h.w.Close(); close(closed) }()
	// Close has begun once Submit refuses (the probes accepted before then
	// write nothing).
	probe := func(*testTx) error { return nil }
	waitFor(t, "Close to refuse submissions", func() bool { return !h.w.Submit(probe, nil) })
	select {
	case <-h.w.Stopped():
		t.Fatal("Close stopped the writer with a submitted call pending")
	default:
	}
	release()
	if err := receive(t, outcome); err != nil {
		t.Fatalf("submitted call = %v, want nil", err)
	}
	if !committedFirst {
		t.Error("then was called before the submitted call committed")
	}
	<-closed
	if got := h.ids(t); !slices.Equal(got, []string{"s"}) {
		t.Errorf("committed %v, want [s]", got)
	}
}

// CloseWait bounds the wait for submitted calls: past it the writer stops,
// and a submitted call it did not run hears so through then.
func TestCloseWaitBoundsTheWaitForSubmittedCalls(t *testing.T) {
	h := open(t, groupcommit.Config[*testTx]{CloseWait: time.Millisecond})
	release, _ := h.hold(t, nil)
	outcome := make(chan error, 1)
	h.w.Submit(insert("s"), func(err error) { outcome <- err })
	closed := make(chan struct{})
	go func() { h.w.Close(); close(closed) }()
	select {
	case <-h.w.Stopped(): // with the submitted call still queued
	case <-time.After(10 * time.Second):
		t.Fatal("Close waited for the submitted call past CloseWait")
	}
	release()
	if err := receive(t, outcome); !errors.Is(err, groupcommit.ErrClosed) {
		t.Errorf("submitted call not run = %v, want %v", err, groupcommit.ErrClosed)
	}
	<-closed
	if got := h.ids(t); len(got) != 0 {
		t.Errorf("committed %v, want nothing", got)
	}
}

// A submitted call has no caller to raise its panic in: then gets it as an
// error, and the writer goes on.
func TestSubmittedPanicReachesThen(t *testing.T) {
	h := open(t, groupcommit.Config[*testTx]{})
	outcome := make(chan error, 1)
	h.w.Submit(func(*testTx) error { panic("boom") }, func(err error) { outcome <- err })
	if err := receive(t, outcome); err == nil {
		t.Fatal("then got nil for a panicking call")
	}
	if err := h.w.Do(context.Background(), insert("after")); err != nil {
		t.Fatalf("Do after a panic: %v", err)
	}
}

// OnTick runs on the writer between batches, and its run commits a batch
// of its own.
func TestTickRunsBetweenBatches(t *testing.T) {
	ticked := make(chan error, 1)
	var once atomic.Bool
	h := open(t, groupcommit.Config[*testTx]{
		Tick: time.Millisecond,
		OnTick: func(run func(func(*testTx) error) error) {
			if once.CompareAndSwap(false, true) {
				ticked <- run(insert("tick"))
			}
		},
	})
	if err := receive(t, ticked); err != nil {
		t.Fatalf("run = %v", err)
	}
	if !h.committed(t, "tick") {
		t.Error("run returned before its batch committed")
	}
	if got := h.commits.Load(); got != 1 {
		t.Errorf("commits = %d, want 1", got)
	}
}
