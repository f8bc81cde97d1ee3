package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"sync/atomic"

	"github.com/dropoff-dev/dropoff/src/store"
)

// Projection is the read database, in its own SQLite file: the projector
// applies the change feed to it (Apply) and the query API reads it (Queries).
type Projection struct {
	db      pools
	cfg     Config
	commits atomic.Int64
}

var (
	_ store.Projection = (*Projection)(nil)
	_ store.Queries    = (*Projection)(nil)
)

// OpenProjection opens (creating if needed) the projection database at path
// and applies its migrations. Close it when done.
func OpenProjection(ctx context.Context, path string, cfg Config) (*Projection, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("open projection: %w", err)
	}
	db, err := openPools(ctx, path, cfg, projectionMigrations)
	if err != nil {
		return nil, fmt.Errorf("open projection: %w", err)
	}
	return &Projection{db: db, cfg: cfg}, nil
}

// Close closes the database.
func (p *Projection) Close() error { return p.db.close() }

// Commits counts the transactions Apply has committed.
func (p *Projection) Commits() int64 { return p.commits.Load() }

// Apply applies changes and moves the checkpoint in one transaction, so a
// crash leaves either all of the batch or none of it: the projector restarts
// from the checkpoint and never applies an entry twice. Entries at or below
// the checkpoint are skipped.
func (p *Projection) Apply(ctx context.Context, changes []store.Change, feedHead int64) error {
	tx, err := p.db.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin apply: %w", err)
	}
	defer tx.Rollback() // a no-op once committed; undoes the batch otherwise
	var checkpoint int64
	if err := tx.QueryRowContext(ctx, "SELECT checkpoint FROM projector_state WHERE id = 1").Scan(&checkpoint); err != nil {
		return fmt.Errorf("read checkpoint: %w", err)
	}
	var last *store.Change
	for i := range changes {
		c := &changes[i]
		if c.Position <= checkpoint {
			continue // applied already, by an earlier batch or earlier in this one
		}
		if err := applyChange(ctx, tx, c); err != nil {
			return fmt.Errorf("apply change %d: %w", c.Position, err)
		}
		checkpoint, last = c.Position, c
	}
	if err := p.saveState(ctx, tx, checkpoint, feedHead, last); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit apply: %w", err)
	}
	p.commits.Add(1)
	return nil
}

// saveState moves the checkpoint and records the feed head; the head never
// goes back, even if a stale batch is applied again.
func (p *Projection) saveState(ctx context.Context, tx *sql.Tx, checkpoint, feedHead int64, last *store.Change) error {
	var err error
	if last == nil {
		_, err = tx.ExecContext(ctx, "UPDATE projector_state SET feed_head = MAX(feed_head, ?) WHERE id = 1", feedHead)
	} else {
		_, err = tx.ExecContext(ctx, `UPDATE projector_state SET checkpoint = ?, feed_head = MAX(feed_head, ?),
			last_committed_at = ?, last_applied_at = ? WHERE id = 1`,
			checkpoint, feedHead, formatTime(last.CommittedAt), formatTime(p.cfg.Now()))
	}
	if err != nil {
		return fmt.Errorf("save checkpoint %d: %w", checkpoint, err)
	}
	return nil
}

// applyChange writes one entry: the shipment row (upserted, or deleted by a
// cancel), its history entry and the operation, all in the caller's
// transaction. Writing the operation and the shipment together is what gives
// read-your-writes: a reader that sees the operation Succeeded sees its
// shipment version, or a later one.
func applyChange(ctx context.Context, tx *sql.Tx, c *store.Change) error {
	if s := c.Shipment; s != nil {
		var err error
		if s.Deleted {
			_, err = tx.ExecContext(ctx, "DELETE FROM shipments WHERE id = ?", s.ID)
		} else {
			_, err = tx.ExecContext(ctx, "INSERT INTO shipments ("+shipmentColumns+") VALUES ("+placeholders(9)+`)
				ON CONFLICT (id) DO UPDATE SET recipient = excluded.recipient,
				destination = excluded.destination, weight_grams = excluded.weight_grams,
				service = excluded.service, status = excluded.status, version = excluded.version,
				created_at = excluded.created_at, updated_at = excluded.updated_at`, shipmentArgs(*s)...)
		}
		if err != nil {
			return fmt.Errorf("save shipment %s: %w", s.ID, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO history
			(shipment_id, version, type, status, at, operation_id) VALUES (?, ?, ?, ?, ?, ?)`,
			s.ID, s.Version, string(c.Change), string(s.Status), formatTime(s.UpdatedAt), c.Operation.ID); err != nil {
			return fmt.Errorf("add history of %s version %d: %w", s.ID, s.Version, err)
		}
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO operations ("+operationColumns+") VALUES ("+placeholders(9)+`)
		ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, shipment_id = excluded.shipment_id,
		status = excluded.status, resource_version = excluded.resource_version,
		error_code = excluded.error_code, error_message = excluded.error_message,
		created_at = excluded.created_at, last_updated_at = excluded.last_updated_at`,
		operationArgs(c.Operation)...); err != nil {
		return fmt.Errorf("save operation %s: %w", c.Operation.ID, err)
	}
	return nil
}

// Checkpoint returns the position of the last applied entry.
func (p *Projection) Checkpoint(ctx context.Context) (int64, error) {
	var checkpoint int64
	if err := p.db.read.QueryRowContext(ctx, "SELECT checkpoint FROM projector_state WHERE id = 1").Scan(&checkpoint); err != nil {
		return 0, fmt.Errorf("read checkpoint: %w", err)
	}
	return checkpoint, nil
}
