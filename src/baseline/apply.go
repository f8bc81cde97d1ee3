package baseline

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/dropoff-dev/dropoff/src/command"
	"github.com/dropoff-dev/dropoff/src/operation"
	"github.com/dropoff-dev/dropoff/src/store"
	"github.com/dropoff-dev/dropoff/src/worker"
)

// conflictRetries is how often Apply retries a transaction that raced
// another write (store.ErrConflict). A worker retries through the bus
// instead; a request has no bus, so it retries here, a few times only.
const conflictRetries = 3

// Apply runs cmd in one write transaction on ws, the worker's own
// (worker.Decide), and returns the operation it ended in: Succeeded, or
// Failed with a business error. An operation applied
// before (the same operation id: a retried Idempotency-Key) is not applied
// again; its recorded outcome is returned. An error means nothing was kept.
func Apply(ctx context.Context, ws store.WriteStore, cmd command.Command, now time.Time) (operation.Operation, error) {
	var err error
	for range conflictRetries {
		var op operation.Operation
		if op, err = applyOnce(ctx, ws, cmd, now); !errors.Is(err, store.ErrConflict) {
			return op, err
		}
	}
	return operation.Operation{}, err
}

// applyOnce is one attempt of Apply.
func applyOnce(ctx context.Context, ws store.WriteStore, cmd command.Command, now time.Time) (operation.Operation, error) {
	var op operation.Operation
	err := ws.Update(ctx, func(ctx context.Context, tx store.WriteTx) error {
		rec, applied, err := worker.Decide(ctx, tx, cmd, now)
		if err != nil {
			return err
		}
		if applied {
			prev, _, err := tx.Operation(ctx, cmd.OperationID)
			if err != nil {
				return fmt.Errorf("load operation: %w", err)
			}
			op = prev
			return nil
		}
		if err := tx.Record(ctx, rec); err != nil {
			return fmt.Errorf("record outcome: %w", err)
		}
		op = rec.Operation
		return nil
	})
	if err != nil {
		return operation.Operation{}, fmt.Errorf("apply operation %s: %w", cmd.OperationID, err)
	}
	return op, nil
}
