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
// end of the transaction: WITH (UPDLOCK). A second reader of the same row
// waits (update locks do not share with each other) and then reads the first
// one's result. The hint also makes the read a locking read when the database
// has READ_COMMITTED_SNAPSHOT on (the Azure SQL default), so fn decides on
// the latest committed state, not on a version of it.
//
// No HOLDLOCK: for a key that does not exist yet it would lock the range up
// to the next key, and new operation ids (UUIDv7) and often new shipment ids
// all land past the last key, so every worker session would queue on the same
// range lock. The primary key settles the rare race instead: two commands
// creating the same row both find nothing, one insert wins and the other
// meets the key (2627), which is store.ErrConflict, and its retry reads the
// winner's row.
//
// Lookups pass the key as NVARCHAR(MAX) (see param.go) cast to the column's
// type, so that the index is sought; a key longer than the column cannot be
// in it and is not looked up.
type writeTx struct {
	tx  *sql.Tx
	now func() time.Time
}

var _ store.WriteTx = (*writeTx)(nil)

func (t *writeTx) Operation(ctx context.Context, id string) (operation.Operation, bool, error) {
	if !fits(id, idWidth) {
		return operation.Operation{}, false, nil
	}
	row := t.tx.QueryRowContext(ctx, `
SELECT `+operationColumns+` FROM dbo.operations WITH (UPDLOCK) WHERE id = CAST(@id AS NVARCHAR(64));`,
		sql.Named("id", str(id)))
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
	if !fits(id, idWidth) {
		return shipment.Shipment{}, false, nil
	}
	row := t.tx.QueryRowContext(ctx, `
SELECT `+shipmentColumns+`, deleted FROM dbo.shipments WITH (UPDLOCK) WHERE id = CAST(@id AS NVARCHAR(64));`,
		sql.Named("id", str(id)))
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
	if !fits(keyDigest, idWidth) {
		return store.IdempotencyKey{}, false, nil
	}
	err := t.tx.QueryRowContext(ctx, `
SELECT request_digest, operation_id FROM dbo.idempotency_keys WITH (UPDLOCK) WHERE key_digest = CAST(@key AS NVARCHAR(64));`,
		sql.Named("key", str(keyDigest))).Scan(&k.RequestDigest, &k.OperationID)
	if errors.Is(err, sql.ErrNoRows) {
		return store.IdempotencyKey{}, false, nil
	}
	if err != nil {
		return store.IdempotencyKey{}, false, fmt.Errorf("sqlserver: read idempotency key: %w", classify(err))
	}
	return k, true, nil
}

// Record writes the shipment (version-checked), the operation, the
// idempotency key and one change-feed entry, in one batch: one round trip
// (recordSQL). The feed entry goes last: its rowversion holds
// MIN_ACTIVE_ROWVERSION() back, and so holds the projector back, from the
// moment it is written until this transaction ends.
//
// The batch runs inside a savepoint. SQL Server undoes only the failing
// statement of a batch, not the statements before it, so without one a
// Record that failed at the operation would leave its shipment written, and a
// caller that went on and committed would keep half a command. Its CATCH
// rolls back to the savepoint and throws the error on: a duplicate key (2627)
// or a shipment not at the version before (errVersionMoved) is
// store.ErrConflict. After a deadlock the server has already rolled back the
// whole transaction and there is no savepoint left; the error says conflict
// either way, and Update will roll back.
func (t *writeTx) Record(ctx context.Context, r store.Record) error {
	if r.Operation.ID == "" {
		return errors.New("sqlserver: record: operation has no id")
	}
	if s := r.Shipment; s != nil && s.Version < 1 {
		return fmt.Errorf("sqlserver: record shipment %s: version %d, want 1 or more", s.ID, s.Version)
	}
	// The batch finds rows by ids cast to the columns' width; a longer id
	// would be cut to another one.
	if !fits(r.Operation.ID, idWidth) || r.Shipment != nil && !fits(r.Shipment.ID, idWidth) {
		return fmt.Errorf("sqlserver: record operation %.80s: an id is longer than %d characters", r.Operation.ID, idWidth)
	}
	if _, err := t.tx.ExecContext(ctx, recordSQL, recordArgs(r, t.now())...); err != nil {
		return fmt.Errorf("sqlserver: record operation %s: %w", r.Operation.ID, classify(err))
	}
	return nil
}

// errVersionMoved is the error number recordSQL throws when the shipment is
// not at the version the command read: another writer got there first.
const errVersionMoved = 50409

