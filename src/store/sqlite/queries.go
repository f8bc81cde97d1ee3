package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/dropoff-dev/dropoff/src/operation"
	"github.com/dropoff-dev/dropoff/src/shipment"
	"github.com/dropoff-dev/dropoff/src/store"
)

// The query API's reads. Each runs on the read-only pool, on a snapshot of
// the last committed Apply.

// Shipment returns a live shipment; false if unknown or cancelled.
func (p *Projection) Shipment(ctx context.Context, id string) (shipment.Shipment, bool, error) {
	s, err := scanShipment(p.st.shipment.QueryRowContext(ctx, id))
	if errors.Is(err, sql.ErrNoRows) {
		return shipment.Shipment{}, false, nil
	}
	if err != nil {
		return shipment.Shipment{}, false, fmt.Errorf("read shipment %s: %w", id, err)
	}
	return s, true, nil
}

// Shipments lists a page of live shipments in id order. It asks for one row
// more than the page holds: if it comes back, more follow. The cursor is the
// last id of the previous page, so a page is stable however rows change
// before it (keyset pagination, no OFFSET).
func (p *Projection) Shipments(ctx context.Context, q store.ListQuery) ([]shipment.Shipment, bool, error) {
	if q.Limit < 1 {
		return nil, false, fmt.Errorf("sqlite: list shipments: limit %d must be positive", q.Limit)
	}
	var rows *sql.Rows
	var err error
	if q.Status == "" {
		rows, err = p.st.shipments.QueryContext(ctx, q.After, q.Limit+1)
	} else {
		rows, err = p.st.shipmentsByStatus.QueryContext(ctx, string(q.Status), q.After, q.Limit+1)
	}
	if err != nil {
		return nil, false, fmt.Errorf("list shipments: %w", err)
	}
	defer rows.Close()
	var items []shipment.Shipment
	for rows.Next() {
		s, err := scanShipment(rows)
		if err != nil {
			return nil, false, fmt.Errorf("list shipments: %w", err)
		}
		items = append(items, s)
	}
	if err := rows.Err(); err != nil {
		return nil, false, fmt.Errorf("list shipments: %w", err)
	}
	if len(items) > q.Limit {
		return items[:q.Limit], true, nil
	}
	return items, false, nil
}

// History lists a shipment's applied changes in version order.
func (p *Projection) History(ctx context.Context, id string) ([]store.HistoryEntry, bool, error) {
	rows, err := p.st.history.QueryContext(ctx, id)
	if err != nil {
		return nil, false, fmt.Errorf("read history of %s: %w", id, err)
	}
	defer rows.Close()
	var entries []store.HistoryEntry
	for rows.Next() {
		var e store.HistoryEntry
		var at string
		if err := rows.Scan(&e.Version, &e.Type, &e.Status, &at, &e.OperationID); err != nil {
			return nil, false, fmt.Errorf("read history of %s: %w", id, err)
		}
		if e.At, err = parseTime(at); err != nil {
			return nil, false, fmt.Errorf("read history of %s: %w", id, err)
		}
		entries = append(entries, e)
	}
	if err := rows.Err(); err != nil {
		return nil, false, fmt.Errorf("read history of %s: %w", id, err)
	}
	return entries, len(entries) > 0, nil
}

// Operation returns a recorded operation; false if none is recorded yet.
func (p *Projection) Operation(ctx context.Context, id string) (operation.Operation, bool, error) {
	o, err := scanOperation(p.st.operation.QueryRowContext(ctx, id))
	if errors.Is(err, sql.ErrNoRows) {
		return operation.Operation{}, false, nil
	}
	if err != nil {
		return operation.Operation{}, false, fmt.Errorf("read operation %s: %w", id, err)
	}
	return o, true, nil
}

// RecentOperations returns the operations updated last, newest first.
func (p *Projection) RecentOperations(ctx context.Context, limit int) ([]operation.Operation, error) {
	if limit < 1 {
		return nil, fmt.Errorf("sqlite: recent operations: limit %d must be positive", limit)
	}
	rows, err := p.st.recentOperations.QueryContext(ctx, limit)
	if err != nil {
		return nil, fmt.Errorf("read recent operations: %w", err)
	}
	defer rows.Close()
	var ops []operation.Operation
	for rows.Next() {
		o, err := scanOperation(rows)
		if err != nil {
			return nil, fmt.Errorf("read recent operations: %w", err)
		}
		ops = append(ops, o)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read recent operations: %w", err)
	}
	return ops, nil
}

// Stats counts live shipments by status (every known status is present, zero
// included) and reports the projector's position. Both reads run in one read
// transaction, so the counts and the checkpoint agree.
func (p *Projection) Stats(ctx context.Context) (store.Stats, error) {
	tx, err := p.db.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return store.Stats{}, fmt.Errorf("read stats: %w", err)
	}
	defer tx.Rollback() // read-only: nothing to keep
	st := store.Stats{ByStatus: make(map[shipment.Status]int64, len(shipment.Statuses))}
	for _, s := range shipment.Statuses {
		st.ByStatus[s] = 0
	}
	if err := countByStatus(ctx, tx.StmtContext(ctx, p.st.countByStatus), st.ByStatus); err != nil {
		return store.Stats{}, err
	}
	var committed, applied sql.NullString
	state := tx.StmtContext(ctx, p.st.projectorState).QueryRowContext(ctx)
	if err := state.Scan(&st.Checkpoint, &st.FeedHead, &committed, &applied); err != nil {
		return store.Stats{}, fmt.Errorf("read projector state: %w", err)
	}
	if st.LastCommittedAt, err = parseNullTime(committed); err != nil {
		return store.Stats{}, err
	}
	if st.LastAppliedAt, err = parseNullTime(applied); err != nil {
		return store.Stats{}, err
	}
	return st, nil
}

// countByStatus runs the countByStatus statement, bound to Stats's transaction.
func countByStatus(ctx context.Context, stmt *sql.Stmt, into map[shipment.Status]int64) error {
	rows, err := stmt.QueryContext(ctx)
	if err != nil {
		return fmt.Errorf("count shipments: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var status shipment.Status
		var n int64
		if err := rows.Scan(&status, &n); err != nil {
			return fmt.Errorf("count shipments: %w", err)
		}
		into[status] = n
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("count shipments: %w", err)
	}
	return nil
}

// Ping checks that the database can be read.
func (p *Projection) Ping(ctx context.Context) error { return p.db.ping(ctx) }
