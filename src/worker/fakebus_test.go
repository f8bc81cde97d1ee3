package worker

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/dropoff-dev/dropoff/src/bus"
)

// fakeBus is an in-memory session queue with the bus port's semantics:
// sessions locked by one holder at a time, peek-lock delivery with delivery
// counts, abandon up to a max delivery count, a dead-letter queue, and lock
// loss on demand. It is a test double, not an adapter: no durability, no TTL.
type fakeBus struct {
	mu          sync.Mutex
	changed     chan struct{} // closed and replaced on every change: a broadcast to waiters
	maxDelivery int
	seq         int64
	queues      map[string][]*fakeMsg // session id → its messages in order
	held        map[string]*fakeSession
	sessions    []*fakeSession // every session ever accepted
	maxHeld     int
	dlq         []*bus.ReceivedMessage
	completed   []completion
	closed      bool
	// Injected failures, read under mu.
	acceptErrs  int                                                // fail the next n accepts
	peekErrs    int                                                // fail the next n peeks
	completeErr func(s *fakeSession, m *bus.ReceivedMessage) error // called before each Complete
}

type fakeMsg struct {
	m   bus.ReceivedMessage
	out bool // handed out to the current holder and not settled
}

// completion is one successful Complete.
type completion struct {
	ID            string
	DeliveryCount int
}

var errFakeNetwork = errors.New("fake bus: network unreachable")

func newFakeBus(maxDelivery int) *fakeBus {
	return &fakeBus{
		changed: make(chan struct{}), maxDelivery: maxDelivery,
		queues: map[string][]*fakeMsg{}, held: map[string]*fakeSession{},
	}
}

// broadcast wakes every waiter; call with mu held.
func (b *fakeBus) broadcast() {
	close(b.changed)
	b.changed = make(chan struct{})
}

func (b *fakeBus) send(msgs ...bus.Message) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, m := range msgs {
		b.seq++
		b.queues[m.SessionID] = append(b.queues[m.SessionID], &fakeMsg{m: bus.ReceivedMessage{
			Message: m, SequenceNumber: b.seq, EnqueuedAt: time.Now(),
		}})
	}
	b.broadcast()
}

func (b *fakeBus) AcceptNextSession(ctx context.Context) (bus.Session, error) {
	for {
		b.mu.Lock()
		if b.closed {
			b.mu.Unlock()
			return nil, bus.ErrClosed
		}
		if b.acceptErrs > 0 {
			b.acceptErrs--
			b.mu.Unlock()
			return nil, errFakeNetwork
		}
		if id := b.available(); id != "" {
			s := &fakeSession{b: b, id: id}
			b.held[id] = s
			b.sessions = append(b.sessions, s)
			b.maxHeld = max(b.maxHeld, len(b.held))
			b.mu.Unlock()
			return s, nil
		}
		ch := b.changed
		b.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return nil, bus.ErrNoSession
			}
			return nil, ctx.Err()
		}
	}
}

// available returns the free session whose first message is oldest, or "".
func (b *fakeBus) available() string {
	best, bestSeq := "", int64(0)
	for id, q := range b.queues {
		if len(q) == 0 || b.held[id] != nil {
			continue
		}
		if best == "" || q[0].m.SequenceNumber < bestSeq {
			best, bestSeq = id, q[0].m.SequenceNumber
		}
	}
	return best
}

// release hands the unsettled messages of session id back; call with mu
// held. closed: its holder closed the session, which, as on Service Bus, is
// no delivery attempt, so their counts go back to what they were; else the
// lock was lost, and the counts stay raised.
func (b *fakeBus) release(id string, closed bool) {
	for _, fm := range b.queues[id] {
		if fm.out && closed {
			fm.m.DeliveryCount--
		}
		fm.out = false
	}
	delete(b.held, id)
	b.broadcast()
}

// loseLock makes s lose its lock, as if renewal failed: its messages are
// released, their delivery counts already raised. Call with mu held.
func (b *fakeBus) loseLock(s *fakeSession) {
	s.lost = true
	if b.held[s.id] == s {
		b.release(s.id, false)
	}
}

// remove takes message seq out of session id's queue; call with mu held.
func (b *fakeBus) remove(id string, seq int64) {
	b.queues[id] = slices.DeleteFunc(b.queues[id], func(fm *fakeMsg) bool { return fm.m.SequenceNumber == seq })
	b.broadcast()
}

func (b *fakeBus) deadLetter(fm *fakeMsg, reason, description string) {
	dl := fm.m
	dl.DeadLetterReason, dl.DeadLetterDescription = reason, description
	b.dlq = append(b.dlq, &dl)
	b.remove(dl.SessionID, dl.SequenceNumber)
}

func (b *fakeBus) PeekDeadLetters(ctx context.Context, from int64, limit int) ([]*bus.ReceivedMessage, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.peekErrs > 0 {
		b.peekErrs--
		return nil, errFakeNetwork
	}
	var out []*bus.ReceivedMessage
	for _, m := range b.dlq {
		if m.SequenceNumber >= from {
			c := *m
			out = append(out, &c)
		}
	}
	slices.SortFunc(out, func(x, y *bus.ReceivedMessage) int { return cmp.Compare(x.SequenceNumber, y.SequenceNumber) })
	return out[:min(limit, len(out))], nil
}

