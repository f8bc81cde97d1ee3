package sqlserver

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/dropoff-dev/dropoff/src/shipment"
	"github.com/dropoff-dev/dropoff/src/store"
)

// WriteStore is the write database on SQL Server: the worker's state and the
// change feed. Safe for concurrent use.
type WriteStore struct {
	db  *sql.DB
	cfg Config
}

var (
	_ store.WriteStore = (*WriteStore)(nil)
	_ store.Feed       = (*WriteStore)(nil)
)

// OpenWriteStore connects to the write database named by dsn (a sqlserver://
// URL; with fedauth=… it authenticates with Microsoft Entra ID) and, unless
// cfg.SkipMigrations, brings its schema up to date.
func OpenWriteStore(ctx context.Context, dsn string, cfg Config) (*WriteStore, error) {
	db, cfg, err := openMigrated(ctx, dsn, writeSet, cfg)
	if err != nil {
		return nil, err
	}
	return &WriteStore{db: db, cfg: cfg}, nil
}

// prepareSchema migrates or, with SkipMigrations, only checks.
func prepareSchema(ctx context.Context, db *sql.DB, set string, cfg Config) error {
	if cfg.SkipMigrations {
		return checkSchema(ctx, db, set, cfg.Logger)
	}
	return migrate(ctx, db, set, cfg.MigrationLockTimeout, cfg.Logger)
}

// Close closes the connection pool.
func (s *WriteStore) Close() error { return s.db.Close() }

// Ping checks the database answers.
func (s *WriteStore) Ping(ctx context.Context) error {
	if err := s.db.PingContext(ctx); err != nil {
		return fmt.Errorf("sqlserver: ping write database: %w", err)
	}
	return nil
}

// Update runs fn in one READ COMMITTED transaction.
//
// Why READ COMMITTED and not SNAPSHOT: every read inside fn is a read before
// a write, and takes update locks held to the end (UPDLOCK; see writeTx),
// so a second transaction on the same shipment or operation waits
// for the first and then reads its result, instead of both deciding on the
// same old state. The writes re-check anyway (the version condition, the
// primary keys), so whatever slips through ends as store.ErrConflict, never
// as a lost update. SNAPSHOT would let both read the old state without
// waiting and fail one at write time (error 3960): more retries, same result.
func (s *WriteStore) Update(ctx context.Context, fn func(ctx context.Context, tx store.WriteTx) error) error {
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelReadCommitted})
	if err != nil {
		return fmt.Errorf("sqlserver: begin: %w", classify(err))
	}
	defer tx.Rollback() // after a commit this does nothing
	if err := fn(ctx, &writeTx{tx: tx, now: s.cfg.Now}); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlserver: commit: %w", classify(err))
	}
	return nil
}

// Shipments lists live shipments with id > after in id order, at most limit.
func (s *WriteStore) Shipments(ctx context.Context, after string, limit int) ([]shipment.Shipment, error) {
	if limit < 1 {
		return nil, fmt.Errorf("sqlserver: list shipments: limit %d must be positive", limit)
	}
	if !fits(after, idWidth) {
		return nil, fmt.Errorf("sqlserver: list shipments: cursor of more than %d characters is no shipment id", idWidth)
	}
	rows, err := s.db.QueryContext(ctx, `
SELECT TOP (@limit) `+shipmentColumns+`
FROM dbo.shipments
WHERE deleted = 0 AND id > CAST(@after AS NVARCHAR(64))
ORDER BY id;`,
		sql.Named("limit", int64(limit)), sql.Named("after", str(after)))
	if err != nil {
		return nil, fmt.Errorf("sqlserver: list shipments: %w", err)
	}
	list, err := collect(rows, scanShipment)
	if err != nil {
		return nil, fmt.Errorf("sqlserver: list shipments: %w", err)
	}
	return list, nil
}
