package servicebus

import (
	"context"

	"github.com/dropoff-dev/dropoff/src/bus"
)

// AcceptNextSession locks the next session with messages and returns it,
// with its lock renewal running. Service Bus waits for a session until ctx's
// deadline (without one, for the service's default of about a minute) and
// then answers CodeTimeout, which is bus.ErrNoSession here; a cancelled ctx
// gives ctx.Err(). Safe for concurrent use: each call attaches its own link
// on the shared connection.
func (b *Bus) AcceptNextSession(ctx context.Context) (bus.Session, error) {
	if b.isClosed() {
		return nil, bus.ErrClosed
	}
	r, err := b.acceptor.acceptNextSession(ctx)
	if err != nil {
		return nil, acceptError(ctx, b.queue, err)
	}
	lockedUntil := r.LockedUntil() // read before renewal starts, which updates it
	s := newSession(b, r)
	if !b.track(s) {
		// Close ran while we waited: give the session straight back.
		cctx, cancel := closing(ctx)
		_ = r.Close(cctx)
		cancel()
		return nil, bus.ErrClosed
	}
	b.lockChecked.Do(func() { b.checkLock(lockedUntil) })
	b.log.Debug("servicebus: session accepted", "session", s.id)
	return s, nil
}
