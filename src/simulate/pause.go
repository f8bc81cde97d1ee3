package simulate

import (
	"context"
	"sync"

	"github.com/dropoff-dev/dropoff/src/bus"
	"github.com/dropoff-dev/dropoff/src/store"
)

// Pause is a switch that holds part of the pipeline still, for the lab
// (docs/live.md): Receiver pauses a worker, Feed a projector. Nothing is
// lost or skipped while paused: the queue and the feed keep what arrives,
// and Resume lets the part drain them. Safe for concurrent use; the zero
// value is running.
type Pause struct {
	mu      sync.Mutex
	resumed chan struct{} // nil while running; closed by Resume
}

// Pause holds the part still from its next step on; a step already under
// way (a batch of messages received, a batch of entries read) finishes.
func (p *Pause) Pause() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.resumed == nil {
		p.resumed = make(chan struct{})
	}
}

// Resume lets the part go on.
func (p *Pause) Resume() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.resumed != nil {
		close(p.resumed)
		p.resumed = nil
	}
}

// Paused reports whether the part is held.
func (p *Pause) Paused() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.resumed != nil
}

// wait returns nil once the part is running, or ctx's error.
func (p *Pause) wait(ctx context.Context) error {
	p.mu.Lock()
	resumed := p.resumed
	p.mu.Unlock()
	if resumed == nil {
		return nil
	}
	select {
	case <-resumed:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Receiver wraps a worker's receiver: while paused, AcceptNextSession and a
// session's Receive wait, and report their context's error as they would
// with no work (the worker releases an idle session, and asks again). So a
// paused worker holds no session and applies nothing, and commands wait on
// the queue, NotStarted, until Resume.
func (p *Pause) Receiver(r bus.Receiver) bus.Receiver { return pausedReceiver{Receiver: r, p: p} }

type pausedReceiver struct {
	bus.Receiver
	p *Pause
}

func (r pausedReceiver) AcceptNextSession(ctx context.Context) (bus.Session, error) {
	if err := r.p.wait(ctx); err != nil {
		return nil, err
	}
	s, err := r.Receiver.AcceptNextSession(ctx)
	if err != nil {
		return nil, err
	}
	return pausedSession{Session: s, p: r.p}, nil
}

type pausedSession struct {
	bus.Session
	p *Pause
}

func (s pausedSession) Receive(ctx context.Context, max int) ([]*bus.ReceivedMessage, error) {
	if err := s.p.wait(ctx); err != nil {
		return nil, err
	}
	return s.Session.Receive(ctx, max)
}

// Feed wraps a projector's feed: while paused, ReadChanges waits. The
// projection stays where it is (a query API shows what it showed), the feed
// grows, and Resume lets the projector catch up, exactly once as always.
func (p *Pause) Feed(f store.Feed) store.Feed { return pausedFeed{Feed: f, p: p} }

type pausedFeed struct {
	store.Feed
	p *Pause
}

func (f pausedFeed) ReadChanges(ctx context.Context, after int64, limit int) ([]store.Change, error) {
	if err := f.p.wait(ctx); err != nil {
		return nil, err
	}
	return f.Feed.ReadChanges(ctx, after, limit)
}
