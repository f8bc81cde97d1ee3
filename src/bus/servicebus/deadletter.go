package servicebus

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus"
	"golang.org/x/sync/errgroup"

	"github.com/dropoff-dev/dropoff/src/bus"
)

// The dead-letter queue is read with a plain receiver (it is not
// session-enabled, even when its queue is), opened per call: these are rare
// admin operations, and a short-lived link keeps no locks or credits around.

const (
	dlqBatch       = 100 // messages per receive from the dead-letter queue
	settleParallel = 16  // settlements in flight at once when purging or releasing
)

// PeekDeadLetters returns up to max dead-lettered messages with a sequence
// number at or above from, oldest first, without locking them. A dead-lettered
// message keeps the sequence number it had in the queue.
func (b *Bus) PeekDeadLetters(ctx context.Context, from int64, n int) ([]*bus.ReceivedMessage, error) {
	if b.isClosed() {
		return nil, bus.ErrClosed
	}
	if n < 1 {
		return nil, nil
	}
	r, err := b.dlq.openDeadLetters(azservicebus.ReceiveModePeekLock)
	if err != nil {
		return nil, fmt.Errorf("open dead-letter receiver: %w", err)
	}
	defer closeLink(ctx, r)
	return b.peek(ctx, r, max(from, 0), n)
}

// peek pages through the dead-letter queue: the service may return fewer
// messages than asked for even when more exist.
func (b *Bus) peek(ctx context.Context, r dlqReceiver, from int64, limit int) ([]*bus.ReceivedMessage, error) {
	var out []*bus.ReceivedMessage
	for len(out) < limit {
		page, err := r.PeekMessages(ctx, limit-len(out), &azservicebus.PeekMessagesOptions{FromSequenceNumber: &from})
		if err != nil {
			return nil, fmt.Errorf("peek dead letters from %d: %w", from, err)
		}
		if len(page) == 0 {
			break
		}
		for _, rm := range page {
			if m := fromSDK(rm, b.settings.DefaultTimeToLive); m.SequenceNumber >= from && len(out) < limit {
				out = append(out, m)
			}
		}
		from = deref(page[len(page)-1].SequenceNumber) + 1
	}
	return out, nil
}

// ResubmitDeadLetter sends a copy of dead-lettered message seq to the queue
// and then completes the original. Service Bus cannot fetch a locked message
// by sequence number from a dead-letter queue (ReceiveDeferredMessages is for
// deferred messages only), so it receives until it meets seq, holding the
// others' locks so they are not delivered again during the scan, and abandons
// them at the end. The scan is bounded by Config.ResubmitScanLimit messages,
// by LockDuration/2 and by ctx.
//
// The copy gets a new message id: within the duplicate-detection window
// Service Bus would drop the old one as a duplicate of the original send. It
// keeps the session, subject, content type, properties (the operation id
// among them), body and time to live.
//
// A crash between the send and the completion leaves both the copy and the
// original: at least once, as everywhere on the bus. The worker's inbox,
// keyed by operation id, makes the second application a no-op.
func (b *Bus) ResubmitDeadLetter(ctx context.Context, seq int64) error {
	if b.isClosed() {
		return bus.ErrClosed
	}
	r, err := b.dlq.openDeadLetters(azservicebus.ReceiveModePeekLock)
	if err != nil {
		return fmt.Errorf("open dead-letter receiver: %w", err)
	}
	defer closeLink(ctx, r)
	if err := b.mustExist(ctx, r, seq); err != nil {
		return err
	}
	target, held, err := b.findDeadLetter(ctx, r, seq)
	if target != nil {
		err = b.resubmit(ctx, r, target)
		if err != nil {
			held = append(held, target) // release it for another try
		}
	}
	b.release(ctx, r, held)
	switch {
	case err != nil:
		return fmt.Errorf("resubmit dead letter %d: %w", seq, err)
	case target != nil:
		return nil
	}
	// Not met within the bounds: gone meanwhile, or locked by someone else.
	if err := b.mustExist(ctx, r, seq); err != nil {
		return err
	}
	return fmt.Errorf("servicebus: resubmit dead letter %d: not received within %d messages or %v; is another receiver holding it?",
		seq, b.cfg.ResubmitScanLimit, b.settings.LockDuration/2)
}

// mustExist peeks at dead letter seq: nil if it is there, bus.ErrNotFound
// (wrapped) if not.
func (b *Bus) mustExist(ctx context.Context, r dlqReceiver, seq int64) error {
	page, err := r.PeekMessages(ctx, 1, &azservicebus.PeekMessagesOptions{FromSequenceNumber: &seq})
	if err != nil {
		return fmt.Errorf("resubmit dead letter %d: peek: %w", seq, err)
	}
	if len(page) == 0 || deref(page[0].SequenceNumber) != seq {
		return fmt.Errorf("resubmit dead letter %d: %w", seq, bus.ErrNotFound)
	}
	return nil
}

