package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/dropoff-dev/dropoff/src/store"
)

// Projection is the read database, in its own SQLite file: the projector
// applies the change feed to it (Apply) and the query API reads it (Queries).
type Projection struct {
	db      pools
	st      *projectionStatements // prepared once (statements.go)
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
	st, err := prepareProjectionStatements(ctx, db)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("open projection: %w", err), db.close())
	}
	return &Projection{db: db, st: st, cfg: cfg}, nil
}

// Close closes the statements and the database; calls after it fail.
func (p *Projection) Close() error { return errors.Join(p.st.all.close(), p.db.close()) }

// Commits counts the transactions Apply has committed.
func (p *Projection) Commits() int64 { return p.commits.Load() }

// Apply applies changes and moves the checkpoint in one transaction, so a
// crash leaves either all of the batch or none of it: the projector restarts
// from the checkpoint and never applies an entry twice. Entries at or below
// the checkpoint are skipped.
func (p *Projection) Apply(ctx context.Context, changes []store.Change, feedHead int64) (err error) {
	defer func() { err = classify(err) }()
	// A batch is short and bounded: once begun it runs to its commit or
	// rollback, whatever ctx does, like the write store's (shield). A
	// statement given a cancellable context costs the driver a watching
	// goroutine each; there are three per change.
	ctx, err = shield(ctx)
	if err != nil {
		return fmt.Errorf("apply: %w", err)
	}
	tx, err := p.db.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin apply: %w", err)
	}
	defer tx.Rollback() // a no-op once committed; undoes the batch otherwise
	stmts := newTxStatements(tx)
	var checkpoint int64
	if err := stmts.stmt(ctx, p.st.checkpoint).QueryRowContext(ctx).Scan(&checkpoint); err != nil {
		return fmt.Errorf("read checkpoint: %w", err)
	}
	var last *store.Change
	for i := range changes {
		c := &changes[i]
		if c.Position <= checkpoint {
			continue // applied already, by an earlier batch or earlier in this one
		}
		if err := p.applyChange(ctx, stmts, c); err != nil {
			return fmt.Errorf("apply change %d: %w", c.Position, err)
		}
		checkpoint, last = c.Position, c
	}
	if err := p.saveState(ctx, stmts, checkpoint, feedHead, last); err != nil {
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
func (p *Projection) saveState(ctx context.Context, stmts *txStatements, checkpoint, feedHead int64, last *store.Change) error {
	var err error
	if last == nil {
		_, err = stmts.stmt(ctx, p.st.saveFeedHead).ExecContext(ctx, feedHead)
	} else {
		_, err = stmts.stmt(ctx, p.st.saveCheckpoint).ExecContext(ctx,
			checkpoint, feedHead, formatTime(last.CommittedAt), formatTime(p.cfg.Now()), last.Operation.ID)
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
func (p *Projection) applyChange(ctx context.Context, stmts *txStatements, c *store.Change) error {
	if s := c.Shipment; s != nil {
		var err error
		if s.Deleted {
			_, err = stmts.stmt(ctx, p.st.deleteShipment).ExecContext(ctx, s.ID)
		} else {
			_, err = stmts.stmt(ctx, p.st.upsertShipment).ExecContext(ctx, shipmentArgs(*s)...)
		}
		if err != nil {
			return fmt.Errorf("save shipment %s: %w", s.ID, err)
		}
		if _, err := stmts.stmt(ctx, p.st.addHistory).ExecContext(ctx,
			s.ID, s.Version, string(c.Change), string(s.Status), formatTime(s.UpdatedAt), c.Operation.ID); err != nil {
			return fmt.Errorf("add history of %s version %d: %w", s.ID, s.Version, err)
		}
	}
	if _, err := stmts.stmt(ctx, p.st.upsertOperation).ExecContext(ctx, operationArgs(c.Operation)...); err != nil {
		return fmt.Errorf("save operation %s: %w", c.Operation.ID, err)
	}
	return nil
}

// Checkpoint returns how far the projection has applied its feed.
func (p *Projection) Checkpoint(ctx context.Context) (store.Checkpoint, error) {
	var cp store.Checkpoint
	var op, identity sql.NullString
	err := p.db.read.QueryRowContext(ctx,
		"SELECT checkpoint, checkpoint_operation_id, feed_identity FROM projector_state WHERE id = 1").Scan(&cp.Position, &op, &identity)
	if err != nil {
		return store.Checkpoint{}, fmt.Errorf("read checkpoint: %w", classify(err))
	}
	cp.OperationID, cp.FeedIdentity = op.String, identity.String
	return cp, nil
}

// Follow records the feed the projection follows, once, and returns it.
func (p *Projection) Follow(ctx context.Context, identity string) (string, error) {
	if identity == "" {
		return "", errors.New("sqlite: follow: the feed has no identity")
	}
	if _, err := p.db.write.ExecContext(ctx,
		"UPDATE projector_state SET feed_identity = ? WHERE id = 1 AND feed_identity IS NULL", identity); err != nil {
		return "", fmt.Errorf("follow feed %s: %w", identity, classify(err))
	}
	cp, err := p.Checkpoint(ctx)
	if err != nil {
		return "", err
	}
	return cp.FeedIdentity, nil
}
