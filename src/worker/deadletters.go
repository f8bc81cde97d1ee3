package worker

import (
	"context"
	"fmt"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/otel/trace"

	"github.com/dropoff-dev/dropoff/src/bus"
	"github.com/dropoff-dev/dropoff/src/command"
	"github.com/dropoff-dev/dropoff/src/operation"
	"github.com/dropoff-dev/dropoff/src/shipment"
	"github.com/dropoff-dev/dropoff/src/store"
)

// The dead-letter recorder gives every dead-lettered command an outcome.
//
// A message the bus dead-letters past its max delivery count was abandoned
// because its transaction kept failing, usually because the database was
// down; the worker could not record anything then. So the recorder watches the
// dead-letter queue and, once the database answers again, records each
// dead-lettered operation as Failed with code DeadLettered, so that a client
// polling it gets an answer instead of NotStarted forever. An operation that
// already has an outcome is left alone (the inbox rule again), so looking at
// a dead letter twice is harmless.
//
// Where to look: every DeadLetterScan the recorder peeks from a cursor, the
// sequence number after the last one it handled. But a dead letter keeps the
// sequence number it was sent with, and a message that was retried for a
// while is dead-lettered after later ones were: it lands behind the cursor.
// So every DeadLetterRescan the recorder scans the whole dead-letter queue
// again, skipping what it has handled already. Its state lives in memory;
// after a restart it starts with a full scan.

// A purge races the recorder: a dead letter removed before a scan met it
// would leave its operation NotStarted for good. So the administrator's purge
// goes through DeadLetterAdmin, which records each message's outcome, as a
// scan would, before the bus removes it; while the write database is down
// the purge stops, and the dead letters stay.

// DeadLetterAdmin is the dead-letter queue as an administrator handles it.
type DeadLetterAdmin struct {
	dl bus.DeadLetters
	w  *Worker
}

// DeadLetterAdmin returns the admin view of Config.DeadLetters (nil when it
// is not set).
func (w *Worker) DeadLetterAdmin() *DeadLetterAdmin {
	if w.cfg.DeadLetters == nil {
		return nil
	}
	return &DeadLetterAdmin{dl: w.cfg.DeadLetters, w: w}
}

// PeekDeadLetters is bus.DeadLetters.PeekDeadLetters.
func (a *DeadLetterAdmin) PeekDeadLetters(ctx context.Context, from int64, max int) ([]*bus.ReceivedMessage, error) {
	return a.dl.PeekDeadLetters(ctx, from, max)
}

// ResubmitDeadLetter is bus.DeadLetters.ResubmitDeadLetter. The copy's
// operation may have been recorded DeadLettered already; the worker applies
// the copy anyway (an outcome of DeadLettered does not count as done).
func (a *DeadLetterAdmin) ResubmitDeadLetter(ctx context.Context, seq int64) error {
	return a.dl.ResubmitDeadLetter(ctx, seq)
}

// PurgeDeadLetters removes the dead letters, recording each one's operation
// as Failed/DeadLettered first (unless it has an outcome already). It stops
// at the first message it cannot record, which stays.
func (a *DeadLetterAdmin) PurgeDeadLetters(ctx context.Context) (int, error) {
	return a.dl.PurgeDeadLetters(ctx, a.w.recordDeadLetter)
}

// peekBatch is how many dead letters one peek asks for.
const peekBatch = 100

// maxErrorMessage bounds the operation error message built from a dead
// letter's description, which comes from outside.
const maxErrorMessage = 1000

// deadLetterScanner is the recorder's state, owned by its one goroutine.
type deadLetterScanner struct {
	w *Worker
	// next is where an incremental scan starts.
	next int64
	// handled holds the sequence numbers already recorded (or with nothing to
	// record); it is pruned to what is still there after each full scan.
	handled map[int64]struct{}
}