// findDeadLetter receives from the dead-letter queue until it meets seq. It
// returns that message (nil if not met) and every other message it locked.
func (b *Bus) findDeadLetter(ctx context.Context, r dlqReceiver, seq int64) (*azservicebus.ReceivedMessage, []*azservicebus.ReceivedMessage, error) {
	scanCtx, cancel := context.WithTimeout(ctx, b.settings.LockDuration/2)
	defer cancel()
	var held []*azservicebus.ReceivedMessage
	for scanned := 0; scanned < b.cfg.ResubmitScanLimit; {
		msgs, err := b.receiveSome(scanCtx, r, min(dlqBatch, b.cfg.ResubmitScanLimit-scanned))
		switch {
		case ctx.Err() != nil:
			return nil, held, ctx.Err()
		case err != nil:
			return nil, held, err
		case len(msgs) == 0:
			return nil, held, nil // nothing more to receive, or out of time
		}
		scanned += len(msgs)
		var target *azservicebus.ReceivedMessage
		for _, m := range msgs {
			if target == nil && deref(m.SequenceNumber) == seq {
				target = m
			} else {
				held = append(held, m)
			}
		}
		if target != nil {
			return target, held, nil
		}
	}
	return nil, held, nil
}

// receiveSome receives up to n messages, waiting at most ReceiveTimeout for
// the first; none and no error when that time (or ctx's) runs out.
func (b *Bus) receiveSome(ctx context.Context, r dlqReceiver, n int) ([]*azservicebus.ReceivedMessage, error) {
	rctx, cancel := context.WithTimeout(ctx, b.cfg.ReceiveTimeout)
	defer cancel()
	msgs, err := r.ReceiveMessages(rctx, n, nil)
	switch {
	case len(msgs) > 0:
		return msgs, nil // the SDK hands over what it has, even at the deadline
	case rctx.Err() != nil:
		return nil, nil // out of time; callers check their own ctx
	case err != nil:
		return nil, fmt.Errorf("receive dead letters: %w", err)
	}
	return nil, nil
}

// resubmit sends the copy, then completes the original.
func (b *Bus) resubmit(ctx context.Context, r dlqReceiver, target *azservicebus.ReceivedMessage) error {
	m := fromSDK(target, b.settings.DefaultTimeToLive).Message
	m.ID = b.cfg.NewID()
	if err := b.Send(ctx, m); err != nil {
		return err
	}
	if err := r.CompleteMessage(ctx, target, nil); err != nil {
		return fmt.Errorf("copy sent as %s, but the original stays dead-lettered: complete: %w", m.ID, err)
	}
	b.log.Info("servicebus: dead letter resubmitted", "sequence_number", deref(target.SequenceNumber),
		"message_id", target.MessageID, "new_message_id", m.ID, "session", m.SessionID)
	return nil
}

// release abandons msgs so others can receive them. Failures are only
// logged: the locks run out by themselves after LockDuration.
func (b *Bus) release(ctx context.Context, r dlqReceiver, msgs []*azservicebus.ReceivedMessage) {
	if len(msgs) == 0 {
		return
	}
	ctx, cancel := closing(ctx)
	defer cancel()
	if _, err := settleAll(ctx, msgs, func(ctx context.Context, m *azservicebus.ReceivedMessage) error {
		return r.AbandonMessage(ctx, m, nil)
	}); err != nil {
		b.log.Warn("servicebus: releasing dead letters failed; their locks will expire", "error", err)
	}
}

// PurgeDeadLetters receives the dead letters it can lock, a batch at a time,
// calls before on each and completes those before accepted. One before fails
// on is abandoned, as is the rest of its batch, and the purge stops with the
// error. A message locked by someone else (an admin's resubmit) stays.
func (b *Bus) PurgeDeadLetters(ctx context.Context, before func(context.Context, *bus.ReceivedMessage) error) (int, error) {
	if b.isClosed() {
		return 0, bus.ErrClosed
	}
	r, err := b.dlq.openDeadLetters(azservicebus.ReceiveModePeekLock)
	if err != nil {
		return 0, fmt.Errorf("open dead-letter receiver: %w", err)
	}
	defer closeLink(ctx, r)
	removed := 0
	for {
		// A peek answers "empty?" at once, where a receive would wait
		// ReceiveTimeout to be sure.
		if page, err := b.peek(ctx, r, 0, 1); err != nil || len(page) == 0 {
			return removed, err
		}
		msgs, err := b.receiveSome(ctx, r, dlqBatch)
		if ctx.Err() != nil {
			return removed, ctx.Err()
		}
		if err != nil || len(msgs) == 0 {
			return removed, err // what is left is locked elsewhere
		}
		var mu sync.Mutex
		var kept []*azservicebus.ReceivedMessage
		n, err := settleAll(ctx, msgs, func(ctx context.Context, m *azservicebus.ReceivedMessage) error {
			if err := before(ctx, fromSDK(m, b.settings.DefaultTimeToLive)); err != nil {
				mu.Lock()
				kept = append(kept, m)
				mu.Unlock()
				return fmt.Errorf("stays: %w", err)
			}
			return r.CompleteMessage(ctx, m, nil)
		})
		removed += n
		if err != nil {
			b.release(ctx, r, kept)
			return removed, fmt.Errorf("purge dead letters: %w", err)
		}
	}
}

// settleAll applies settle to msgs, a few at a time, and returns how many
// succeeded and the first error.
func settleAll(ctx context.Context, msgs []*azservicebus.ReceivedMessage, settle func(context.Context, *azservicebus.ReceivedMessage) error) (int, error) {
	var done atomic.Int64
	var g errgroup.Group
	g.SetLimit(settleParallel)
	for _, m := range msgs {
		g.Go(func() error {
			if err := settle(ctx, m); err != nil {
				return fmt.Errorf("message %d: %w", deref(m.SequenceNumber), err)
			}
			done.Add(1)
			return nil
		})
	}
	err := g.Wait()
	return int(done.Load()), err
}
