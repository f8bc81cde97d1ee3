package simulate_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/dropoff-dev/dropoff/src/bus"
	"github.com/dropoff-dev/dropoff/src/simulate"
	"github.com/dropoff-dev/dropoff/src/store"
)

// oneFeed answers ReadChanges with one entry.
type oneFeed struct{ store.Feed }

func (oneFeed) ReadChanges(context.Context, int64, int) ([]store.Change, error) {
	return []store.Change{{Position: 1}}, nil
}

// oneReceiver hands out sessions whose Receive returns one message.
type oneReceiver struct{ bus.Receiver }

func (oneReceiver) AcceptNextSession(context.Context) (bus.Session, error) { return oneSession{}, nil }

type oneSession struct{ bus.Session }

func (oneSession) Receive(context.Context, int) ([]*bus.ReceivedMessage, error) {
	return []*bus.ReceivedMessage{{}}, nil
}

// TestPauseHoldsAndResumeReleases: while paused, a feed read, a session
// accept and a session receive wait, ending with their context's error;
// Resume lets one already waiting go on.
func TestPauseHoldsAndResumeReleases(t *testing.T) {
	var p simulate.Pause
	feed, recv := p.Feed(oneFeed{}), p.Receiver(oneReceiver{})
	s, err := recv.AcceptNextSession(t.Context())
	if err != nil {
		t.Fatalf("AcceptNextSession while running: %v", err)
	}
	p.Pause()
	if !p.Paused() {
		t.Fatal("Paused() = false after Pause")
	}
	short := func() context.Context {
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
		t.Cleanup(cancel)
		return ctx
	}
	if _, err := feed.ReadChanges(short(), 0, 10); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("ReadChanges while paused = %v, want its context's deadline", err)
	}
	if _, err := recv.AcceptNextSession(short()); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("AcceptNextSession while paused = %v, want its context's deadline", err)
	}
	if _, err := s.Receive(short(), 10); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Receive while paused = %v, want its context's deadline (the worker then releases the session)", err)
	}

	done := make(chan error, 1)
	go func() {
		_, err := feed.ReadChanges(t.Context(), 0, 10)
		done <- err
	}()
	p.Pause() // twice is once
	p.Resume()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("ReadChanges after Resume = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("ReadChanges still waiting 10s after Resume")
	}
	p.Resume() // twice is once
	if got, err := s.Receive(t.Context(), 10); err != nil || len(got) != 1 {
		t.Errorf("Receive after Resume = %d messages, %v; want 1", len(got), err)
	}
}

// TestSlowedReadsItsKnob: the delay is read at every Update, so turning the
// knob takes effect on the next transaction.
func TestSlowedReadsItsKnob(t *testing.T) {
	inner := &countingStore{}
	var k simulate.Knob
	s := simulate.Slowed{WriteStore: inner, Knob: &k}
	noop := func(context.Context, store.WriteTx) error { return nil }
	if err := s.Update(t.Context(), noop); err != nil || inner.updates != 1 {
		t.Fatalf("Update with no delay = %v, %d updates; want nil, 1", err, inner.updates)
	}
	k.Set(time.Hour)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	if err := s.Update(ctx, noop); !errors.Is(err, context.DeadlineExceeded) || inner.updates != 1 {
		t.Errorf("Update with an hour's delay = %v, %d updates; want the deadline and no new update", err, inner.updates)
	}
	if k.Set(-time.Second); k.Get() != 0 {
		t.Errorf("Knob after Set(-1s) = %v, want 0", k.Get())
	}
}
