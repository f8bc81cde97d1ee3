package worker

import (
	"context"
	"fmt"
	"time"

	"github.com/dropoff-dev/dropoff/src/command"
	"github.com/dropoff-dev/dropoff/src/operation"
	"github.com/dropoff-dev/dropoff/src/shipment"
	"github.com/dropoff-dev/dropoff/src/store"
)

// outcome is what happened to one message; it labels the messages metric.
type outcome string

const (
	outcomeSucceeded    outcome = "succeeded"     // applied, operation Succeeded
	outcomeFailed       outcome = "failed"        // a business failure recorded, operation Failed
	outcomeDuplicate    outcome = "duplicate"     // found in the inbox: applied before
	outcomeDeadLettered outcome = "dead_lettered" // not decodable: dead-lettered at once
	outcomeRetried      outcome = "retried"       // transient failure: abandoned for a retry
)

// result is what the transaction of one command decided.
type result struct {
	outcome outcome
	op      operation.Operation // the recorded operation; zero for a duplicate
}

// transact runs one command in one write transaction: the inbox check, the
// decision, the new state, the operation's outcome and the change-feed entry
// (written by Record) commit together or not at all. A business failure is a
// result, not an error; an error means nothing was kept and the command may be
// retried.
//
// It runs in a span of its own, a child of the message's; the feed entry
// keeps that span's trace context, which the projector links to.
func (w *Worker) transact(ctx context.Context, cmd command.Command) (_ result, err error) {
	ctx, span := w.tracer.Start(ctx, "transact "+string(cmd.Kind))
	defer func() { endSpan(span, err) }()
	uctx, cancel := w.detached(ctx)
	defer cancel()
	now := w.cfg.Now()
	var res result
	traceparent := w.traceparent(ctx)
	err = w.store.Update(uctx, func(ctx context.Context, tx store.WriteTx) error {
		rec, applied, err := Decide(ctx, tx, cmd, now)
		if err != nil {
			return err
		}
		if applied {
			res = result{outcome: outcomeDuplicate}
			return nil
		}
		rec.Traceparent = traceparent
		if err := tx.Record(ctx, rec); err != nil {
			return fmt.Errorf("record outcome: %w", err)
		}
		res = result{outcome: outcomeSucceeded, op: rec.Operation}
		if rec.Operation.Status == operation.Failed {
			res.outcome = outcomeFailed
		}
		return nil
	})
	if err != nil {
		return result{}, fmt.Errorf("apply operation %s: %w", cmd.OperationID, err)
	}
	return res, nil
}

// Decide is the body of a command's write transaction: it reads what it
// needs inside tx (the inbox, the Idempotency-Key, the shipment) and returns
// the record the command leaves behind, or applied=true when the inbox shows
// it was processed before. A business failure is a record of a Failed
// operation; an error means the transaction must not commit. The worker runs
// it for every message; anything else that applies a command runs it too,
// so that all decide alike.
func Decide(ctx context.Context, tx store.WriteTx, cmd command.Command, now time.Time) (rec store.Record, applied bool, err error) {
	prev, found, err := tx.Operation(ctx, cmd.OperationID)
	if err != nil {
		return store.Record{}, false, fmt.Errorf("load operation: %w", err)
	}
	// The inbox: a recorded outcome means this message was processed already
	// (a redelivery after a lost Complete, or a duplicate send). The one
	// exception is a dead-lettered operation, which an admin may resubmit.
	if found && !deadLettered(prev) {
		return store.Record{}, true, nil
	}

	rec.Operation = newOperation(cmd, now)
	key, reusedBy, err := checkKey(ctx, tx, cmd)
	if err != nil {
		return store.Record{}, false, err
	}
	if reusedBy != "" {
		// The same Idempotency-Key came with a different request: refuse it
		// and change nothing.
		rec.Operation.Status = operation.Failed
		rec.Operation.Error = &operation.Error{Code: operation.CodeIdempotencyKeyReused,
			Message: "the Idempotency-Key was first used with a different request (operation " + reusedBy + ")"}
		return rec, false, nil
	}
	rec.IdempotencyKey = key

	cur, exists, err := tx.Shipment(ctx, cmd.ShipmentID)
	if err != nil {
		return store.Record{}, false, fmt.Errorf("load shipment: %w", err)
	}
	next, change, err := decideShipment(cmd, cur, exists, now)
	if opErr, ok := operation.ErrorFor(err); ok {
		rec.Operation.Status, rec.Operation.Error = operation.Failed, opErr
		return rec, false, nil
	}
	if err != nil {
		return store.Record{}, false, err
	}
	rec.Operation.Status, rec.Operation.ResourceVersion = operation.Succeeded, next.Version
	rec.Shipment, rec.Change = &next, change
	return rec, false, nil
}

// newOperation starts the operation record of cmd; its status and result
// are filled in by the decision.
func newOperation(cmd command.Command, now time.Time) operation.Operation {
	createdAt := cmd.AcceptedAt
	if createdAt.IsZero() {
		createdAt = now // an old message without acceptedAt
	}
	return operation.Operation{
		ID: cmd.OperationID, Kind: string(cmd.Kind), ShipmentID: cmd.ShipmentID,
		CreatedAt: createdAt, LastUpdatedAt: now,
	}
}

// checkKey looks up the command's Idempotency-Key, scoped to its shipment
// (command.KeyScope). It returns the key to remember when it is new, or the
// operation that first used it when that was a different request.
func checkKey(ctx context.Context, tx store.WriteTx, cmd command.Command) (newKey *store.IdempotencyKey, reusedBy string, err error) {
	scope := cmd.KeyScope()
	if scope == "" {
		return nil, "", nil
	}
	k, found, err := tx.IdempotencyKey(ctx, scope)
	if err != nil {
		return nil, "", fmt.Errorf("load idempotency key: %w", err)
	}
	if found {
		if k.OperationID != cmd.OperationID {
			return nil, k.OperationID, nil
		}
		return nil, "", nil // remembered by an earlier delivery of this operation
	}
	digest, err := cmd.Digest()
	if err != nil {
		return nil, "", fmt.Errorf("digest request: %w", err)
	}
	return &store.IdempotencyKey{KeyDigest: scope, RequestDigest: digest, OperationID: cmd.OperationID}, "", nil
}

// decideShipment asks the command's kind for the next state; its errors are
// business failures (see operation.ErrorFor).
func decideShipment(cmd command.Command, cur shipment.Shipment, exists bool, now time.Time) (shipment.Shipment, shipment.ChangeType, error) {
	spec, ok := command.SpecOf(cmd.Kind)
	if !ok { // command.Decode refuses unknown kinds, so this is a programming error
		return shipment.Shipment{}, "", fmt.Errorf("decide: unknown command kind %q", cmd.Kind)
	}
	return spec.Decide(cmd, cur, exists, now)
}

// deadLettered reports whether op ended because its message was dead-lettered.
func deadLettered(op operation.Operation) bool {
	return op.Status == operation.Failed && op.Error != nil && op.Error.Code == operation.CodeDeadLettered
}
