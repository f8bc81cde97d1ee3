package servicebus

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus"

	"github.com/dropoff-dev/dropoff/src/bus"
)

const (
	// maxReceive is the most messages one ReceiveMessages call may ask for
	// (the SDK's link credit limit); larger requests are cut to it.
	maxReceive = 5000
	// emptyReceivePause spaces out receives when the SDK returns no message
	// and no error before ctx is done, which it does after mending a link.
	emptyReceivePause = 50 * time.Millisecond
	// maxDeadLetterText is how long a dead-letter reason or description may
	// be: the limit the .NET and JavaScript SDKs enforce (the Go SDK checks
	// nothing). Longer ones are cut rather than refused: a dead-lettering
	// must not fail over its description.
	maxDeadLetterText = 4096
)

// Session is the lock on one Service Bus session, held by a SessionReceiver.
// Messages must be settled on the receiver that received them, so the
// Session keeps each SDK message, by sequence number, until it is settled.
// Its methods are not safe for concurrent use, except Close.
type Session struct {
	id string
	r  sessionReceiver
	b  *Bus

	// lost is cancelled, with the reason as its cause, once the lock is
	// known to be gone; it doubles as the signal that stops a waiting Receive.
	lost     context.Context
	markLost context.CancelCauseFunc

	stopRenewal context.CancelFunc
	renewalDone chan struct{}

	mu      sync.Mutex
	closed  bool
	pending map[int64]*azservicebus.ReceivedMessage

	closeOnce sync.Once
	closeErr  error
}

func newSession(b *Bus, r sessionReceiver) *Session {
	lost, markLost := context.WithCancelCause(context.Background())
	return &Session{
		id:          r.SessionID(),
		r:           r,
		b:           b,
		lost:        lost,
		markLost:    markLost,
		renewalDone: make(chan struct{}),
		pending:     make(map[int64]*azservicebus.ReceivedMessage),
	}
}

// ID is the session id: the shipment id, in Dropoff.
func (s *Session) ID() string { return s.id }

// Receive returns up to max messages of the session, in order. It waits for
// the first until ctx is done, then returns ctx.Err(); it stops early with
// bus.ErrLockLost if the lock is lost meanwhile.
func (s *Session) Receive(ctx context.Context, max int) ([]*bus.ReceivedMessage, error) {
	if err := s.usable("receive"); err != nil {
		return nil, err
	}
	if max < 1 {
		return nil, fmt.Errorf("servicebus: receive from session %s: max %d, want at least 1", s.id, max)
	}
	max = min(max, maxReceive)
	// Stop waiting as soon as the renewal finds the lock gone: messages that
	// arrived after that could not be settled anyway.
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(s.lost, cancel)()
	for {
		raw, err := s.r.ReceiveMessages(rctx, max, nil)
		switch {
		case len(raw) > 0 && s.lost.Err() == nil:
			// The SDK hands over what it has even when ctx ended meanwhile.
			return s.keep(raw)
		case s.isClosed():
			return nil, bus.ErrClosed // Close ran meanwhile
		case s.lost.Err() != nil:
			return nil, s.lostError("receive")
		case ctx.Err() != nil:
			return nil, ctx.Err()
		case err != nil:
			return nil, s.fail("receive", 0, err)
		}
		// No message, no error, time left: the SDK mended its link and
		// returned early. Ask again, after a pause so this cannot spin.
		t := time.NewTimer(emptyReceivePause)
		select {
		case <-rctx.Done():
		case <-t.C:
		}
		t.Stop()
	}
}

// keep records the SDK messages for settlement and maps them for the caller.
func (s *Session) keep(raw []*azservicebus.ReceivedMessage) ([]*bus.ReceivedMessage, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, bus.ErrClosed
	}
	out := make([]*bus.ReceivedMessage, 0, len(raw))
	for _, rm := range raw {
		m := fromSDK(rm, s.b.settings.DefaultTimeToLive)
		s.pending[m.SequenceNumber] = rm
		out = append(out, m)
	}
	return out, nil
}

// Complete removes m from the queue.
func (s *Session) Complete(ctx context.Context, m *bus.ReceivedMessage) error {
	return s.settle("complete", m, func(rm *azservicebus.ReceivedMessage) error {
		return s.r.CompleteMessage(ctx, rm, nil)
	})
}

