package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strings"
	"time"

	msqlite "modernc.org/sqlite" // registers the "sqlite" database/sql driver
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/dropoff-dev/dropoff/src/defaults"
)

// Config tunes a database file. The zero value is ready to use.
type Config struct {
	// Now is the clock (the feed's CommittedAt, the projection's
	// LastAppliedAt). Default time.Now.
	Now func() time.Time
	// Logger receives migration notices. Default: discard.
	Logger *slog.Logger
	// BusyTimeout is how long a writer waits for another process's write
	// transaction before failing with SQLITE_BUSY. Default 5s.
	BusyTimeout time.Duration
	// Synchronous is SQLite's synchronous setting: "FULL" (default) syncs the
	// WAL on every commit, so a commit survives power loss. "NORMAL" syncs only
	// at checkpoints: still safe against a crash of the program, but the last
	// commits may be lost on power loss. Tests that commit thousands of times
	// use it to stay fast; production keeps FULL.
	Synchronous string
	// MaxReadConns caps the read-only connections. Default 4.
	MaxReadConns int
}

// withDefaults fills in the zero fields and validates the rest.
func (c Config) withDefaults() (Config, error) {
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	err := defaults.Fill("sqlite",
		defaults.Of("BusyTimeout", &c.BusyTimeout, 5*time.Second),
		defaults.Of("MaxReadConns", &c.MaxReadConns, 4))
	if err != nil {
		return c, err
	}
	if c.BusyTimeout < time.Millisecond {
		return c, fmt.Errorf("sqlite: busy timeout %v: must be at least 1ms", c.BusyTimeout)
	}
	if c.Synchronous == "" {
		c.Synchronous = "FULL"
	}
	c.Synchronous = strings.ToUpper(c.Synchronous)
	switch c.Synchronous {
	case "OFF", "NORMAL", "FULL", "EXTRA":
	default:
		return c, fmt.Errorf("sqlite: synchronous %q: want OFF, NORMAL, FULL or EXTRA", c.Synchronous)
	}
	return c, nil
}

// pools are the two connection pools of one database file.
type pools struct {
	write *sql.DB // one connection; every transaction is BEGIN IMMEDIATE
	read  *sql.DB // read-only connections, many at once in WAL mode
}

// openPools opens path for writing and reading and brings its schema up to
// date with the migrations in dir.
func openPools(ctx context.Context, path string, cfg Config, dir string) (pools, error) {
	if path == "" || strings.ContainsAny(path, "?#") {
		return pools{}, fmt.Errorf("sqlite: path %q: must be a non-empty file path without '?' or '#'", path)
	}
	write, err := sql.Open("sqlite", dsn(path, cfg, false))
	if err != nil {
		return pools{}, fmt.Errorf("open %s: %w", path, err)
	}
	// One writer per process: a second one would only wait for the write lock
	// inside SQLite (busy timeout) instead of in database/sql's queue.
	write.SetMaxOpenConns(1)
	if err := firstConnection(ctx, write, cfg.BusyTimeout); err != nil {
		return pools{}, errors.Join(fmt.Errorf("open %s: %w", path, err), write.Close())
	}
	if err := setAutoVacuum(ctx, write, path, cfg.Logger); err != nil {
		return pools{}, errors.Join(fmt.Errorf("open %s: %w", path, err), write.Close())
	}
	if err := migrate(ctx, write, dir, cfg); err != nil {
		return pools{}, errors.Join(fmt.Errorf("migrate %s: %w", path, err), write.Close())
	}
	read, err := sql.Open("sqlite", dsn(path, cfg, true))
	if err != nil {
		return pools{}, errors.Join(fmt.Errorf("open %s: %w", path, err), write.Close())
	}
	read.SetMaxOpenConns(cfg.MaxReadConns)
	read.SetMaxIdleConns(cfg.MaxReadConns)
	return pools{write: write, read: read}, nil
}

