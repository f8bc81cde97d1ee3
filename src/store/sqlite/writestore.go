package sqlite

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/dropoff-dev/dropoff/src/shipment"
	"github.com/dropoff-dev/dropoff/src/store"
)

// WriteStore is the worker's database and its change feed, in one SQLite file.
type WriteStore struct {
	db      pools
	cfg     Config
	commits atomic.Int64
}

var (
	_ store.WriteStore = (*WriteStore)(nil)
	_ store.Feed       = (*WriteStore)(nil)
)

// OpenWriteStore opens (creating if needed) the write database at path and
// applies its migrations. Close it when done.
func OpenWriteStore(ctx context.Context, path string, cfg Config) (*WriteStore, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("open write store: %w", err)
	}
	db, err := openPools(ctx, path, cfg, writeMigrations)
	if err != nil {
		return nil, fmt.Errorf("open write store: %w", err)
	}
	return &WriteStore{db: db, cfg: cfg}, nil
}

// Close closes the database. Updates in flight fail.
func (s *WriteStore) Close() error { return s.db.close() }

// Commits counts the write transactions Update has committed, so a test or a
// benchmark can check that one command costs one commit.
func (s *WriteStore) Commits() int64 { return s.commits.Load() }

// Update runs fn in one BEGIN IMMEDIATE transaction: it holds the file's write
// lock from the start, so fn's reads cannot go stale before it writes. It
// commits if fn returns nil and reports a failed commit; otherwise nothing fn
// did is kept.
func (s *WriteStore) Update(ctx context.Context, fn func(ctx context.Context, tx store.WriteTx) error) error {
	tx, err := s.db.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin write transaction: %w", err)
	}
	defer tx.Rollback() // a no-op once committed; undoes everything otherwise
	if err := fn(ctx, &writeTx{tx: tx, now: s.cfg.Now}); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit write transaction: %w", err)
	}
	s.commits.Add(1)
	return nil
}

// Shipments lists live shipments with id > after, in id order, at most limit.
func (s *WriteStore) Shipments(ctx context.Context, after string, limit int) ([]shipment.Shipment, error) {
	if limit < 1 {
		return nil, fmt.Errorf("list shipments: limit %d must be positive", limit)
	}
	rows, err := s.db.read.QueryContext(ctx, "SELECT "+shipmentColumns+
		" FROM shipments WHERE deleted = 0 AND id > ? ORDER BY id LIMIT ?", after, limit)
	if err != nil {
		return nil, fmt.Errorf("list shipments: %w", err)
	}
	defer rows.Close()
	var items []shipment.Shipment
	for rows.Next() {
		sh, err := scanShipment(rows)
		if err != nil {
			return nil, fmt.Errorf("list shipments: %w", err)
		}
		items = append(items, sh)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list shipments: %w", err)
	}
	return items, nil
}

// Ping checks that the database can be read.
func (s *WriteStore) Ping(ctx context.Context) error { return s.db.ping(ctx) }
