package sqlserver

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/dropoff-dev/dropoff/src/operation"
	"github.com/dropoff-dev/dropoff/src/shipment"
	"github.com/dropoff-dev/dropoff/src/store"
)

// The change feed is read by position, a rowversion, and every read stops
// below MIN_ACTIVE_ROWVERSION(): the lowest rowversion still held by a
// transaction that has not ended. A rowversion is stamped when a row is
// written, not when its transaction commits, so a transaction that wrote
// position 7 may commit after one that wrote position 8. A reader that took 8
// and moved on would never see 7. Below the bound there is nothing left to
// commit: every row there is committed (or was rolled back and is gone).
// docs/change-feed.md tells the story with a timeline.
//
// The bound is read by its own statement, before the SELECT, and the SELECT
// reads WITH (READCOMMITTEDLOCK): the latest committed rows, under shared
// locks, not a row-version snapshot. Azure SQL Database turns
// READ_COMMITTED_SNAPSHOT on, and whether a snapshot taken as a statement
// starts holds every row that committed below a bound computed a moment
// earlier is not something SQL Server documents; a locking read does not
// depend on it. Rows below the bound are committed, so the read waits on no
// writer there; the one it may meet is an insert at the bound that is about
// to commit.
//
// These reads must not run inside a transaction that has itself written a
// rowversion: its own value would pin the bound below its own rows. They run
// on the pool, each in its own autocommit statement.

const feedColumns = `position, committed_at, change_type,
    operation_id, operation_kind, operation_shipment_id, operation_status, resource_version, error_code, error_message,
    operation_created_at, operation_updated_at,
    has_shipment, shipment_id, recipient, destination, weight_grams, service, status, version, deleted, created_at, updated_at,
    traceparent`

// ReadChanges returns up to limit committed entries with Position > after, in
// Position order, never past an entry that may still commit.
func (s *WriteStore) ReadChanges(ctx context.Context, after int64, limit int) (_ []store.Change, err error) {
	defer func() { err = classify(err) }()
	if limit < 1 {
		return nil, fmt.Errorf("sqlserver: read changes: limit %d must be positive", limit)
	}
	rows, err := s.db.QueryContext(ctx, `
DECLARE @bound BINARY(8) = MIN_ACTIVE_ROWVERSION();
SELECT TOP (@limit) `+feedColumns+`
FROM dbo.change_feed WITH (READCOMMITTEDLOCK)
WHERE position > CAST(@after AS BINARY(8)) AND position < @bound
ORDER BY position;`,
		sql.Named("limit", limit), sql.Named("after", rowversionOf(after)))
	if err != nil {
		return nil, fmt.Errorf("sqlserver: read changes after %d: %w", after, err)
	}
	changes, err := collect(rows, scanChange)
	if err != nil {
		return nil, fmt.Errorf("sqlserver: read changes after %d: %w", after, err)
	}
	return changes, nil
}

// Head returns the highest position ReadChanges could return now.
func (s *WriteStore) Head(ctx context.Context) (_ int64, err error) {
	defer func() { err = classify(err) }()
	var rv []byte
	err = s.db.QueryRowContext(ctx, `
DECLARE @bound BINARY(8) = MIN_ACTIVE_ROWVERSION();
SELECT TOP (1) position FROM dbo.change_feed WITH (READCOMMITTEDLOCK) WHERE position < @bound ORDER BY position DESC;`).Scan(&rv)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("sqlserver: read feed head: %w", err)
	}
	return positionFromRowversion(rv)
}

// scanChange reads feedColumns.
func scanChange(r scanner) (store.Change, error) {
	var (
		c           store.Change
		rv          []byte
		code, msg   sql.NullString
		hasShipment bool
		shipmentID  sql.NullString
		recipient   sql.NullString
		destination sql.NullString
		weight      sql.NullInt64
		service     sql.NullString
		status      sql.NullString
		version     sql.NullInt64
		deleted     sql.NullBool
		created     sql.NullTime
		updated     sql.NullTime
		traceparent sql.NullString
		o           = &c.Operation
	)
	err := r.Scan(&rv, &c.CommittedAt, &c.Change,
		&o.ID, &o.Kind, &o.ShipmentID, &o.Status, &o.ResourceVersion, &code, &msg,
		&o.CreatedAt, &o.LastUpdatedAt,
		&hasShipment, &shipmentID, &recipient, &destination, &weight, &service, &status, &version, &deleted, &created, &updated,
		&traceparent)
	if err != nil {
		return store.Change{}, err
	}
	if c.Position, err = positionFromRowversion(rv); err != nil {
		return store.Change{}, err
	}
	c.CommittedAt, o.CreatedAt, o.LastUpdatedAt = c.CommittedAt.UTC(), o.CreatedAt.UTC(), o.LastUpdatedAt.UTC()
	c.Traceparent = traceparent.String
	if code.Valid {
		o.Error = &operation.Error{Code: operation.ErrorCode(code.String), Message: msg.String}
	}
	if hasShipment {
		c.Shipment = &shipment.Shipment{
			ID: shipmentID.String, Recipient: recipient.String, Destination: destination.String,
			WeightGrams: int(weight.Int64), Service: shipment.Service(service.String),
			Status: shipment.Status(status.String), Version: version.Int64, Deleted: deleted.Bool,
			CreatedAt: created.Time.UTC(), UpdatedAt: updated.Time.UTC(),
		}
	}
	return c, nil
}

// Identity returns the feed's identity, written once by the schema's
// migration (0002_feed_identity.sql), in the canonical lower-case form.
func (s *WriteStore) Identity(ctx context.Context) (string, error) {
	var id string
	if err := s.db.QueryRowContext(ctx, `SELECT LOWER(CONVERT(NVARCHAR(36), id)) FROM dbo.feed_identity;`).Scan(&id); err != nil {
		return "", fmt.Errorf("sqlserver: read feed identity: %w", classify(err))
	}
	return id, nil
}
