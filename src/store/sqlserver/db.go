package sqlserver

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"log/slog"
	"time"

	mssql "github.com/microsoft/go-mssqldb"
	"github.com/microsoft/go-mssqldb/azuread"
)

// Config tunes a store. The zero value is ready to use.
type Config struct {
	// Now is the clock that stamps CommittedAt and the projector's applied
	// time (nil: time.Now). Times are stored in UTC at 100 ns precision
	// (DATETIME2(7)).
	Now func() time.Time
	// Logger receives migrations and warnings (nil: discard).
	Logger *slog.Logger
	// SkipMigrations leaves the schema alone: opening then only checks that
	// the database has every migration this build needs, and fails if not.
	// For a role whose database user may not change the schema. The zero
	// value, false, applies pending migrations on open, so a plain
	// Config{} migrates (a field named Migrate could not default to true).
	SkipMigrations bool
	// MigrationLockTimeout bounds the wait for another replica's migration
	// (default 1m).
	MigrationLockTimeout time.Duration
}

func (c Config) withDefaults() (Config, error) {
	if c.Now == nil {
		c.Now = time.Now
	}
	c.Logger = orDiscard(c.Logger)
	if c.MigrationLockTimeout == 0 {
		c.MigrationLockTimeout = defaultMigrationLockTimeout
	}
	if c.MigrationLockTimeout < 0 {
		return c, errors.New("sqlserver: MigrationLockTimeout must not be negative")
	}
	return c, nil
}

func orDiscard(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l
}

// connector picks the driver: azuread's for Entra ID, the plain one for SQL
// logins. Connectors are used rather than sql.Open with a driver name so that
// nothing depends on the drivers' global registrations.
func connector(dsn string) (driver.Connector, error) {
	fed, err := usesFedAuth(dsn)
	if err != nil {
		return nil, err
	}
	var c *mssql.Connector
	if fed {
		c, err = azuread.NewConnector(dsn)
	} else {
		c, err = mssql.NewConnector(dsn)
	}
	if err != nil {
		// The driver's own messages leave credentials out.
		return nil, fmt.Errorf("sqlserver: parse DSN: %w", err)
	}
	return c, nil
}

// OpenDB opens a connection pool for dsn, with the driver the DSN asks for,
// and checks the server answers. The stores open their own; this is for
// callers of MigrateWrite and MigrateProjection.
func OpenDB(ctx context.Context, dsn string) (*sql.DB, error) {
	c, err := connector(dsn)
	if err != nil {
		return nil, err
	}
	db := sql.OpenDB(c)
	// Azure SQL's gateway drops connections idle for about 30 minutes; retire
	// them sooner so that a request never meets a dead one.
	db.SetConnMaxIdleTime(5 * time.Minute)
	db.SetConnMaxLifetime(30 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("sqlserver: connect: %w", err)
	}
	return db, nil
}

// logIsolation says, once at open, whether plain reads in this database block
// on writers. With READ_COMMITTED_SNAPSHOT on (the Azure SQL Database
// default) a reader sees the last committed version of a row and never waits;
// with it off (a new SQL Server database's default) a reader of a row a
// writer holds waits until that writer ends. Both are correct here; the
// second only adds latency to feed reads and queries.
func logIsolation(ctx context.Context, db *sql.DB, logger *slog.Logger) {
	var on bool
	err := db.QueryRowContext(ctx,
		`SELECT is_read_committed_snapshot_on FROM sys.databases WHERE database_id = DB_ID();`).Scan(&on)
	switch {
	case err != nil:
		logger.Debug("sqlserver: cannot read READ_COMMITTED_SNAPSHOT", "err", err)
	case !on:
		logger.Info("sqlserver: READ_COMMITTED_SNAPSHOT is off: reads may wait for writers; " +
			"ALTER DATABASE CURRENT SET READ_COMMITTED_SNAPSHOT ON avoids that")
	}
}

// openMigrated opens a pool for dsn and brings the schema of one database
// (writeSet or projectionSet) up to date, unless cfg.SkipMigrations; both
// stores open this way.
func openMigrated(ctx context.Context, dsn, set string, cfg Config) (*sql.DB, Config, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, cfg, err
	}
	db, err := OpenDB(ctx, dsn)
	if err != nil {
		return nil, cfg, err
	}
	if err := prepareSchema(ctx, db, set, cfg); err != nil {
		_ = db.Close()
		return nil, cfg, err
	}
	logIsolation(ctx, db, cfg.Logger)
	return db, cfg, nil
}
