package sqlserver

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

// writeTx is one Update's transaction.
//
// Its reads are reads-before-writes, so each takes an update lock held to the
// end of the transaction: WITH (UPDLOCK, HOLDLOCK). UPDLOCK makes a second
// reader of the same row wait (update locks do not share with each other);
// HOLDLOCK keeps the lock, and for a row that does not exist yet locks the
// key range where it would be, so two commands creating the same shipment
// also take turns. These hints also make the read a locking read when the
// database has READ_COMMITTED_SNAPSHOT on (the Azure SQL default), so fn
// decides on the latest committed state, not on a version of it.
type writeTx struct {
	tx  *sql.Tx
	now func() time.Time
}

var _ store.WriteTx = (*writeTx)(nil)

func (t *writeTx) Operation(ctx context.Context, id string) (operation.Operation, bool, error) {
	row := t.tx.QueryRowContext(ctx, `
SELECT `+operationColumns+` FROM dbo.operations WITH (UPDLOCK, HOLDLOCK) WHERE id = @id;`,
		sql.Named("id", id))
	o, err := scanOperation(row)
	if errors.Is(err, sql.ErrNoRows) {
		return operation.Operation{}, false, nil
	}
	if err != nil {
		return operation.Operation{}, false, fmt.Errorf("sqlserver: read operation %s: %w", id, classify(err))
	}
	return o, true, nil
}

func (t *writeTx) Shipment(ctx context.Context, id string) (shipment.Shipment, bool, error) {
	row := t.tx.QueryRowContext(ctx, `
SELECT `+shipmentColumns+`, deleted FROM dbo.shipments WITH (UPDLOCK, HOLDLOCK) WHERE id = @id;`,
		sql.Named("id", id))
	s, err := scanWriteShipment(row)
	if errors.Is(err, sql.ErrNoRows) {
		return shipment.Shipment{}, false, nil
	}
	if err != nil {
		return shipment.Shipment{}, false, fmt.Errorf("sqlserver: read shipment %s: %w", id, classify(err))
	}
	return s, true, nil
}

func (t *writeTx) IdempotencyKey(ctx context.Context, keyDigest string) (store.IdempotencyKey, bool, error) {
	k := store.IdempotencyKey{KeyDigest: keyDigest}
	err := t.tx.QueryRowContext(ctx, `
SELECT request_digest, operation_id FROM dbo.idempotency_keys WITH (UPDLOCK, HOLDLOCK) WHERE key_digest = @key;`,
		sql.Named("key", keyDigest)).Scan(&k.RequestDigest, &k.OperationID)
	if errors.Is(err, sql.ErrNoRows) {
		return store.IdempotencyKey{}, false, nil
	}
	if err != nil {
		return store.IdempotencyKey{}, false, fmt.Errorf("sqlserver: read idempotency key: %w", classify(err))
	}
	return k, true, nil
}

// Record writes the shipment (version-checked), the operation, the
// idempotency key and one change-feed entry. The feed entry goes last: its
// rowversion holds MIN_ACTIVE_ROWVERSION() back, and so holds the projector
// back, from the moment it is written until this transaction ends.
//
// Record runs inside a savepoint. SQL Server undoes only the failing
// statement of a batch, not the statements before it, so without one a
// Record that failed at the operation would leave its shipment written, and a
// caller that went on and committed would keep half a command.
func (t *writeTx) Record(ctx context.Context, r store.Record) error {
	if r.Operation.ID == "" {
		return errors.New("sqlserver: record: operation has no id")
	}
	if _, err := t.tx.ExecContext(ctx, "SAVE TRANSACTION record;"); err != nil {
		return fmt.Errorf("sqlserver: record operation %s: %w", r.Operation.ID, classify(err))
	}
	if err := t.record(ctx, r); err != nil {
		// After a deadlock the server has already rolled back the whole
		// transaction and there is no savepoint left; the error says conflict
		// either way, and Update will roll back.
		if _, rbErr := t.tx.ExecContext(ctx, "IF XACT_STATE() = 1 ROLLBACK TRANSACTION record;"); rbErr != nil {
			return errors.Join(err, fmt.Errorf("sqlserver: roll back to savepoint: %w", rbErr))
		}
		return err
	}
	return nil
}

// record does Record's writes; each reports a lost race as store.ErrConflict.
func (t *writeTx) record(ctx context.Context, r store.Record) error {
	if r.Shipment != nil {
		if err := t.saveShipment(ctx, *r.Shipment); err != nil {
			return err
		}
	}
	if err := t.saveOperation(ctx, r.Operation); err != nil {
		return err
	}
	if r.IdempotencyKey != nil {
		if err := t.saveIdempotencyKey(ctx, *r.IdempotencyKey); err != nil {
			return err
		}
	}
	return t.appendChange(ctx, r)
}

// saveShipment inserts version 1 or updates from version-1. A row that is not
// where the caller believed it was is a conflict: the insert meets the
// primary key (2627), the update matches no row.
func (t *writeTx) saveShipment(ctx context.Context, s shipment.Shipment) error {
	if s.Version < 1 {
		return fmt.Errorf("sqlserver: record shipment %s: version %d, want 1 or more", s.ID, s.Version)
	}
	if s.Version == 1 {
		_, err := t.tx.ExecContext(ctx, insertShipmentSQL, shipmentArgs(s)...)
		if err != nil {
			return fmt.Errorf("sqlserver: insert shipment %s: %w", s.ID, classify(err))
		}
		return nil
	}
	res, err := t.tx.ExecContext(ctx, updateShipmentSQL, append(shipmentArgs(s), sql.Named("prev", s.Version-1))...)
	if err != nil {
		return fmt.Errorf("sqlserver: update shipment %s: %w", s.ID, classify(err))
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("sqlserver: update shipment %s: %w", s.ID, err)
	} else if n == 0 {
		return fmt.Errorf("sqlserver: shipment %s is not at version %d: %w", s.ID, s.Version-1, store.ErrConflict)
	}
	return nil
}

