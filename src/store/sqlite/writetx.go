package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/dropoff-dev/dropoff/src/operation"
	"github.com/dropoff-dev/dropoff/src/shipment"
	"github.com/dropoff-dev/dropoff/src/store"
)

// writeTx is the store.WriteTx of one Update. Every read sees the file as
// this transaction leaves it: it holds the write lock, so nobody else writes.
type writeTx struct {
	tx    *sql.Tx          // the transaction, shared with the rest of the batch
	st    *writeStatements // the store's prepared statements,
	stmts *txStatements    // bound to tx once each
	now   func() time.Time
}

// stmt returns the prepared statement s bound to the transaction.
func (t *writeTx) stmt(ctx context.Context, s *sql.Stmt) *sql.Stmt { return t.stmts.stmt(ctx, s) }

var _ store.WriteTx = (*writeTx)(nil)

// shield checks that the caller is still there, then returns a context for
// the statements that the caller's cancellation cannot interrupt. The
// transaction is shared with other callers (group commit), and a statement
// interrupted by a cancelled context makes the driver discard the connection
// and with it everybody's transaction. A cancelled caller fails at its next
// statement instead, and its savepoint is rolled back.
func shield(ctx context.Context) (context.Context, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return context.WithoutCancel(ctx), nil
}

// Operation returns the recorded outcome of operation id: the inbox check.
func (t *writeTx) Operation(ctx context.Context, id string) (operation.Operation, bool, error) {
	ctx, err := shield(ctx)
	if err != nil {
		return operation.Operation{}, false, err
	}
	o, err := scanOperation(t.stmt(ctx, t.st.operation).QueryRowContext(ctx, id))
	if errors.Is(err, sql.ErrNoRows) {
		return operation.Operation{}, false, nil
	}
	if err != nil {
		return operation.Operation{}, false, fmt.Errorf("read operation %s: %w", id, err)
	}
	return o, true, nil
}

// Shipment returns the shipment's current state, a tombstone included.
func (t *writeTx) Shipment(ctx context.Context, id string) (shipment.Shipment, bool, error) {
	ctx, err := shield(ctx)
	if err != nil {
		return shipment.Shipment{}, false, err
	}
	var deleted bool
	s, err := scanShipment(t.stmt(ctx, t.st.shipment).QueryRowContext(ctx, id), &deleted)
	if errors.Is(err, sql.ErrNoRows) {
		return shipment.Shipment{}, false, nil
	}
	if err != nil {
		return shipment.Shipment{}, false, fmt.Errorf("read shipment %s: %w", id, err)
	}
	s.Deleted = deleted
	return s, true, nil
}

// IdempotencyKey returns the first use of a key digest.
func (t *writeTx) IdempotencyKey(ctx context.Context, keyDigest string) (store.IdempotencyKey, bool, error) {
	ctx, err := shield(ctx)
	if err != nil {
		return store.IdempotencyKey{}, false, err
	}
	k := store.IdempotencyKey{KeyDigest: keyDigest}
	err = t.stmt(ctx, t.st.idempotencyKey).QueryRowContext(ctx, keyDigest).Scan(&k.RequestDigest, &k.OperationID)
	if errors.Is(err, sql.ErrNoRows) {
		return store.IdempotencyKey{}, false, nil
	}
	if err != nil {
		return store.IdempotencyKey{}, false, fmt.Errorf("read idempotency key: %w", err)
	}
	return k, true, nil
}

// Record writes what one command leaves behind and appends its feed entry.
// It runs inside a savepoint, so a Record that fails (a conflict, say) leaves
// the transaction exactly as it found it, even if the caller went on.
func (t *writeTx) Record(ctx context.Context, r store.Record) error {
	if r.Operation.ID == "" {
		return errors.New("sqlite: record: operation has no id")
	}
	ctx, err := shield(ctx)
	if err != nil {
		return fmt.Errorf("record operation %s: %w", r.Operation.ID, err)
	}
	if _, err := t.stmt(ctx, t.st.savepointRecord).ExecContext(ctx); err != nil {
		return fmt.Errorf("record operation %s: %w", r.Operation.ID, err)
	}
	if err := t.record(ctx, r); err != nil {
		if _, rbErr := t.stmt(ctx, t.st.rollbackToRecord).ExecContext(ctx); rbErr != nil {
			return errors.Join(err, fmt.Errorf("roll back to savepoint: %w", rbErr))
		}
		return err
	}
	if _, err := t.stmt(ctx, t.st.releaseRecord).ExecContext(ctx); err != nil {
		return fmt.Errorf("record operation %s: %w", r.Operation.ID, err)
	}
	return nil
}

// record does Record's four writes; each reports a lost race as ErrConflict.
func (t *writeTx) record(ctx context.Context, r store.Record) error {
	if r.Shipment != nil {
		if err := t.saveShipment(ctx, *r.Shipment); err != nil {
			return err
		}
	}
	if err := t.saveOperation(ctx, r.Operation); err != nil {
		return err
	}
	if k := r.IdempotencyKey; k != nil {
		res, err := t.stmt(ctx, t.st.insertKey).ExecContext(ctx,
			k.KeyDigest, k.RequestDigest, k.OperationID, formatTime(t.now()))
		if err := conflictUnlessOneRow(res, err); err != nil {
			return fmt.Errorf("record idempotency key: %w", err)
		}
	}
	return t.appendChange(ctx, r)
}

// saveShipment is the optimistic version check and the write in one
// statement: version 1 inserts only where no row exists; version n updates
// only the row still at n-1.
func (t *writeTx) saveShipment(ctx context.Context, s shipment.Shipment) error {
	if s.Version < 1 {
		return fmt.Errorf("sqlite: record shipment %s: version %d, want at least 1", s.ID, s.Version)
	}
	var res sql.Result
	var err error
	if s.Version == 1 {
		res, err = t.stmt(ctx, t.st.insertShipment).ExecContext(ctx, append(shipmentArgs(s), s.Deleted)...)
	} else { // arguments in the order of updateShipment's placeholders (statements.go)
		res, err = t.stmt(ctx, t.st.updateShipment).ExecContext(ctx,
			s.Recipient, s.Destination, s.WeightGrams, string(s.Service), string(s.Status), s.Version,
			formatTime(s.CreatedAt), formatTime(s.UpdatedAt), s.Deleted, s.ID, s.Version-1)
	}
	if err := conflictUnlessOneRow(res, err); err != nil {
		return fmt.Errorf("record shipment %s version %d: %w", s.ID, s.Version, err)
	}
	return nil
}

// saveOperation inserts the operation, or replaces one that was dead-lettered
// (its message was resubmitted). Any other recorded outcome is final.
func (t *writeTx) saveOperation(ctx context.Context, o operation.Operation) error {
	res, err := t.stmt(ctx, t.st.saveOperation).ExecContext(ctx,
		append(operationArgs(o), string(operation.Failed), string(operation.CodeDeadLettered))...)
	if err := conflictUnlessOneRow(res, err); err != nil {
		return fmt.Errorf("record operation %s: %w", o.ID, err)
	}
	return nil
}

// conflictUnlessOneRow turns "the statement changed no row" into ErrConflict.
func conflictUnlessOneRow(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n != 1 {
		return store.ErrConflict
	}
	return nil
}
