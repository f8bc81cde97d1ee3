package sqlserver

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/dropoff-dev/dropoff/src/store"
)

// Projection is the read database on SQL Server: the projector applies the
// change feed to it (Apply) and the query API reads it (Queries).
type Projection struct {
	db      *sql.DB
	cfg     Config
	commits atomic.Int64
}

var (
	_ store.Projection = (*Projection)(nil)
	_ store.Queries    = (*Projection)(nil)
)

// OpenProjection connects to the projection database named by dsn and,
// unless cfg.SkipMigrations, brings its schema up to date.
func OpenProjection(ctx context.Context, dsn string, cfg Config) (*Projection, error) {
	db, cfg, err := openMigrated(ctx, dsn, projectionSet, cfg)
	if err != nil {
		return nil, err
	}
	return &Projection{db: db, cfg: cfg}, nil
}

// Close closes the connection pool.
func (p *Projection) Close() error { return p.db.Close() }

// Commits counts the transactions Apply has committed.
func (p *Projection) Commits() int64 { return p.commits.Load() }

// Apply applies changes and moves the checkpoint in one transaction, so a
// crash leaves either all of the batch or none of it: the projector restarts
// from the checkpoint and never applies an entry twice. Entries at or below
// the checkpoint are skipped. The checkpoint row is read WITH (UPDLOCK), so
// even two projectors started by mistake would take turns, not interleave.
func (p *Projection) Apply(ctx context.Context, changes []store.Change, feedHead int64) (err error) {
	defer func() { err = classify(err) }()
	tx, err := p.db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelReadCommitted})
	if err != nil {
		return fmt.Errorf("sqlserver: begin apply: %w", err)
	}
	defer tx.Rollback() // a no-op once committed; undoes the batch otherwise
	var checkpoint int64
	if err := tx.QueryRowContext(ctx,
		`SELECT applied_position FROM dbo.projector_state WITH (UPDLOCK) WHERE id = 1;`).Scan(&checkpoint); err != nil {
		return fmt.Errorf("sqlserver: read checkpoint: %w", err)
	}
	var last *store.Change
	for i := range changes {
		c := &changes[i]
		if c.Position <= checkpoint {
			continue // applied already, by an earlier batch or earlier in this one
		}
		if err := applyChange(ctx, tx, c); err != nil {
			return fmt.Errorf("sqlserver: apply change %d: %w", c.Position, err)
		}
		checkpoint, last = c.Position, c
	}
	if err := p.saveState(ctx, tx, checkpoint, feedHead, last); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlserver: commit apply: %w", err)
	}
	p.commits.Add(1)
	return nil
}

// saveState moves the checkpoint and records the feed head; the head never
// goes back, even if a stale batch is applied again.
func (p *Projection) saveState(ctx context.Context, tx *sql.Tx, checkpoint, feedHead int64, last *store.Change) error {
	if _, err := tx.ExecContext(ctx, saveStateSQL, stateArgs(checkpoint, feedHead, last, p.cfg.Now())...); err != nil {
		return fmt.Errorf("sqlserver: save checkpoint %d: %w", checkpoint, err)
	}
	return nil
}

// applyChange writes one entry: the shipment row (upserted, or deleted by a
// cancel), its history entry and the operation, all in the caller's
// transaction. Writing the operation and the shipment together is what gives
// read-your-writes: a reader that sees the operation Succeeded sees its
// shipment version, or a later one.
//
// The upserts are UPDATE, then INSERT when no row was updated, rather than
// MERGE: simpler to read, and safe here because one projector writes.
func applyChange(ctx context.Context, tx *sql.Tx, c *store.Change) error {
	if s := c.Shipment; s != nil {
		query, args := upsertShipmentSQL, shipmentArgs(*s)
		if s.Deleted {
			query, args = deleteShipmentSQL, []any{sql.Named("s_id", s.ID)}
		}
		if _, err := tx.ExecContext(ctx, query, args...); err != nil {
			return fmt.Errorf("save shipment %s: %w", s.ID, err)
		}
		if _, err := tx.ExecContext(ctx, insertHistorySQL, historyArgs(c)...); err != nil {
			return fmt.Errorf("add history of %s version %d: %w", s.ID, s.Version, err)
		}
	}
	if _, err := tx.ExecContext(ctx, upsertOperationSQL, operationArgs(c.Operation)...); err != nil {
		return fmt.Errorf("save operation %s: %w", c.Operation.ID, err)
	}
	return nil
}

