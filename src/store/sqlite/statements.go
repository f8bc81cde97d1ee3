package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
)

// Prepared statements. Every QueryContext or ExecContext given SQL text has
// the driver parse and plan that text anew, and under load that parsing was
// the largest single item of the whole system's CPU profile (some 13%):
// the query API's GET of an operation, the worker's statements inside its
// group-committed transactions, the feed reads and the projector's Apply.
// So each store prepares its hot statements once, when it opens, and keeps
// them in a statements struct, one named field per statement.
//
// A statement prepared on a *sql.DB is safe for concurrent use: database/sql
// compiles it once on each connection of the pool that runs it, and keeps it
// there. Statements of the read pool are used as they are. Statements of the
// write pool run inside a transaction, so they are bound to it first
// (tx.StmtContext, see txStatements), which reuses the compiled statement of
// the transaction's connection. Close closes the statements before the pools,
// once nothing can use them any more.
//
// Statements that run rarely (Ping, Checkpoint, the write store's Shipments,
// the migrations) stay plain queries: preparing them would save nothing.

// writeStatements are the write store's prepared statements.
type writeStatements struct {
	// The change feed's reads, on the read pool (feed.go).
	readChanges     *sql.Stmt
	head            *sql.Stmt
	nextCommittedAt *sql.Stmt // lag.go

	// writeTx's reads and writes, on the write pool (writetx.go, feed.go).
	operation        *sql.Stmt
	shipment         *sql.Stmt
	idempotencyKey   *sql.Stmt
	insertShipment   *sql.Stmt // version 1
	updateShipment   *sql.Stmt // version n, where the row is at n-1
	saveOperation    *sql.Stmt
	insertKey        *sql.Stmt
	appendChange     *sql.Stmt
	savepointRecord  *sql.Stmt // Record's own savepoint
	rollbackToRecord *sql.Stmt
	releaseRecord    *sql.Stmt

	// The writer's savepoint around each caller in a shared transaction
	// (writer.go).
	savepointCaller  *sql.Stmt
	rollbackToCaller *sql.Stmt
	releaseCaller    *sql.Stmt

	all preparedSet
}

func prepareWriteStatements(ctx context.Context, db pools) (*writeStatements, error) {
	p := &preparer{ctx: ctx}
	st := &writeStatements{
		readChanges: p.prepare(db.read, `SELECT position, payload, committed_at, traceparent FROM changes
			WHERE position > ? ORDER BY position LIMIT ?`),
		head: p.prepare(db.read, "SELECT COALESCE(MAX(position), 0) FROM changes"),
		nextCommittedAt: p.prepare(db.read,
			"SELECT committed_at FROM changes WHERE position > ? ORDER BY position LIMIT 1"),

		operation: p.prepare(db.write, "SELECT "+operationColumns+" FROM operations WHERE id = ?"),
		shipment:  p.prepare(db.write, "SELECT "+shipmentColumns+", deleted FROM shipments WHERE id = ?"),
		idempotencyKey: p.prepare(db.write,
			"SELECT request_digest, operation_id FROM idempotency_keys WHERE key_digest = ?"),
		insertShipment: p.prepare(db.write, "INSERT INTO shipments ("+shipmentColumns+", deleted) VALUES ("+
			placeholders(10)+") ON CONFLICT (id) DO NOTHING"),
		updateShipment: p.prepare(db.write, `UPDATE shipments SET recipient = ?, destination = ?,
			weight_grams = ?, service = ?, status = ?, version = ?, created_at = ?, updated_at = ?,
			deleted = ? WHERE id = ? AND version = ?`),
		saveOperation: p.prepare(db.write, "INSERT INTO operations ("+operationColumns+") VALUES ("+
			placeholders(9)+`) ON CONFLICT (id) DO UPDATE SET kind = excluded.kind,
			shipment_id = excluded.shipment_id, status = excluded.status,
			resource_version = excluded.resource_version, error_code = excluded.error_code,
			error_message = excluded.error_message, created_at = excluded.created_at,
			last_updated_at = excluded.last_updated_at
			WHERE operations.status = ? AND operations.error_code = ?`),
		insertKey: p.prepare(db.write, `INSERT INTO idempotency_keys
			(key_digest, request_digest, operation_id, created_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (key_digest) DO NOTHING`),
		appendChange: p.prepare(db.write, `INSERT INTO changes
			(operation_id, shipment_id, change_type, payload, committed_at, traceparent) VALUES (?, ?, ?, ?, ?, ?)`),
		savepointRecord:  p.prepare(db.write, "SAVEPOINT record"),
		rollbackToRecord: p.prepare(db.write, "ROLLBACK TO record"),
		releaseRecord:    p.prepare(db.write, "RELEASE record"),

		savepointCaller:  p.prepare(db.write, "SAVEPOINT caller"),
		rollbackToCaller: p.prepare(db.write, "ROLLBACK TO caller"),
		releaseCaller:    p.prepare(db.write, "RELEASE caller"),
	}
	st.all = p.all
	return st, p.finish()
}

// projectionStatements are the projection's prepared statements.
type projectionStatements struct {
	// The query API's reads, on the read pool (queries.go).
	shipment          *sql.Stmt
	shipments         *sql.Stmt
	shipmentsByStatus *sql.Stmt // served by the (status, id) index
	history           *sql.Stmt
	operation         *sql.Stmt
	recentOperations  *sql.Stmt // served by the last_updated_at index
	countByStatus     *sql.Stmt // Stats, in a read transaction
	projectorState    *sql.Stmt // Stats, in the same read transaction

	// Apply's statements, on the write pool (projection.go).
	checkpoint      *sql.Stmt
	upsertShipment  *sql.Stmt
	deleteShipment  *sql.Stmt
	addHistory      *sql.Stmt
	upsertOperation *sql.Stmt
	saveFeedHead    *sql.Stmt // a batch that applied nothing
	saveCheckpoint  *sql.Stmt

	all preparedSet
}