func (b *fakeBus) ResubmitDeadLetter(ctx context.Context, seq int64) error {
	return errors.New("fake bus: resubmit not implemented")
}

func (b *fakeBus) PurgeDeadLetters(ctx context.Context, before func(context.Context, *bus.ReceivedMessage) error) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for len(b.dlq) > 0 {
		m := b.dlq[0]
		if err := before(ctx, m); err != nil {
			return n, err
		}
		b.dlq = b.dlq[1:]
		n++
	}
	return n, nil
}

// Snapshots for assertions.

func (b *fakeBus) deadLetters() []bus.ReceivedMessage {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []bus.ReceivedMessage
	for _, m := range b.dlq {
		out = append(out, *m)
	}
	return out
}

func (b *fakeBus) completions() []completion {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.completed)
}

// pending counts messages still in the queue, and how many of them are handed out.
func (b *fakeBus) pending() (total, out int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, q := range b.queues {
		for _, fm := range q {
			total++
			if fm.out {
				out++
			}
		}
	}
	return total, out
}

func (b *fakeBus) heldNow() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.held)
}

func (b *fakeBus) allSessions() []fakeSessionState {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]fakeSessionState, len(b.sessions))
	for i, s := range b.sessions {
		out[i] = s.fakeSessionState
	}
	return out
}

// fakeSession is one hold on a session.
type fakeSession struct {
	b  *fakeBus
	id string
	fakeSessionState
}

// fakeSessionState is what the tests check about how a session was used.
type fakeSessionState struct {
	lost, closed bool
	// callsAfterLost counts Receive and settle calls made after the session
	// reported ErrLockLost once: a worker must make none.
	callsAfterLost int
	reportedLost   bool
}

func (s *fakeSession) ID() string { return s.id }

// check returns the error a call on s gets now; call with mu held.
func (s *fakeSession) check() error {
	switch {
	case s.closed:
		return bus.ErrClosed
	case s.lost:
		if s.reportedLost {
			s.callsAfterLost++
		}
		s.reportedLost = true
		return bus.ErrLockLost
	}
	return nil
}

func (s *fakeSession) Receive(ctx context.Context, limit int) ([]*bus.ReceivedMessage, error) {
	b := s.b
	for {
		b.mu.Lock()
		if err := s.check(); err != nil {
			b.mu.Unlock()
			return nil, err
		}
		var out []*bus.ReceivedMessage
		for _, fm := range b.queues[s.id] {
			if len(out) == limit {
				break
			}
			if !fm.out {
				fm.out = true
				fm.m.DeliveryCount++
				c := fm.m
				out = append(out, &c)
			}
		}
		ch := b.changed
		b.mu.Unlock()
		if len(out) > 0 {
			return out, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// locked finds m among the messages handed out to s; call with mu held.
func (s *fakeSession) locked(m *bus.ReceivedMessage) (*fakeMsg, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	for _, fm := range s.b.queues[s.id] {
		if fm.m.SequenceNumber == m.SequenceNumber && fm.out {
			return fm, nil
		}
	}
	return nil, errors.New("fake bus: message not locked by this session")
}

func (s *fakeSession) Complete(ctx context.Context, m *bus.ReceivedMessage) error {
	s.b.mu.Lock()
	defer s.b.mu.Unlock()
	if s.b.completeErr != nil {
		if err := s.b.completeErr(s, m); err != nil {
			return err
		}
	}
	fm, err := s.locked(m)
	if err != nil {
		return err
	}
	s.b.completed = append(s.b.completed, completion{ID: fm.m.ID, DeliveryCount: fm.m.DeliveryCount})
	s.b.remove(s.id, fm.m.SequenceNumber)
	return nil
}

func (s *fakeSession) Abandon(ctx context.Context, m *bus.ReceivedMessage) error {
	s.b.mu.Lock()
	defer s.b.mu.Unlock()
	fm, err := s.locked(m)
	if err != nil {
		return err
	}
	if fm.m.DeliveryCount >= s.b.maxDelivery {
		s.b.deadLetter(fm, bus.ReasonMaxDeliveryCountExceeded, "delivered too many times")
		return nil
	}
	fm.out = false
	s.b.broadcast()
	return nil
}

func (s *fakeSession) DeadLetter(ctx context.Context, m *bus.ReceivedMessage, reason, description string) error {
	s.b.mu.Lock()
	defer s.b.mu.Unlock()
	fm, err := s.locked(m)
	if err != nil {
		return err
	}
	s.b.deadLetter(fm, reason, description)
	return nil
}

func (s *fakeSession) Close(ctx context.Context) error {
	s.b.mu.Lock()
	defer s.b.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if s.b.held[s.id] == s {
		s.b.release(s.id, true)
	}
	return nil
}
