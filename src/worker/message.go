package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"time"

	"github.com/dropoff-dev/dropoff/src/backoff"
	"github.com/dropoff-dev/dropoff/src/bus"
	"github.com/dropoff-dev/dropoff/src/command"
	"github.com/dropoff-dev/dropoff/src/store"
)

// process takes one message to one of its three endings and reports whether
// the session may go on with its next message:
//
//   - it cannot be decoded: dead-letter it at once (delivering it again
//     cannot help); the session goes on.
//   - its transaction committed (applied, a business failure recorded, or
//     found in the inbox): complete it; the session goes on.
//   - its transaction failed for good (not a transient failure of the store,
//     a panic, or an outage longer than MaxOutage): wait a backoff, abandon it
//     so that the bus delivers it again or, past the max delivery count,
//     dead-letters it. The session ends here (see retry).
//
// While the store fails transiently the message is retried in place
// (transactInPlace): that spends no delivery. If settling fails the session ends
// too; the message comes back, and the inbox makes processing it again
// harmless.
//
// All of it runs in the message's consumer span (tracing.go), whose context
// every log line carries.
func (w *Worker) process(ctx context.Context, s bus.Session, m *bus.ReceivedMessage) bool {
	start := time.Now()
	defer func() { w.metrics.processing.Observe(time.Since(start).Seconds()) }()
	ctx, span := w.startProcessing(ctx, m)
	defer span.End()

	cmd, err := decode(m)
	if err != nil {
		return w.deadLetter(ctx, s, m, err)
	}
	log := w.log.With("operation_id", cmd.OperationID, "shipment_id", cmd.ShipmentID,
		"delivery_count", m.DeliveryCount)
	res, err := w.transactInPlace(ctx, cmd, log)
	var pe *panicError
	switch {
	case err == nil:
		return w.complete(ctx, s, m, log, res)
	case errors.Is(err, errShutdown):
		// Shutdown while waiting out the store: the message was not applied.
		// Closing the session gives it back with no delivery spent.
		log.DebugContext(ctx, "shutting down during a retry; leaving the message unsettled")
		return false
	case errors.As(err, &pe):
		w.metrics.panics.Inc()
		log.ErrorContext(ctx, "processing the command panicked (a bug): the message is abandoned, and dead-lettered past the max delivery count",
			"panic", fmt.Sprint(pe.value), "stack", string(pe.stack))
	}
	return w.retry(ctx, s, m, log, err)
}

// decode decodes m into a command, a panic included: the decoder's bug must
// not take the worker down with the message.
func decode(m *bus.ReceivedMessage) (cmd command.Command, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = &command.DecodeError{Reason: command.ReasonMalformed, Description: fmt.Sprintf("the decoder panicked: %v", p)}
		}
	}()
	return command.Decode(m.Message)
}

// errShutdown ends a retry in place when the worker shuts down.
var errShutdown = errors.New("worker: shutting down")

// panicError is a panic while applying a command: a bug, for this message at
// least. It is no transient failure, so the message is abandoned and spends a
// delivery; past the max delivery count it is dead-lettered, and the session
// and the other sessions go on.
type panicError struct {
	value any
	stack []byte
}

func (e *panicError) Error() string { return fmt.Sprintf("panic: %v", e.value) }

// transactInPlace applies cmd, retrying it in place while the write store fails
// transiently: the session's lock is renewed meanwhile, nothing is settled,
// and no delivery is spent, so an outage shorter than MaxOutage costs the
// command nothing but time. The breaker stops the other slots from taking new
// sessions meanwhile. A write conflict is retried a few times; anything else,
// a panic included, is returned at once.
func (w *Worker) transactInPlace(ctx context.Context, cmd command.Command, log *slog.Logger) (result, error) {
	var firstFailure time.Time
	for attempt := 1; ; attempt++ {
		res, err := w.transactContained(ctx, cmd)
		switch {
		case err == nil:
			w.breaker.succeed()
			return res, nil
		case errors.Is(err, store.ErrConflict) && attempt < maxConflictRetries:
			// Another transaction got there first: run it again, now.
		case errors.Is(err, store.ErrUnavailable), errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil:
			now := w.cfg.Now()
			if firstFailure.IsZero() {
				firstFailure = now
			}
			w.breaker.fail(err)
			if down := now.Sub(firstFailure); down >= w.cfg.MaxOutage {
				return result{}, fmt.Errorf("write database unavailable for %v, past MaxOutage: %w", down.Round(time.Second), err)
			}
			d := w.backoff(attempt)
			w.metrics.inPlaceRetries.Inc()
			log.WarnContext(ctx, "write database unavailable; retrying the command in place", "error", err, "attempt", attempt, "backoff", d.String())
			if !backoff.Sleep(ctx, d) {
				return result{}, errShutdown
			}
		default:
			return result{}, err
		}
	}
}