// dsn builds the driver's connection string. The pragmas run on every new
// connection; busy_timeout runs first so the others wait instead of failing.
func dsn(path string, cfg Config, readOnly bool) string {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", cfg.BusyTimeout.Milliseconds()))
	if readOnly {
		// Readers never write; query_only makes that a guarantee, and they
		// leave the journal mode (a property of the file) to the writer.
		q.Add("_pragma", "query_only(1)")
	} else {
		q.Add("_pragma", "journal_mode(WAL)")
		q.Add("_pragma", "synchronous("+cfg.Synchronous+")")
		q.Add("_pragma", "foreign_keys(1)")
		// After a checkpoint the WAL is cut back to 64 MiB, so that a burst
		// does not leave it at its largest for good.
		q.Add("_pragma", "journal_size_limit(67108864)")
		// BEGIN IMMEDIATE takes the write lock when the transaction starts,
		// so two writers never both read and then fail to upgrade (a
		// deadlock SQLite would report as SQLITE_BUSY).
		q.Set("_txlock", "immediate")
	}
	return path + "?" + q.Encode()
}

// setAutoVacuum puts the file in incremental auto-vacuum mode, so that
// Compact can give free pages back and the file shrinks when retention
// deletes (without it SQLite keeps a file at its largest size). A file takes
// the mode only while it has no pages, or through VACUUM: a new file in WAL
// mode already has its header, and one made before this mode existed has
// its tables, so either is rewritten once with VACUUM (instant for a new
// file). VACUUM needs the file to itself: if another process has it open,
// the change waits for a later open.
func setAutoVacuum(ctx context.Context, db *sql.DB, path string, logger *slog.Logger) error {
	const incremental = 2
	var mode int
	if err := db.QueryRowContext(ctx, "PRAGMA auto_vacuum").Scan(&mode); err != nil {
		return fmt.Errorf("read auto_vacuum: %w", err)
	}
	if mode == incremental {
		return nil
	}
	if _, err := db.ExecContext(ctx, "PRAGMA auto_vacuum = INCREMENTAL"); err != nil {
		return fmt.Errorf("set auto_vacuum: %w", err)
	}
	if err := db.QueryRowContext(ctx, "PRAGMA auto_vacuum").Scan(&mode); err != nil {
		return fmt.Errorf("read auto_vacuum: %w", err)
	}
	if mode == incremental {
		return nil // a file with nothing in it yet takes the mode at once
	}
	var tables int
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_master").Scan(&tables); err != nil {
		return fmt.Errorf("read schema: %w", err)
	}
	start := time.Now()
	if _, err := db.ExecContext(ctx, "VACUUM"); err != nil {
		logger.Warn("sqlite: could not switch the file to incremental auto-vacuum; it will not shrink until a later open manages it",
			"file", path, "error", err)
		return nil
	}
	if tables > 0 {
		logger.Info("sqlite: file switched to incremental auto-vacuum", "file", path, "took", time.Since(start))
	}
	return nil
}

// firstConnection opens the write pool's connection, retrying while the file
// is busy. Switching a new file to WAL needs an exclusive lock, and when
// several processes open the same new file at once SQLite answers SQLITE_BUSY
// at once instead of waiting (waiting could deadlock), so the busy timeout
// does not cover it. Once the file is in WAL mode the switch is a no-op.
func firstConnection(ctx context.Context, db *sql.DB, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	delay := 5 * time.Millisecond
	for {
		err := db.PingContext(ctx) // opens the connection, running the DSN's pragmas
		if err == nil || !isBusy(err) || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(delay):
		}
		delay = min(2*delay, 100*time.Millisecond)
	}
}

// isBusy reports SQLITE_BUSY, in any of its extended forms.
func isBusy(err error) bool {
	var e *msqlite.Error
	return errors.As(err, &e) && e.Code()&0xff == sqlite3.SQLITE_BUSY
}

// close closes both pools.
func (p pools) close() error {
	return errors.Join(p.read.Close(), p.write.Close())
}

// ping checks that the file can be read.
func (p pools) ping(ctx context.Context) error {
	var one int
	if err := p.read.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("ping: %w", err)
	}
	return nil
}