// recordSQL is Record's batch. A shipment at version 1 is inserted (a row
// already there meets the primary key), a later one updated from the version
// before. The operation replaces one that failed with DeadLettered (a
// resubmitted dead letter); any other recorded outcome stays, since the
// INSERT then meets the primary key. Its parameters are named and built by
// recordArgs; a test checks each is supplied exactly once, since only a
// server would otherwise notice a misspelt one.
const recordSQL = `
SAVE TRANSACTION record;
BEGIN TRY
    IF @has_shipment = 1
    BEGIN
        IF @s_version = 1
            INSERT INTO dbo.shipments (` + shipmentColumns + `, deleted)
            VALUES (@s_id, @s_recipient, @s_destination, @s_weight_grams, @s_service, @s_status, @s_version,
                    @s_created_at, @s_updated_at, @s_deleted);
        ELSE
        BEGIN
            UPDATE dbo.shipments
            SET recipient = @s_recipient, destination = @s_destination, weight_grams = @s_weight_grams,
                service = @s_service, status = @s_status, version = @s_version, deleted = @s_deleted,
                created_at = @s_created_at, updated_at = @s_updated_at
            WHERE id = CAST(@s_id AS NVARCHAR(64)) AND version = @s_version - 1;
            IF @@ROWCOUNT = 0
                THROW 50409, N'the shipment is not at the version before this one', 1;
        END;
    END;

    UPDATE dbo.operations
    SET kind = @op_kind, shipment_id = @op_shipment_id, status = @op_status,
        resource_version = @op_resource_version, error_code = @op_error_code,
        error_message = @op_error_message, created_at = @op_created_at, last_updated_at = @op_updated_at
    WHERE id = CAST(@op_id AS NVARCHAR(64)) AND status = N'Failed' AND error_code = N'DeadLettered';
    IF @@ROWCOUNT = 0
        INSERT INTO dbo.operations (` + operationColumns + `)
        VALUES (@op_id, @op_kind, @op_shipment_id, @op_status, @op_resource_version,
                @op_error_code, @op_error_message, @op_created_at, @op_updated_at);

    IF @has_key = 1
        INSERT INTO dbo.idempotency_keys (key_digest, request_digest, operation_id, created_at)
        VALUES (@key, @key_request, @key_op, @committed_at);

    INSERT INTO dbo.change_feed (committed_at, change_type,
        operation_id, operation_kind, operation_shipment_id, operation_status, resource_version,
        error_code, error_message, operation_created_at, operation_updated_at,
        has_shipment, shipment_id, recipient, destination, weight_grams, service, status, version,
        deleted, created_at, updated_at, traceparent)
    VALUES (@committed_at, @change_type,
        @op_id, @op_kind, @op_shipment_id, @op_status, @op_resource_version,
        @op_error_code, @op_error_message, @op_created_at, @op_updated_at,
        @has_shipment, @s_id, @s_recipient, @s_destination, @s_weight_grams, @s_service, @s_status, @s_version,
        @s_deleted, @s_created_at, @s_updated_at, @traceparent);
END TRY
BEGIN CATCH
    IF XACT_STATE() = 1
        ROLLBACK TRANSACTION record;
    THROW;
END CATCH;`

// recordArgs are the parameters of recordSQL: the operation, the shipment
// (NULLs when the command changed none), the idempotency key (NULLs when
// there is none), the change type and the time, now.
func recordArgs(r store.Record, now time.Time) []any {
	args := append(operationArgs(r.Operation),
		sql.Named("committed_at", utc(now)),
		sql.Named("change_type", str(string(r.Change))),
		sql.Named("has_shipment", r.Shipment != nil),
		sql.Named("has_key", r.IdempotencyKey != nil),
		sql.Named("traceparent", sql.NullString{String: r.Traceparent, Valid: r.Traceparent != ""}))
	args = append(args, feedShipmentArgs(r.Shipment)...)
	if k := r.IdempotencyKey; k != nil {
		return append(args, sql.Named("key", str(k.KeyDigest)), sql.Named("key_request", str(k.RequestDigest)),
			sql.Named("key_op", str(k.OperationID)))
	}
	return append(args, sql.Named("key", nullStr()), sql.Named("key_request", nullStr()), sql.Named("key_op", nullStr()))
}

// feedShipmentArgs are shipmentArgs, or NULLs when the command changed no shipment.
func feedShipmentArgs(s *shipment.Shipment) []any {
	if s != nil {
		return shipmentArgs(*s)
	}
	// NULLs of the columns' types, so the declaration is the same as ever.
	return []any{
		sql.Named("s_id", nullStr()), sql.Named("s_recipient", nullStr()), sql.Named("s_destination", nullStr()),
		sql.Named("s_weight_grams", sql.NullInt64{}), sql.Named("s_service", nullStr()),
		sql.Named("s_status", nullStr()), sql.Named("s_version", sql.NullInt64{}), sql.Named("s_deleted", sql.NullBool{}),
		sql.Named("s_created_at", sql.NullTime{}), sql.Named("s_updated_at", sql.NullTime{}),
	}
}
