package sqlitebus

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/dropoff-dev/dropoff/src/bus"
)

// errNotHeld: the message is not delivered under this session's lock — it
// was settled already, or received on another Session.
var errNotHeld = errors.New("message is not held by this session (already settled, or received elsewhere)")

// Receive returns up to max of the session's messages that are waiting for
// delivery, oldest first, raising each one's delivery count (durably: a crash
// after Receive still counts as a delivery). With none waiting, it waits for
// one until ctx is done, and then returns ctx.Err().
//
// The first messages were delivered by the accept already and are handed
// over without a transaction. After a look that found every waiting message
// delivered, it waits for a commit that adds one before it looks again.
func (s *session) Receive(ctx context.Context, max int) ([]*bus.ReceivedMessage, error) {
	if max < 1 {
		max = 1
	}
	for {
		if err := s.usable(); err != nil {
			return nil, err
		}
		s.mu.Lock()
		if n := len(s.prefetched); n > 0 {
			got := s.prefetched[:min(n, max)]
			s.prefetched = s.prefetched[len(got):]
			s.mu.Unlock()
			return got, nil
		}
		wake := s.drained
		s.mu.Unlock()
		if wake == nil || closed(wake) {
			wake = s.q.notify.sessionChan(s.id) // before looking, so no commit is missed
			var got []*bus.ReceivedMessage
			var more bool
			err := s.q.writer.Do(ctx, func(b *batch) (err error) {
				if err := s.checkLock(b); err != nil {
					return err
				}
				got, more, err = b.deliver(s.id, s.token, max)
				return err
			})
			if err != nil {
				return nil, s.fail(ctx, "receive", err)
			}
			s.mu.Lock()
			s.outstanding += len(got)
			s.drained = nil
			if !more {
				s.drained = wake
			}
			s.mu.Unlock()
			if len(got) > 0 {
				return got, nil
			}
		}
		select {
		case <-wake:
		case <-s.lost:
			return nil, bus.ErrLockLost
		case <-s.closing:
			return nil, bus.ErrClosed
		case <-s.q.stop:
			return nil, bus.ErrClosed
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// closed reports whether ch is closed.
func closed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// deliver delivers up to max waiting messages of session id under token.
// Those found expired or already at the maximum delivery count are moved on
// instead, and the next ones looked at, so that a receiver never sees them.
// more reports whether messages may be left waiting.
func (b *batch) deliver(id, token string, max int) (out []*bus.ReceivedMessage, more bool, err error) {
	for {
		waiting, err := b.messages(b.q.st.available, id, max)
		if err != nil {
			return nil, false, err
		}
		for _, m := range waiting {
			switch {
			case !m.ExpiresAt.IsZero() && m.ExpiresAt.UnixNano() <= b.now:
				err = b.expire(m.SequenceNumber)
			case m.DeliveryCount >= b.q.cfg.MaxDeliveryCount:
				err = b.deadLetter(m.SequenceNumber, bus.ReasonMaxDeliveryCountExceeded,
					fmt.Sprintf("delivered %d times; the maximum is %d", m.DeliveryCount, b.q.cfg.MaxDeliveryCount))
			default:
				_, err = b.exec(b.q.st.deliver, m.SequenceNumber, token)
				m.DeliveryCount++
				out = append(out, m)
			}
			if err != nil {
				return nil, false, err
			}
		}
		if len(waiting) < max {
			return out, false, nil
		}
		if len(out) > 0 {
			return out, true, nil
		}
	}
}

// Complete removes m from the queue. The deletion checks the lock itself
// (completeHeld), so a completion is one statement; only when it deletes
// nothing does it look at the lock, to say why.
func (s *session) Complete(ctx context.Context, m *bus.ReceivedMessage) error {
	return s.settle(ctx, "complete", m, func(b *batch) error {
		n, err := b.exec(b.q.st.completeHeld, m.SequenceNumber, s.token, s.id, b.now)
		if err != nil || n == 1 {
			return err
		}
		if err := s.checkLock(b); err != nil {
			return err
		}
		return errNotHeld
	})
}

// Abandon makes m deliverable again, first in its session; at the maximum
// delivery count it dead-letters it instead.
//
// Messages the accept delivered and Receive has not handed over yet come
// after m, so they go back too, as if never delivered: m must be the next
// one received.
func (s *session) Abandon(ctx context.Context, m *bus.ReceivedMessage) error {
	s.mu.Lock()
	back := s.prefetched
	s.mu.Unlock()
	err := s.settle(ctx, "abandon", m, s.underLock(func(b *batch) error {
		count, err := b.held(m.SequenceNumber, s.token)
		if err != nil {
			return err
		}
		if limit := int64(b.q.cfg.MaxDeliveryCount); count >= limit {
			err = b.deadLetter(m.SequenceNumber, bus.ReasonMaxDeliveryCountExceeded,
				fmt.Sprintf("abandoned after delivery %d; the maximum is %d", count, limit))
		} else {
			_, err = b.exec(b.q.st.makeAvailable, m.SequenceNumber)
		}
		for _, p := range back {
			if err != nil {
				break
			}
			_, err = b.exec(b.q.st.returnUndelivered, p.SequenceNumber)
		}
		return err
	}))
	if err == nil && len(back) > 0 {
		s.mu.Lock()
		s.prefetched = s.prefetched[len(back):]
		s.outstanding -= len(back)
		s.mu.Unlock()
	}
	return err
}

// DeadLetter moves m to the dead-letter queue with reason and description.
func (s *session) DeadLetter(ctx context.Context, m *bus.ReceivedMessage, reason, description string) error {
	return s.settle(ctx, "dead-letter", m, s.underLock(func(b *batch) error {
		if _, err := b.held(m.SequenceNumber, s.token); err != nil {
			return err
		}
		return b.deadLetter(m.SequenceNumber, reason, description)
	}))
}

// held returns the delivery count of message seq if it is delivered under
// the lock token, and errNotHeld if it is not.
func (b *batch) held(seq int64, token string) (count int64, err error) {
	count, ok, err := b.scalar(b.q.st.heldCount, seq, token)
	if err == nil && !ok {
		err = errNotHeld
	}
	return count, err
}

// underLock runs op only while the session's live lock is ours.
func (s *session) underLock(op func(*batch) error) func(*batch) error {
	return func(b *batch) error {
		if err := s.checkLock(b); err != nil {
			return err
		}
		return op(b)
	}
}

// settle runs one settlement, batched with every other settlement waiting
// for the writer; run checks that the session's lock is still ours.
func (s *session) settle(ctx context.Context, what string, m *bus.ReceivedMessage, run func(*batch) error) error {
	if m == nil {
		return fmt.Errorf("sqlitebus: %s: nil message", what)
	}
	if err := s.usable(); err != nil {
		return fmt.Errorf("sqlitebus: %s message %d: %w", what, m.SequenceNumber, err)
	}
	err := s.q.writer.Do(ctx, run)
	s.mu.Lock()
	switch {
	case err != nil:
		s.unsure = true // it may or may not be settled: the release will look
	case s.outstanding > 0:
		s.outstanding--
	}
	if what == "abandon" {
		s.drained = nil // the message waits again, in this session
	}
	s.mu.Unlock()
	if err != nil {
		return fmt.Errorf("sqlitebus: %s message %d: %w", what, m.SequenceNumber, s.fail(ctx, what, err))
	}
	return nil
}

// fail notes a lost lock, and returns ctx's own error when ctx ended.
func (s *session) fail(ctx context.Context, what string, err error) error {
	if errors.Is(err, bus.ErrLockLost) {
		s.markLost()
		return bus.ErrLockLost
	}
	if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return ctx.Err()
	}
	if what == "receive" {
		return fmt.Errorf("sqlitebus: receive from session %s: %w", s.id, err)
	}
	return err
}

// deadLetter moves message seq to the dead-letter queue.
func (b *batch) deadLetter(seq int64, reason, description string) error {
	n, err := b.exec(b.q.st.copyToDLQ, seq, reason, description, b.now)
	if err != nil {
		return err
	}
	if n == 0 {
		return errNotHeld
	}
	if _, err := b.exec(b.q.st.deleteMessage, seq); err != nil {
		return err
	}
	b.fx.deadLettered = append(b.fx.deadLettered, reason)
	return nil
}

// expire dead-letters or drops message seq, whose time to live ran out.
func (b *batch) expire(seq int64) error {
	if *b.q.cfg.DeadLetterOnExpiration {
		return b.deadLetter(seq, bus.ReasonTTLExpired, "the message's time to live ran out before it was completed")
	}
	_, err := b.exec(b.q.st.deleteMessage, seq)
	return err
}

// messages runs the statement s, which selects messageColumns.
func (b *batch) messages(s *sql.Stmt, args ...any) ([]*bus.ReceivedMessage, error) {
	rows, err := b.query(s, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*bus.ReceivedMessage
	for rows.Next() {
		m := new(bus.ReceivedMessage)
		if err := scanMessage(rows, m); err != nil {
			return nil, fmt.Errorf("%s: %w", b.q.st.name(s), err)
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// scanMessage reads messageColumns, then extra, into m.
func scanMessage(r interface{ Scan(...any) error }, m *bus.ReceivedMessage, extra ...any) error {
	var props []byte
	var ttl, enqueued, expires int64
	dest := append([]any{&m.SequenceNumber, &m.ID, &m.SessionID, &m.Subject, &m.ContentType,
		&props, &m.Body, &ttl, &enqueued, &expires, &m.DeliveryCount}, extra...)
	if err := r.Scan(dest...); err != nil {
		return err
	}
	if len(props) > 0 {
		if err := json.Unmarshal(props, &m.Properties); err != nil {
			return fmt.Errorf("decode properties of message %d: %w", m.SequenceNumber, err)
		}
	}
	m.TimeToLive = time.Duration(ttl)
	m.EnqueuedAt = time.Unix(0, enqueued).UTC()
	if expires != 0 {
		m.ExpiresAt = time.Unix(0, expires).UTC()
	}
	return nil
}
