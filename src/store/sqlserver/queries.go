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

// The query API's reads. Each is one statement in autocommit mode, so it
// reads committed data only, whole Apply batches or none of them.

// Shipment returns a live shipment; false if unknown or cancelled.
func (p *Projection) Shipment(ctx context.Context, id string) (shipment.Shipment, bool, error) {
	if !fits(id, idWidth) {
		return shipment.Shipment{}, false, nil
	}
	s, err := scanShipment(p.db.QueryRowContext(ctx,
		`SELECT `+shipmentColumns+` FROM dbo.shipments WHERE id = CAST(@id AS NVARCHAR(64));`, sql.Named("id", str(id))))
	if errors.Is(err, sql.ErrNoRows) {
		return shipment.Shipment{}, false, nil
	}
	if err != nil {
		return shipment.Shipment{}, false, fmt.Errorf("sqlserver: read shipment %s: %w", id, err)
	}
	return s, true, nil
}

// Shipments lists a page of live shipments in id order. It asks for one row
// more than the page holds: if it comes back, more follow. The cursor is the
// last id of the previous page, so a page is stable however rows change
// before it (keyset pagination, no OFFSET).
func (p *Projection) Shipments(ctx context.Context, q store.ListQuery) ([]shipment.Shipment, bool, error) {
	if q.Limit < 1 {
		return nil, false, fmt.Errorf("sqlserver: list shipments: limit %d must be positive", q.Limit)
	}
	if !fits(q.After, idWidth) {
		return nil, false, fmt.Errorf("sqlserver: list shipments: cursor of more than %d characters is no shipment id", idWidth)
	}
	where := `id > CAST(@after AS NVARCHAR(64))`
	if q.Status != "" {
		// served by the (status, id) index
		where = `status = CAST(@status AS NVARCHAR(32)) AND id > CAST(@after AS NVARCHAR(64))`
	}
	rows, err := p.db.QueryContext(ctx,
		`SELECT TOP (@n) `+shipmentColumns+` FROM dbo.shipments WHERE `+where+` ORDER BY id;`,
		sql.Named("n", int64(q.Limit+1)), sql.Named("after", str(q.After)), sql.Named("status", str(string(q.Status))))
	if err != nil {
		return nil, false, fmt.Errorf("sqlserver: list shipments: %w", err)
	}
	items, err := collect(rows, scanShipment)
	if err != nil {
		return nil, false, fmt.Errorf("sqlserver: list shipments: %w", err)
	}
	if len(items) > q.Limit {
		return items[:q.Limit], true, nil
	}
	return items, false, nil
}

// History lists a shipment's applied changes in version order.
func (p *Projection) History(ctx context.Context, id string) ([]store.HistoryEntry, bool, error) {
	if !fits(id, idWidth) {
		return nil, false, nil
	}
	rows, err := p.db.QueryContext(ctx, `
SELECT version, change_type, status, at, operation_id
FROM dbo.history WHERE shipment_id = CAST(@id AS NVARCHAR(64)) ORDER BY version;`, sql.Named("id", str(id)))
	if err != nil {
		return nil, false, fmt.Errorf("sqlserver: read history of %s: %w", id, err)
	}
	entries, err := collect(rows, func(r scanner) (store.HistoryEntry, error) {
		var e store.HistoryEntry
		err := r.Scan(&e.Version, &e.Type, &e.Status, &e.At, &e.OperationID)
		e.At = e.At.UTC()
		return e, err
	})
	if err != nil {
		return nil, false, fmt.Errorf("sqlserver: read history of %s: %w", id, err)
	}
	return entries, len(entries) > 0, nil
}

// Operation returns a recorded operation; false if none is recorded yet.
func (p *Projection) Operation(ctx context.Context, id string) (operation.Operation, bool, error) {
	if !fits(id, idWidth) {
		return operation.Operation{}, false, nil
	}
	o, err := scanOperation(p.db.QueryRowContext(ctx,
		`SELECT `+operationColumns+` FROM dbo.operations WHERE id = CAST(@id AS NVARCHAR(64));`, sql.Named("id", str(id))))
	if errors.Is(err, sql.ErrNoRows) {
		return operation.Operation{}, false, nil
	}
	if err != nil {
		return operation.Operation{}, false, fmt.Errorf("sqlserver: read operation %s: %w", id, err)
	}
	return o, true, nil
}

// RecentOperations returns the operations updated last, newest first,
// served by the last_updated_at index.
func (p *Projection) RecentOperations(ctx context.Context, limit int) ([]operation.Operation, error) {
	if limit < 1 {
		return nil, fmt.Errorf("sqlserver: recent operations: limit %d must be positive", limit)
	}
	rows, err := p.db.QueryContext(ctx,
		`SELECT TOP (@n) `+operationColumns+` FROM dbo.operations ORDER BY last_updated_at DESC, id DESC;`,
		sql.Named("n", int64(limit)))
	if err != nil {
		return nil, fmt.Errorf("sqlserver: read recent operations: %w", err)
	}
	ops, err := collect(rows, scanOperation)
	if err != nil {
		return nil, fmt.Errorf("sqlserver: read recent operations: %w", err)
	}
	return ops, nil
}

// Stats counts live shipments by status (every known status is present, zero
// included) and reports the projector's position.
//
// Counts and checkpoint come from one statement, so that with
// READ_COMMITTED_SNAPSHOT on (the Azure SQL default, and the tests' setting)
// they read one snapshot and agree. With it off, SQL Server's locking READ
// COMMITTED gives no such promise across the two tables, and a count may be
// one Apply ahead of the checkpoint: a dashboard figure, good enough.
func (p *Projection) Stats(ctx context.Context) (store.Stats, error) {
	rows, err := p.db.QueryContext(ctx, `
SELECT st.applied_position, st.feed_head, st.last_committed_at, st.last_applied_at, c.status, c.n
FROM dbo.projector_state AS st
LEFT JOIN (SELECT status, COUNT_BIG(*) AS n FROM dbo.shipments GROUP BY status) AS c ON 1 = 1
WHERE st.id = 1;`)
	if err != nil {
		return store.Stats{}, fmt.Errorf("sqlserver: read stats: %w", err)
	}
	defer rows.Close()
	st := store.Stats{ByStatus: make(map[shipment.Status]int64, len(shipment.Statuses))}
	for _, s := range shipment.Statuses {
		st.ByStatus[s] = 0
	}
	for rows.Next() {
		var committed, applied sql.NullTime
		var status sql.NullString
		var n sql.NullInt64
		if err := rows.Scan(&st.Checkpoint, &st.FeedHead, &committed, &applied, &status, &n); err != nil {
			return store.Stats{}, fmt.Errorf("sqlserver: read stats: %w", err)
		}
		st.LastCommittedAt, st.LastAppliedAt = nullTime(committed), nullTime(applied)
		if status.Valid {
			st.ByStatus[shipment.Status(status.String)] = n.Int64
		}
	}
	if err := rows.Err(); err != nil {
		return store.Stats{}, fmt.Errorf("sqlserver: read stats: %w", err)
	}
	return st, nil
}

// Ping checks the database answers.
func (p *Projection) Ping(ctx context.Context) error {
	if err := p.db.PingContext(ctx); err != nil {
		return fmt.Errorf("sqlserver: ping projection database: %w", err)
	}
	return nil
}