// maxConflictRetries bounds the in-place retries of a write conflict. Within
// a session there is one writer per shipment, so a conflict is a race with a
// redelivery or a resubmitted dead letter, and the next attempt sees its
// outcome.
const maxConflictRetries = 3

// transactContained is transact with a panic turned into a *panicError.
func (w *Worker) transactContained(ctx context.Context, cmd command.Command) (res result, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = &panicError{value: p, stack: debug.Stack()}
		}
	}()
	return w.transact(ctx, cmd)
}

// deadLetter moves a message that is not a command this worker can process to
// the dead-letter queue, with the decoder's reason and description.
func (w *Worker) deadLetter(ctx context.Context, s bus.Session, m *bus.ReceivedMessage, err error) bool {
	var de *command.DecodeError
	if !errors.As(err, &de) {
		// Decode promises a *DecodeError; anything else is still a message we
		// cannot read, and retrying cannot change that.
		de = &command.DecodeError{Reason: command.ReasonMalformed, Description: err.Error()}
	}
	log := w.log.With("operation_id", operationIDOf(m), "shipment_id", command.ShipmentOf(m.Message), "session", m.SessionID,
		"delivery_count", m.DeliveryCount)
	sctx, cancel := w.detached(ctx)
	defer cancel()
	if err := s.DeadLetter(sctx, m, de.Reason, de.Description); err != nil {
		return w.settleFailed(ctx, log, "dead-letter", err)
	}
	w.metrics.outcome(outcomeDeadLettered)
	traceOutcome(ctx, outcomeDeadLettered, err)
	w.observeDeadLetter(m, de)
	log.WarnContext(ctx, "message dead-lettered", "reason", de.Reason, "description", de.Description, "error", err)
	return true
}

// complete removes a message whose transaction committed.
func (w *Worker) complete(ctx context.Context, s bus.Session, m *bus.ReceivedMessage, log *slog.Logger, res result) bool {
	sctx, cancel := w.detached(ctx)
	defer cancel()
	if err := s.Complete(sctx, m); err != nil {
		return w.settleFailed(ctx, log, "complete", err)
	}
	w.metrics.outcome(res.outcome)
	traceOutcome(ctx, res.outcome, nil)
	w.observeApplied(res)
	if res.op.ID != "" && !res.op.CreatedAt.IsZero() { // not a duplicate: this delivery applied it
		w.metrics.acceptToApplied.Observe(max(0, w.cfg.Now().Sub(res.op.CreatedAt).Seconds()))
	}
	log.DebugContext(ctx, "message completed", "outcome", res.outcome, "version", res.op.ResourceVersion)
	return true
}

// retry abandons a message whose transaction failed for good, after a backoff
// that grows with its delivery count. A shutdown cuts the wait short.
//
// It always ends the session: the messages this session received after m
// are still locked to it, and processing them now would apply them before m.
// Closing the session releases them, so they come back after m, in order.
func (w *Worker) retry(ctx context.Context, s bus.Session, m *bus.ReceivedMessage, log *slog.Logger, cause error) bool {
	d := w.backoff(m.DeliveryCount)
	log.WarnContext(ctx, "command failed, abandoning it for a retry", "error", cause, "backoff", d)
	backoff.Sleep(ctx, d)
	sctx, cancel := w.detached(ctx)
	defer cancel()
	if err := s.Abandon(sctx, m); err != nil {
		return w.settleFailed(ctx, log, "abandon", err)
	}
	w.metrics.outcome(outcomeRetried)
	traceOutcome(ctx, outcomeRetried, cause)
	return false
}

// settleFailed logs a failed settlement and ends the session. With
// bus.ErrLockLost another receiver may already hold the session: nothing more
// may be settled on this one.
func (w *Worker) settleFailed(ctx context.Context, log *slog.Logger, action string, err error) bool {
	if errors.Is(err, bus.ErrLockLost) {
		log.WarnContext(ctx, "session lock lost; the message will be delivered again", "action", action, "error", err)
		return false
	}
	log.WarnContext(ctx, "settle message failed; releasing the session", "action", action, "error", err)
	return false
}

// operationIDOf reads a message's operation id without decoding it: the
// operationId property, else the message id (they are the same when the
// command API sent it).
func operationIDOf(m *bus.ReceivedMessage) string {
	if id := m.Properties[command.PropOperationID]; id != "" {
		return id
	}
	return m.ID
}