// The statements of Apply; see the note on Record's statements.
const (
	upsertShipmentSQL = `
UPDATE dbo.shipments
SET recipient = @s_recipient, destination = @s_destination, weight_grams = @s_weight_grams,
    service = @s_service, status = @s_status, version = @s_version,
    created_at = @s_created_at, updated_at = @s_updated_at
WHERE id = @s_id;
IF @@ROWCOUNT = 0
    INSERT INTO dbo.shipments (` + shipmentColumns + `)
    VALUES (@s_id, @s_recipient, @s_destination, @s_weight_grams, @s_service, @s_status,
            @s_version, @s_created_at, @s_updated_at);`

	deleteShipmentSQL = `DELETE FROM dbo.shipments WHERE id = @s_id;`

	insertHistorySQL = `
INSERT INTO dbo.history (shipment_id, version, change_type, status, at, operation_id)
VALUES (@id, @version, @type, @status, @at, @op);`

	upsertOperationSQL = `
UPDATE dbo.operations
SET kind = @op_kind, shipment_id = @op_shipment_id, status = @op_status,
    resource_version = @op_resource_version, error_code = @op_error_code,
    error_message = @op_error_message, created_at = @op_created_at, last_updated_at = @op_updated_at
WHERE id = @op_id;
IF @@ROWCOUNT = 0
    INSERT INTO dbo.operations (` + operationColumns + `)
    VALUES (@op_id, @op_kind, @op_shipment_id, @op_status, @op_resource_version,
            @op_error_code, @op_error_message, @op_created_at, @op_updated_at);`

	saveStateSQL = `
UPDATE dbo.projector_state
SET applied_position = @checkpoint,
    feed_head = CASE WHEN feed_head > @head THEN feed_head ELSE @head END,
    last_committed_at = COALESCE(@committed_at, last_committed_at),
    last_applied_at = COALESCE(@applied_at, last_applied_at),
    checkpoint_operation_id = COALESCE(@checkpoint_op, checkpoint_operation_id)
WHERE id = 1;`
)

// historyArgs are the parameters of insertHistorySQL: the entry's shipment
// version, stamped with the shipment's own time of change.
func historyArgs(c *store.Change) []any {
	s := c.Shipment
	return []any{sql.Named("id", s.ID), sql.Named("version", s.Version), sql.Named("type", string(c.Change)),
		sql.Named("status", string(s.Status)), sql.Named("at", utc(s.UpdatedAt)), sql.Named("op", c.Operation.ID)}
}

// stateArgs are the parameters of saveStateSQL; with no entry applied (last
// nil) the times stay as they were.
func stateArgs(checkpoint, feedHead int64, last *store.Change, now time.Time) []any {
	var committedAt, appliedAt sql.NullTime
	var op sql.NullString
	if last != nil {
		committedAt = sql.NullTime{Time: utc(last.CommittedAt), Valid: true}
		appliedAt = sql.NullTime{Time: utc(now), Valid: true}
		op = sql.NullString{String: last.Operation.ID, Valid: true}
	}
	return []any{sql.Named("checkpoint", checkpoint), sql.Named("head", feedHead),
		sql.Named("committed_at", committedAt), sql.Named("applied_at", appliedAt), sql.Named("checkpoint_op", op)}
}

// Checkpoint returns how far the projection has applied its feed.
func (p *Projection) Checkpoint(ctx context.Context) (store.Checkpoint, error) {
	var cp store.Checkpoint
	var op, identity sql.NullString
	if err := p.db.QueryRowContext(ctx, `
SELECT applied_position, checkpoint_operation_id, feed_identity FROM dbo.projector_state WHERE id = 1;`).Scan(
		&cp.Position, &op, &identity); err != nil {
		return store.Checkpoint{}, fmt.Errorf("sqlserver: read checkpoint: %w", classify(err))
	}
	cp.OperationID, cp.FeedIdentity = op.String, identity.String
	return cp, nil
}

// Follow records the feed the projection follows, once, and returns it.
func (p *Projection) Follow(ctx context.Context, identity string) (string, error) {
	if identity == "" {
		return "", errors.New("sqlserver: follow: the feed has no identity")
	}
	var following string
	if err := p.db.QueryRowContext(ctx, `
UPDATE dbo.projector_state SET feed_identity = @identity WHERE id = 1 AND feed_identity IS NULL;
SELECT feed_identity FROM dbo.projector_state WHERE id = 1;`, sql.Named("identity", identity)).Scan(&following); err != nil {
		return "", fmt.Errorf("sqlserver: follow feed %s: %w", identity, classify(err))
	}
	return following, nil
}

// nullTime reads a nullable time column; NULL is the zero time.
func nullTime(t sql.NullTime) time.Time {
	if !t.Valid {
		return time.Time{}
	}
	return t.Time.UTC()
}
