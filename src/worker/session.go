package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/dropoff-dev/dropoff/src/backoff"
	"github.com/dropoff-dev/dropoff/src/bus"
)

// slot is one of the worker's MaxSessions session loops. Having exactly
// MaxSessions of them is the semaphore that caps concurrency: a slot holds at
// most one session at a time, and takes the next only after closing the last.
// It returns nil when ctx is done, or an error when the receiver is closed.
func (w *Worker) slot(ctx context.Context) error {
	failures := 0
	for ctx.Err() == nil {
		if !w.breaker.admit(ctx) {
			return nil // shutdown while the write database was down
		}
		s, err := w.accept(ctx)
		switch {
		case err == nil:
			failures = 0
			w.hold(ctx, s)
		case ctx.Err() != nil:
			return nil // shutdown: stop accepting
		case errors.Is(err, bus.ErrNoSession):
			// No work within AcceptTimeout. The adapter did the waiting, so
			// asking again at once is not a busy loop.
		case errors.Is(err, bus.ErrClosed):
			return fmt.Errorf("accept session: %w", err)
		default:
			failures++
			d := w.backoff(failures)
			w.log.Warn("accept session failed", "error", err, "attempt", failures, "backoff", d)
			backoff.Sleep(ctx, d)
		}
	}
	return nil
}

// accept waits up to AcceptTimeout for a session with messages.
func (w *Worker) accept(ctx context.Context) (bus.Session, error) {
	actx, cancel := context.WithTimeout(ctx, w.cfg.AcceptTimeout)
	defer cancel()
	s, err := w.receiver.AcceptNextSession(actx)
	if err != nil && errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
		// Our own AcceptTimeout passed: the same "no work" as ErrNoSession,
		// whichever of the two the adapter chose to report.
		return nil, bus.ErrNoSession
	}
	return s, err
}

// hold processes a session's messages, strictly in order and one at a time,
// until the session is idle for IdleTimeout, has been held for
// MaxSessionHold, can no longer be used, or ctx is done. Then it closes the
// session, which releases its lock: any message received but not processed
// becomes available again and is delivered anew.
func (w *Worker) hold(ctx context.Context, s bus.Session) {
	w.metrics.sessions.Inc()
	defer w.metrics.sessions.Dec()
	log := w.log.With("session", s.ID())
	log.Debug("session accepted")
	defer w.closeSession(ctx, s, log)

	handBack := w.cfg.Now().Add(w.cfg.MaxSessionHold)
	for ctx.Err() == nil {
		msgs, err := w.receive(ctx, s)
		switch {
		case ctx.Err() != nil:
			return
		case errors.Is(err, context.DeadlineExceeded):
			log.Debug("session idle, releasing it")
			return
		case errors.Is(err, bus.ErrLockLost):
			log.Warn("session lock lost while receiving, releasing it")
			return
		case err != nil:
			log.Warn("receive failed, releasing the session", "error", err)
			return
		}
		for i, m := range msgs {
			if ctx.Err() != nil {
				// Shutdown: these messages were received but not started.
				// Closing the session releases them; they are delivered again.
				log.Debug("shutting down, leaving messages unsettled", "count", len(msgs)-i)
				return
			}
			if !w.process(ctx, s, m) {
				return
			}
		}
		if w.cfg.Now().After(handBack) {
			// Fairness: other shipments may be waiting for a slot.
			log.Debug("session held for MaxSessionHold, handing it back")
			return
		}
	}
}

// receive waits up to IdleTimeout for the session's next messages; an idle
// session returns context.DeadlineExceeded.
func (w *Worker) receive(ctx context.Context, s bus.Session) ([]*bus.ReceivedMessage, error) {
	rctx, cancel := context.WithTimeout(ctx, w.cfg.IdleTimeout)
	defer cancel()
	return s.Receive(rctx, w.cfg.ReceiveBatch)
}

// closeSession releases the session even during shutdown: the next holder
// must not wait for the lock to expire.
func (w *Worker) closeSession(ctx context.Context, s bus.Session, log *slog.Logger) {
	cctx, cancel := w.detached(ctx)
	defer cancel()
	if err := s.Close(cctx); err != nil {
		log.Warn("close session failed", "error", err)
		return
	}
	log.Debug("session closed")
}