// saveOperation inserts the operation, or replaces one that failed with
// DeadLettered (a resubmitted dead letter). Any other recorded outcome stays:
// the INSERT then meets the primary key and the error is a conflict.
func (t *writeTx) saveOperation(ctx context.Context, o operation.Operation) error {
	_, err := t.tx.ExecContext(ctx, saveOperationSQL, operationArgs(o)...)
	if err != nil {
		return fmt.Errorf("sqlserver: record operation %s: %w", o.ID, classify(err))
	}
	return nil
}

func (t *writeTx) saveIdempotencyKey(ctx context.Context, k store.IdempotencyKey) error {
	_, err := t.tx.ExecContext(ctx, insertKeySQL, keyArgs(k, t.now())...)
	if err != nil {
		return fmt.Errorf("sqlserver: record idempotency key: %w", classify(err))
	}
	return nil
}

// appendChange writes the feed entry. Its position is not chosen here: the
// server stamps the rowversion column when the row is written.
func (t *writeTx) appendChange(ctx context.Context, r store.Record) error {
	_, err := t.tx.ExecContext(ctx, appendChangeSQL, changeArgs(r, t.now())...)
	if err != nil {
		return fmt.Errorf("sqlserver: append change for operation %s: %w", r.Operation.ID, classify(err))
	}
	return nil
}

// The statements of Record. Their parameters are named, and built by the
// *Args functions; a test checks each statement gets exactly the parameters
// it names, since only a server would otherwise notice a misspelt one.
const (
	insertShipmentSQL = `
INSERT INTO dbo.shipments (` + shipmentColumns + `, deleted)
VALUES (@s_id, @s_recipient, @s_destination, @s_weight_grams, @s_service, @s_status, @s_version,
        @s_created_at, @s_updated_at, @s_deleted);`

	updateShipmentSQL = `
UPDATE dbo.shipments
SET recipient = @s_recipient, destination = @s_destination, weight_grams = @s_weight_grams,
    service = @s_service, status = @s_status, version = @s_version, deleted = @s_deleted,
    created_at = @s_created_at, updated_at = @s_updated_at
WHERE id = @s_id AND version = @prev;`

	saveOperationSQL = `
UPDATE dbo.operations
SET kind = @op_kind, shipment_id = @op_shipment_id, status = @op_status,
    resource_version = @op_resource_version, error_code = @op_error_code,
    error_message = @op_error_message, created_at = @op_created_at, last_updated_at = @op_updated_at
WHERE id = @op_id AND status = N'Failed' AND error_code = N'DeadLettered';
IF @@ROWCOUNT = 0
    INSERT INTO dbo.operations (` + operationColumns + `)
    VALUES (@op_id, @op_kind, @op_shipment_id, @op_status, @op_resource_version,
            @op_error_code, @op_error_message, @op_created_at, @op_updated_at);`

	insertKeySQL = `
INSERT INTO dbo.idempotency_keys (key_digest, request_digest, operation_id, created_at)
VALUES (@key, @request, @op, @created_at);`

	appendChangeSQL = `
INSERT INTO dbo.change_feed (committed_at, change_type,
    operation_id, operation_kind, operation_shipment_id, operation_status, resource_version,
    error_code, error_message, operation_created_at, operation_updated_at,
    has_shipment, shipment_id, recipient, destination, weight_grams, service, status, version,
    deleted, created_at, updated_at)
VALUES (@committed_at, @change_type,
    @op_id, @op_kind, @op_shipment_id, @op_status, @op_resource_version,
    @op_error_code, @op_error_message, @op_created_at, @op_updated_at,
    @has_shipment, @s_id, @s_recipient, @s_destination, @s_weight_grams, @s_service, @s_status, @s_version,
    @s_deleted, @s_created_at, @s_updated_at);`
)

func keyArgs(k store.IdempotencyKey, now time.Time) []any {
	return []any{sql.Named("key", k.KeyDigest), sql.Named("request", k.RequestDigest),
		sql.Named("op", k.OperationID), sql.Named("created_at", utc(now))}
}

// changeArgs are the parameters of appendChangeSQL.
func changeArgs(r store.Record, committedAt time.Time) []any {
	args := append(operationArgs(r.Operation),
		sql.Named("committed_at", utc(committedAt)),
		sql.Named("change_type", string(r.Change)),
		sql.Named("has_shipment", r.Shipment != nil))
	return append(args, feedShipmentArgs(r.Shipment)...)
}

// feedShipmentArgs are shipmentArgs, or NULLs when the command changed no shipment.
func feedShipmentArgs(s *shipment.Shipment) []any {
	if s != nil {
		return shipmentArgs(*s)
	}
	var args []any
	for _, name := range []string{"s_id", "s_recipient", "s_destination", "s_weight_grams", "s_service",
		"s_status", "s_version", "s_deleted", "s_created_at", "s_updated_at"} {
		args = append(args, sql.Named(name, nil))
	}
	return args
}