// recordDeadLetters scans the dead-letter queue until ctx is done.
func (w *Worker) recordDeadLetters(ctx context.Context) {
	s := &deadLetterScanner{w: w, handled: map[int64]struct{}{}}
	t := time.NewTicker(w.cfg.DeadLetterScan)
	defer t.Stop()
	var lastFull time.Time // zero: a full scan is due
	for {
		full := lastFull.IsZero() || time.Since(lastFull) >= w.cfg.DeadLetterRescan
		err := s.scan(ctx, full)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			// Nothing is skipped: the next scan starts where this one stopped,
			// and a failed full scan stays due.
			w.log.Warn("dead-letter scan failed; will retry", "full", full, "error", err)
		case full:
			lastFull = time.Now()
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// scan records the dead letters it has not handled yet, in sequence order,
// from the cursor or, when full, from the start. It stops at the first
// failure, leaving the cursor on the message that failed.
func (s *deadLetterScanner) scan(ctx context.Context, full bool) error {
	from := s.next
	if full {
		from = 0
	}
	seen := map[int64]struct{}{}
	for {
		msgs, err := s.w.cfg.DeadLetters.PeekDeadLetters(ctx, from, peekBatch)
		if err != nil {
			return fmt.Errorf("peek dead letters from %d: %w", from, err)
		}
		for _, m := range msgs {
			seen[m.SequenceNumber] = struct{}{}
			if _, ok := s.handled[m.SequenceNumber]; !ok {
				if err := s.w.recordDeadLetter(ctx, m); err != nil {
					return fmt.Errorf("dead letter %d: %w", m.SequenceNumber, err)
				}
				s.handled[m.SequenceNumber] = struct{}{}
			}
			from = max(from, m.SequenceNumber+1)
			s.next = max(s.next, from)
		}
		if len(msgs) < peekBatch {
			break
		}
	}
	if full {
		// Forget what was resubmitted or purged meanwhile, so that the set
		// stays as small as the dead-letter queue.
		for seq := range s.handled {
			if _, ok := seen[seq]; !ok {
				delete(s.handled, seq)
			}
		}
	}
	return nil
}

// recordDeadLetter records m's operation as Failed/DeadLettered unless it
// already has an outcome. It reads only the message's envelope, not its body:
// poison messages land here too.
func (w *Worker) recordDeadLetter(ctx context.Context, m *bus.ReceivedMessage) (err error) {
	id := operationIDOf(m)
	if kind, _ := operation.ParseID(id); kind == operation.IDInvalid {
		w.log.Debug("dead letter has no operation id, nothing to record", "sequence", m.SequenceNumber)
		return nil
	}
	if shipment.ValidateID(command.ShipmentOf(m.Message)) != nil {
		// The command API never sends such a message, so no client waits on it.
		w.log.Debug("dead letter has no valid shipment id, nothing to record", "sequence", m.SequenceNumber)
		return nil
	}
	op := deadLetterOperation(m, id, w.cfg.Now())
	// In the command's trace, a child of its send, as its processing was;
	// the feed entry keeps this span's context, as a transaction's.
	ctx, span := w.startFromMessage(ctx, m, "record dead letter", trace.SpanKindConsumer)
	defer func() { endSpan(span, err) }()
	traceparent := w.traceparent(ctx)
	recorded := false
	err = w.store.Update(ctx, func(ctx context.Context, tx store.WriteTx) error {
		recorded = false
		_, found, err := tx.Operation(ctx, id)
		if err != nil {
			return fmt.Errorf("load operation: %w", err)
		}
		if found {
			return nil // it has an outcome already: leave it
		}
		if err := tx.Record(ctx, store.Record{Operation: op, Traceparent: traceparent}); err != nil {
			return fmt.Errorf("record outcome: %w", err)
		}
		recorded = true
		return nil
	})
	if err != nil {
		return fmt.Errorf("record dead-lettered operation %s: %w", id, err)
	}
	if recorded {
		w.metrics.deadLettersRecorded.Inc()
		w.observe(Outcome{Operation: op})
		w.log.WarnContext(ctx, "operation failed: its message was dead-lettered", "operation_id", id,
			"shipment_id", command.ShipmentOf(m.Message), "delivery_count", m.DeliveryCount,
			"reason", m.DeadLetterReason, "description", m.DeadLetterDescription)
	}
	return nil
}

// deadLetterOperation is the outcome recorded for dead letter m of operation id.
func deadLetterOperation(m *bus.ReceivedMessage, id string, now time.Time) operation.Operation {
	return operation.Operation{
		ID: id, Kind: knownKind(m.Subject), ShipmentID: command.ShipmentOf(m.Message), Status: operation.Failed,
		Error:     &operation.Error{Code: operation.CodeDeadLettered, Message: deadLetterMessage(m)},
		CreatedAt: acceptedAt(m, now), LastUpdatedAt: now,
	}
}

// knownKind returns subject when it is a command kind, "" otherwise.
func knownKind(subject string) string {
	if _, ok := command.SpecOf(command.Kind(subject)); ok {
		return subject
	}
	return ""
}

// acceptedAt is when the command API accepted m: its acceptedAt property,
// else when the bus enqueued it, else now.
func acceptedAt(m *bus.ReceivedMessage, now time.Time) time.Time {
	if t, err := time.Parse(time.RFC3339Nano, m.Properties[command.PropAcceptedAt]); err == nil {
		return t
	}
	if !m.EnqueuedAt.IsZero() {
		return m.EnqueuedAt
	}
	return now
}

// deadLetterMessage is the operation error message for a dead letter.
func deadLetterMessage(m *bus.ReceivedMessage) string {
	reason := m.DeadLetterReason
	if reason == "" {
		reason = "no reason given"
	}
	s := "the command was dead-lettered: " + reason
	if m.DeadLetterDescription != "" {
		s += ": " + m.DeadLetterDescription
	}
	return truncate(s, maxErrorMessage)
}

// truncate cuts s to at most n bytes without splitting a UTF-8 character.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
