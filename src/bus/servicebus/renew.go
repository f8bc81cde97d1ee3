package servicebus

import (
	"context"
	"fmt"
	"time"
)

// The Go SDK does not renew session locks by itself. Each Session runs one
// goroutine that does, from AcceptNextSession until Close, which stops it and
// waits for it: the goroutine has an owner and never outlives the Session.
//
// When to renew: about halfway through the lock. Two clocks say where
// "halfway" is, and the earlier wins:
//   - ours: LockDuration/2 after the last successful renewal (or the accept);
//   - the service's: half the time left until SessionReceiver.LockedUntil().
//
// Taking the earlier keeps a skewed local clock from delaying a renewal in
// either direction, and a floor (LockDuration/20) keeps a lock that looks
// already expired from being renewed in a tight loop.
//
// What a failure means:
//   - CodeLockLost, CodeConnectionLost, CodeClosed: the session is gone; mark
//     it lost (every later call returns bus.ErrLockLost) and stop;
//   - anything else (the service busy, a timeout after the SDK's own retries):
//     try again soon, until a whole LockDuration has passed since the last
//     success; then the lock has certainly run out, so mark it lost.

// startRenewal launches the renewal goroutine. Called once, by Bus.track.
func (s *Session) startRenewal() {
	ctx, cancel := context.WithCancel(context.Background())
	s.stopRenewal = cancel
	go s.renewLoop(ctx)
}

func (s *Session) renewLoop(ctx context.Context) {
	defer close(s.renewalDone)
	lockDuration := s.b.settings.LockDuration
	now := s.b.cfg.Now
	last := now() // the lock was taken a moment ago
	until := s.r.LockedUntil()
	for {
		if !s.wait(ctx, renewDelay(now(), until, last, lockDuration)) {
			return
		}
		err := s.renewOnce(ctx, lockDuration-now().Sub(last))
		switch {
		case err == nil:
			last, until = now(), s.r.LockedUntil()
			s.b.metrics.renewals.WithLabelValues("ok").Inc()
		case ctx.Err() != nil:
			return // Close, while renewing
		case sessionGone(err):
			s.lose(fmt.Errorf("renew session lock: %w", err))
			return
		case now().Sub(last) >= lockDuration:
			s.lose(fmt.Errorf("session lock not renewed for %v: %w", lockDuration, err))
			return
		default:
			s.b.metrics.renewals.WithLabelValues("error").Inc()
			s.b.log.Warn("servicebus: session lock renewal failed; retrying", "session", s.id, "error", err)
		}
	}
}

// renewOnce renews the lock, giving up when the lock would have ended anyway.
func (s *Session) renewOnce(ctx context.Context, left time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, max(left, minRenewDelay(s.b.settings.LockDuration)))
	defer cancel()
	return s.r.RenewSessionLock(ctx, nil)
}

func (s *Session) lose(err error) {
	s.markLost(err)
	s.b.metrics.renewals.WithLabelValues("lost").Inc()
	s.b.log.Info("servicebus: session lock lost", "session", s.id, "error", err)
}

// wait waits d on the Bus's clock; false if ctx ended first.
func (s *Session) wait(ctx context.Context, d time.Duration) bool {
	c, stop := s.b.newTimer(d)
	select {
	case <-ctx.Done():
		stop()
		return false
	case <-c:
		return true
	}
}

// renewDelay is how long to wait before the next renewal (see above).
func renewDelay(now, lockedUntil, lastRenewed time.Time, lockDuration time.Duration) time.Duration {
	d := lockDuration/2 - now.Sub(lastRenewed)
	if !lockedUntil.IsZero() {
		if left := lockedUntil.Sub(now); left > 0 && left/2 < d {
			d = left / 2
		}
	}
	return max(d, minRenewDelay(lockDuration))
}

func minRenewDelay(lockDuration time.Duration) time.Duration {
	return max(lockDuration/20, 10*time.Millisecond)
}
