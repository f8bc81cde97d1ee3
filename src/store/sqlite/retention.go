package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Retention: the deletes of docs/retention.md. Each deletes at most limit
// rows in one statement (a short write transaction of its own on the write
// connection, taking turns with the group commit) and returns how many it
// deleted; the caller repeats while a full batch comes back.

// TrimFeed deletes feed entries below position below (the projection's
// checkpoint: applied, and not the entry the checkpoint names) committed
// before before. It looks only at the limit lowest positions, the oldest
// entries, so a pass that finds nothing old enough costs a short range read.
func (s *WriteStore) TrimFeed(ctx context.Context, below int64, before time.Time, limit int) (int, error) {
	return trim(ctx, s.db.write, "trim feed", `
DELETE FROM changes WHERE position IN (
    SELECT position FROM (
        SELECT position, committed_at FROM changes WHERE position < ?1 ORDER BY position LIMIT ?3
    ) WHERE committed_at < ?2)`, below, formatTime(before), limit)
}

// TrimOperations deletes recorded operations last updated before before.
func (s *WriteStore) TrimOperations(ctx context.Context, before time.Time, limit int) (int, error) {
	return trimOperations(ctx, s.db.write, before, limit)
}

// TrimIdempotencyKeys deletes idempotency keys first used before before.
func (s *WriteStore) TrimIdempotencyKeys(ctx context.Context, before time.Time, limit int) (int, error) {
	return trim(ctx, s.db.write, "trim idempotency keys", `
DELETE FROM idempotency_keys WHERE key_digest IN (
    SELECT key_digest FROM idempotency_keys WHERE created_at < ?1 LIMIT ?2)`, formatTime(before), limit)
}

// Compact gives the file's free pages back to the file system, so that the
// file shrinks when its contents do (the file is in incremental auto-vacuum
// mode; see setAutoVacuum).
func (s *WriteStore) Compact(ctx context.Context) error { return compact(ctx, s.db.write) }

// TrimOperations deletes the projection's operations last updated before
// before. GET /v1/operations/{id} then answers as for an id never recorded.
func (p *Projection) TrimOperations(ctx context.Context, before time.Time, limit int) (int, error) {
	return trimOperations(ctx, p.db.write, before, limit)
}

// Compact: see WriteStore.Compact.
func (p *Projection) Compact(ctx context.Context) error { return compact(ctx, p.db.write) }

func trimOperations(ctx context.Context, db *sql.DB, before time.Time, limit int) (int, error) {
	return trim(ctx, db, "trim operations", `
DELETE FROM operations WHERE id IN (
    SELECT id FROM operations WHERE last_updated_at < ?1 LIMIT ?2)`, formatTime(before), limit)
}

func trim(ctx context.Context, db *sql.DB, what, query string, args ...any) (int, error) {
	res, err := db.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", what, classify(err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("%s: %w", what, err)
	}
	return int(n), nil
}

// compact frees the file's free pages and checkpoints the WAL, so that the
// main file is truncated now rather than at the next automatic checkpoint.
// A passive checkpoint waits for no reader; what a reader holds back is
// checkpointed next time.
func compact(ctx context.Context, db *sql.DB) error {
	// At most 2,000 pages (8 MiB) at a time: a long vacuum holds the write
	// lock, and the pipeline's commits wait for it. What is left is given
	// back at the next pass.
	if _, err := db.ExecContext(ctx, "PRAGMA incremental_vacuum(2000)"); err != nil {
		return fmt.Errorf("incremental vacuum: %w", classify(err))
	}
	if _, err := db.ExecContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)"); err != nil {
		return fmt.Errorf("checkpoint: %w", classify(err))
	}
	return nil
}
