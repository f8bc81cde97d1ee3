package sqlite

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dropoff-dev/dropoff/src/groupcommit"
	"github.com/dropoff-dev/dropoff/src/shipment"
	"github.com/dropoff-dev/dropoff/src/store"
)

// WriteStore is the worker's database and its change feed, in one SQLite file.
type WriteStore struct {
	db      pools
	st      *writeStatements // prepared once (statements.go)
	cfg     Config
	commits atomic.Int64

	writer    *groupcommit.Writer[*batch] // runs every Update (writer.go)
	closeOnce sync.Once
	closeErr  error
}

var (
	_ store.WriteStore = (*WriteStore)(nil)
	_ store.Feed       = (*WriteStore)(nil)
)

// OpenWriteStore opens (creating if needed) the write database at path and
// applies its migrations. Close it when done.
func OpenWriteStore(ctx context.Context, path string, cfg Config) (*WriteStore, error) {
	return openWriteStore(ctx, path, cfg, maxBatchTime)
}

// openWriteStore is OpenWriteStore with the writer's time bound (tests
// raise it to make batches predictable).
func openWriteStore(ctx context.Context, path string, cfg Config, batchTime time.Duration) (*WriteStore, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("open write store: %w", err)
	}
	db, err := openPools(ctx, path, cfg, writeMigrations)
	if err != nil {
		return nil, fmt.Errorf("open write store: %w", err)
	}
	st, err := prepareWriteStatements(ctx, db)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("open write store: %w", err), db.close())
	}
	s := &WriteStore{db: db, st: st, cfg: cfg}
	if err := s.startWriter(batchTime); err != nil { // Close stops it and waits for it
		return nil, errors.Join(fmt.Errorf("open write store: %w", err), st.all.close(), db.close())
	}
	return s, nil
}

// Close waits for the transaction in flight to commit, fails the Updates
// still waiting for the writer, stops the writer and closes the database.
// Updates called after Close fail, and so do reads.
func (s *WriteStore) Close() error {
	s.closeOnce.Do(func() {
		s.writer.Close() // the writer's statements are no longer in use
		s.closeErr = errors.Join(s.st.all.close(), s.db.close())
	})
	return s.closeErr
}

// Commits counts the write transactions committed. With group commit one
// transaction may hold the Updates of many concurrent callers, so a test or a
// benchmark can check how many commands share an fsync.
func (s *WriteStore) Commits() int64 { return s.commits.Load() }

// Update runs fn in a BEGIN IMMEDIATE transaction, which holds the file's
// write lock from the start, so fn's reads cannot go stale before it writes.
// Concurrent Updates share one transaction (group commit, writer.go), each
// in its own savepoint: fn runs alone, after the fns committed before it,
// and if it fails nothing it did is kept while the others' work is. Update
// returns nil only once the transaction holding fn's work has committed.
//
// If ctx ends before fn starts, fn never runs and Update returns ctx.Err().
// If it has ended when fn returns nil, fn's work is undone and Update reports
// it, as a failed commit would be. Once fn's work is in the transaction,
// Update waits for the commit whatever ctx does.
func (s *WriteStore) Update(ctx context.Context, fn func(ctx context.Context, tx store.WriteTx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return classify(s.writer.Do(ctx, s.update(ctx, fn)))
}

// Shipments lists live shipments with id > after, in id order, at most limit.
func (s *WriteStore) Shipments(ctx context.Context, after string, limit int) ([]shipment.Shipment, error) {
	if limit < 1 {
		return nil, fmt.Errorf("sqlite: list shipments: limit %d must be positive", limit)
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
