package worker

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/dropoff-dev/dropoff/src/bus"
	"github.com/dropoff-dev/dropoff/src/command"
)

// process takes one message to one of its three endings and reports whether
// the session may go on with its next message:
//
//   - it cannot be decoded: dead-letter it at once (delivering it again
//     cannot help); the session goes on.
//   - its transaction committed (applied, a business failure recorded, or
//     found in the inbox): complete it; the session goes on.
//   - its transaction failed (database down, a conflict): wait a backoff,
//     abandon it so that the bus delivers it again or, past the max delivery
//     count, dead-letters it. The session ends here (see retry).
//
// If settling fails the session ends too; the message comes back, and the
// inbox makes processing it again harmless.
func (w *Worker) process(ctx context.Context, s bus.Session, m *bus.ReceivedMessage) bool {
	start := time.Now()
	defer func() { w.metrics.processing.Observe(time.Since(start).Seconds()) }()

	cmd, err := command.Decode(m.Message)
	if err != nil {
		return w.deadLetter(ctx, s, m, err)
	}
	log := w.log.With("operation_id", cmd.OperationID, "shipment_id", cmd.ShipmentID,
		"delivery_count", m.DeliveryCount)
	res, err := w.apply(ctx, cmd)
	if err != nil {
		return w.retry(ctx, s, m, log, err)
	}
	return w.complete(ctx, s, m, log, res)
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
	log := w.log.With("operation_id", operationIDOf(m), "shipment_id", m.SessionID,
		"delivery_count", m.DeliveryCount)
	sctx, cancel := w.detached(ctx)
	defer cancel()
	if err := s.DeadLetter(sctx, m, de.Reason, de.Description); err != nil {
		return w.settleFailed(log, "dead-letter", err)
	}
	w.metrics.outcome(outcomeDeadLettered)
	log.Warn("message dead-lettered", "reason", de.Reason, "description", de.Description, "error", err)
	return true
}

// complete removes a message whose transaction committed.
func (w *Worker) complete(ctx context.Context, s bus.Session, m *bus.ReceivedMessage, log *slog.Logger, res result) bool {
	sctx, cancel := w.detached(ctx)
	defer cancel()
	if err := s.Complete(sctx, m); err != nil {
		return w.settleFailed(log, "complete", err)
	}
	w.metrics.outcome(res.outcome)
	log.Debug("message completed", "outcome", res.outcome, "version", res.op.ResourceVersion)
	return true
}

// retry abandons a message whose transaction failed, after a backoff that
// grows with its delivery count. A shutdown cuts the wait short.
//
// It always ends the session: the messages this session received after m
// are still locked to it, and processing them now would apply them before m.
// Closing the session releases them, so they come back after m, in order.
func (w *Worker) retry(ctx context.Context, s bus.Session, m *bus.ReceivedMessage, log *slog.Logger, cause error) bool {
	d := w.backoff(m.DeliveryCount)
	log.Warn("command failed, abandoning it for a retry", "error", cause, "backoff", d)
	sleep(ctx, d)
	sctx, cancel := w.detached(ctx)
	defer cancel()
	if err := s.Abandon(sctx, m); err != nil {
		return w.settleFailed(log, "abandon", err)
	}
	w.metrics.outcome(outcomeRetried)
	return false
}

// settleFailed logs a failed settlement and ends the session. With
// bus.ErrLockLost another receiver may already hold the session: nothing more
// may be settled on this one.
func (w *Worker) settleFailed(log *slog.Logger, action string, err error) bool {
	if errors.Is(err, bus.ErrLockLost) {
		log.Warn("session lock lost; the message will be delivered again", "action", action, "error", err)
		return false
	}
	log.Warn("settle message failed; releasing the session", "action", action, "error", err)
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