// Abandon releases m to be delivered again. Service Bus itself dead-letters
// it with reason MaxDeliveryCountExceeded once its delivery count has reached
// the queue's MaxDeliveryCount.
func (s *Session) Abandon(ctx context.Context, m *bus.ReceivedMessage) error {
	return s.settle("abandon", m, func(rm *azservicebus.ReceivedMessage) error {
		return s.r.AbandonMessage(ctx, rm, nil)
	})
}

// DeadLetter moves m to the dead-letter queue with reason and description,
// each cut to 4096 characters.
func (s *Session) DeadLetter(ctx context.Context, m *bus.ReceivedMessage, reason, description string) error {
	reason, description = truncate(reason, maxDeadLetterText), truncate(description, maxDeadLetterText)
	return s.settle("deadletter", m, func(rm *azservicebus.ReceivedMessage) error {
		return s.r.DeadLetterMessage(ctx, rm, &azservicebus.DeadLetterOptions{
			Reason:           &reason,
			ErrorDescription: &description,
		})
	})
}

// settle finds the SDK message behind m and applies action to it. A failed
// settlement leaves m pending (a retry may succeed) unless the lock is gone.
func (s *Session) settle(action string, m *bus.ReceivedMessage, do func(*azservicebus.ReceivedMessage) error) error {
	if m == nil {
		return fmt.Errorf("servicebus: %s: nil message", action)
	}
	rm, err := s.take(action, m.SequenceNumber)
	if err != nil {
		return err
	}
	err = do(rm)
	s.b.metrics.settlements.WithLabelValues(action, result(err)).Inc()
	if err != nil {
		return s.fail(action, m.SequenceNumber, err)
	}
	s.mu.Lock()
	delete(s.pending, m.SequenceNumber)
	s.mu.Unlock()
	return nil
}

func (s *Session) take(action string, seq int64) (*azservicebus.ReceivedMessage, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, bus.ErrClosed
	}
	if s.lost.Err() != nil {
		return nil, s.lostError(action)
	}
	rm, ok := s.pending[seq]
	if !ok {
		return nil, fmt.Errorf("servicebus: %s message %d: not received on session %s, or settled already", action, seq, s.id)
	}
	return rm, nil
}

func (s *Session) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// usable is nil while the session may be used.
func (s *Session) usable(action string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return bus.ErrClosed
	}
	if s.lost.Err() != nil {
		return s.lostError(action)
	}
	return nil
}

// fail classifies an SDK error from action on message seq (0: none).
func (s *Session) fail(action string, seq int64, err error) error {
	what := fmt.Sprintf("%s message %d in session %s", action, seq, s.id)
	if seq == 0 {
		what = fmt.Sprintf("%s in session %s", action, s.id)
	}
	if s.isClosed() {
		return fmt.Errorf("%s: %w: %w", what, bus.ErrClosed, err)
	}
	if sessionGone(err) {
		s.markLost(err)
	}
	if s.lost.Err() != nil {
		return fmt.Errorf("%s: %w: %w", what, bus.ErrLockLost, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

func (s *Session) lostError(action string) error {
	return fmt.Errorf("%s in session %s: %w: %w", action, s.id, bus.ErrLockLost, context.Cause(s.lost))
}

// Close stops lock renewal and waits for it, then closes the receiver, which
// releases the session: its unsettled messages go to the next receiver.
// Safe to call more than once and concurrently (Bus.Close does too); every
// call returns the first one's result.
func (s *Session) Close(ctx context.Context) error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		clear(s.pending)
		s.mu.Unlock()
		s.markLost(bus.ErrClosed) // ends a Receive waiting alongside

		s.stopRenewal()
		<-s.renewalDone
		cctx, cancel := closing(ctx)
		err := s.r.Close(cctx)
		cancel()
		s.b.forget(s)
		s.b.metrics.openSessions.Dec()
		// Closing a receiver whose lock or link is already gone can fail;
		// the session is released either way.
		if err != nil && !sessionGone(err) {
			s.closeErr = fmt.Errorf("close session %s: %w", s.id, err)
		}
		s.b.log.Debug("servicebus: session closed", "session", s.id)
	})
	return s.closeErr
}

// truncate cuts s to at most n characters, on a character boundary.
func truncate(s string, n int) string {
	count := 0
	for i := range s {
		if count == n {
			return s[:i]
		}
		count++
	}
	return s
}