func prepareProjectionStatements(ctx context.Context, db pools) (*projectionStatements, error) {
	p := &preparer{ctx: ctx}
	st := &projectionStatements{
		shipment:  p.prepare(db.read, "SELECT "+shipmentColumns+" FROM shipments WHERE id = ?"),
		shipments: p.prepare(db.read, "SELECT "+shipmentColumns+" FROM shipments WHERE id > ? ORDER BY id LIMIT ?"),
		shipmentsByStatus: p.prepare(db.read, "SELECT "+shipmentColumns+
			" FROM shipments WHERE status = ? AND id > ? ORDER BY id LIMIT ?"),
		history: p.prepare(db.read, `SELECT version, type, status, at, operation_id
			FROM history WHERE shipment_id = ? ORDER BY version`),
		operation: p.prepare(db.read, "SELECT "+operationColumns+" FROM operations WHERE id = ?"),
		recentOperations: p.prepare(db.read, "SELECT "+operationColumns+
			" FROM operations ORDER BY last_updated_at DESC, id DESC LIMIT ?"),
		countByStatus: p.prepare(db.read, "SELECT status, COUNT(*) FROM shipments GROUP BY status"),
		projectorState: p.prepare(db.read, `SELECT checkpoint, feed_head, last_committed_at, last_applied_at
			FROM projector_state WHERE id = 1`),

		checkpoint: p.prepare(db.write, "SELECT checkpoint FROM projector_state WHERE id = 1"),
		upsertShipment: p.prepare(db.write, "INSERT INTO shipments ("+shipmentColumns+") VALUES ("+placeholders(9)+`)
			ON CONFLICT (id) DO UPDATE SET recipient = excluded.recipient,
			destination = excluded.destination, weight_grams = excluded.weight_grams,
			service = excluded.service, status = excluded.status, version = excluded.version,
			created_at = excluded.created_at, updated_at = excluded.updated_at`),
		deleteShipment: p.prepare(db.write, "DELETE FROM shipments WHERE id = ?"),
		addHistory: p.prepare(db.write, `INSERT INTO history
			(shipment_id, version, type, status, at, operation_id) VALUES (?, ?, ?, ?, ?, ?)`),
		upsertOperation: p.prepare(db.write, "INSERT INTO operations ("+operationColumns+") VALUES ("+placeholders(9)+`)
			ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, shipment_id = excluded.shipment_id,
			status = excluded.status, resource_version = excluded.resource_version,
			error_code = excluded.error_code, error_message = excluded.error_message,
			created_at = excluded.created_at, last_updated_at = excluded.last_updated_at`),
		saveFeedHead: p.prepare(db.write, "UPDATE projector_state SET feed_head = MAX(feed_head, ?) WHERE id = 1"),
		saveCheckpoint: p.prepare(db.write, `UPDATE projector_state SET checkpoint = ?, feed_head = MAX(feed_head, ?),
			last_committed_at = ?, last_applied_at = ?, checkpoint_operation_id = ? WHERE id = 1`),
	}
	st.all = p.all
	return st, p.finish()
}

// preparer prepares a list of statements and remembers the first failure,
// so that the prepare functions above read as a plain list.
type preparer struct {
	ctx context.Context
	all preparedSet
	err error
}

func (p *preparer) prepare(db *sql.DB, query string) *sql.Stmt {
	if p.err != nil {
		return nil
	}
	s, err := db.PrepareContext(p.ctx, query)
	if err != nil {
		p.err = fmt.Errorf("prepare %q: %w", firstLine(query), err)
		return nil
	}
	p.all = append(p.all, s)
	return s
}

// finish reports the first failure, having closed what was prepared.
func (p *preparer) finish() error {
	if p.err != nil {
		return errors.Join(p.err, p.all.close())
	}
	return nil
}

// preparedSet is every statement of a store, for Close.
type preparedSet []*sql.Stmt

func (set preparedSet) close() error {
	var errs []error
	for _, s := range set {
		if err := s.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close statement: %w", err))
		}
	}
	return errors.Join(errs...)
}

// firstLine shortens a statement for an error message.
func firstLine(query string) string {
	line, _, _ := strings.Cut(query, "\n")
	return line
}

// txStatements binds prepared statements of the write pool to one
// transaction. tx.StmtContext finds the statement already compiled on the
// transaction's connection (compiling it there only the first time) and
// returns a handle bound to tx, which tx closes when it ends. One
// transaction of the writer holds up to 128 Updates running the same few
// statements, so each is bound once per transaction and then reused.
type txStatements struct {
	tx    *sql.Tx
	mu    sync.Mutex // a fn may use its tx from several goroutines, as *sql.Tx allows
	bound map[*sql.Stmt]*sql.Stmt
}

func newTxStatements(tx *sql.Tx) *txStatements {
	return &txStatements{tx: tx, bound: make(map[*sql.Stmt]*sql.Stmt)}
}

// stmt returns s bound to the transaction.
func (b *txStatements) stmt(ctx context.Context, s *sql.Stmt) *sql.Stmt {
	b.mu.Lock()
	defer b.mu.Unlock()
	if t, ok := b.bound[s]; ok {
		return t
	}
	t := b.tx.StmtContext(ctx, s)
	b.bound[s] = t
	return t
}
