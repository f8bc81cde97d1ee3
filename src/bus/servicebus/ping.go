package servicebus

import (
	"context"
	"fmt"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus"

	"github.com/dropoff-dev/dropoff/src/bus"
)

// Readiness. A role is ready when it can do its part on the queue: the
// command API send, the worker receive. Service Bus has no ping, and each
// role holds only its own right (Data Sender or Data Receiver), so each check
// does the cheapest real thing that right allows:
//
//   - PingSend asks the sender for an empty batch. The SDK first attaches the
//     sender link if it has none, or mends a broken one: a claims negotiation
//     that fails on a wrong namespace or queue, a missing Send right, or a
//     network that does not reach the service. On a healthy link it costs
//     nothing, so a probe every few seconds sends no traffic.
//   - PingReceive peeks at most one message of the dead-letter queue: a
//     round trip to the entity that needs the Listen right, and that locks,
//     moves and changes nothing. Its link is opened on first use and kept.

// PingSend reports whether messages can be sent to the queue.
func (b *Bus) PingSend(ctx context.Context) error {
	if b.isClosed() {
		return bus.ErrClosed
	}
	if _, err := b.sender.newBatch(ctx); err != nil {
		return fmt.Errorf("check sending to %s: %w", b.queue, err)
	}
	return nil
}

// PingReceive reports whether the queue can be received from.
func (b *Bus) PingReceive(ctx context.Context) error {
	r, err := b.pingReceiver()
	if err != nil {
		return fmt.Errorf("check receiving from %s: %w", b.queue, err)
	}
	if _, err := r.PeekMessages(ctx, 1, nil); err != nil {
		b.dropPinger(r) // the next check attaches a new link
		return fmt.Errorf("check receiving from %s: %w", b.queue, err)
	}
	return nil
}

func (b *Bus) pingReceiver() (dlqReceiver, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, bus.ErrClosed
	}
	if b.pinger == nil {
		r, err := b.dlq.openDeadLetters(azservicebus.ReceiveModePeekLock)
		if err != nil {
			return nil, err
		}
		b.pinger = r
	}
	return b.pinger, nil
}

func (b *Bus) dropPinger(r dlqReceiver) {
	b.mu.Lock()
	if b.pinger == r {
		b.pinger = nil
	}
	b.mu.Unlock()
	closeLink(context.Background(), r) // a peek link holds no locks: nothing to lose
}

// checkLock compares the lock the service granted a session with
// Settings.LockDuration, which the adapter times renewal by and the worker
// relies on. A queue deployed with another lockDuration than the adapter was
// told about shows here, in the log at the first accept, rather than as locks
// lost under load. The slack covers the accept's round trip and clock skew.
func (b *Bus) checkLock(lockedUntil time.Time) {
	if lockedUntil.IsZero() {
		return
	}
	granted, want := lockedUntil.Sub(b.cfg.Now()), b.settings.LockDuration
	slack := max(want/4, 3*time.Second)
	if granted < want-slack || granted > want+slack {
		b.log.Error("servicebus: the queue's lock duration is not the configured one: set DROPOFF_LOCK_DURATION to the queue's lockDuration",
			"granted_lock", granted.Round(time.Second).String(), "configured_lock", want.String())
	}
}
