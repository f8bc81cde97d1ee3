package sqlserver

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"log/slog"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	mssql "github.com/microsoft/go-mssqldb"
	"github.com/microsoft/go-mssqldb/azuread"

	"github.com/dropoff-dev/dropoff/src/defaults"
	"github.com/dropoff-dev/dropoff/src/store"
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
	// Credential, when set, signs in with Microsoft Entra ID tokens it issues
	// for Azure SQL, for a DSN that names neither a user nor a fedauth
	// workflow: how a container app's managed identity connects, sharing one
	// credential with Service Bus. A DSN with a fedauth parameter uses the
	// driver's own workflow instead, and one with a user and password a SQL
	// login (the devcontainer).
	Credential azcore.TokenCredential
	// MaxConns is how many connections the pool keeps open and may open at
	// most (default 16). database/sql keeps only two idle connections unless
	// told otherwise, so a worker running 64 sessions would otherwise open a
	// new connection — TCP, TLS and an Entra sign-in — for most
	// transactions. Keep it under the database tier's limit of concurrent
	// workers (Basic: 30).
	MaxConns int
}

// DefaultMaxConns is Config.MaxConns's default.
const DefaultMaxConns = 16

// sqlScope is the token scope of Azure SQL Database.
const sqlScope = "https://database.windows.net/.default"

func (c Config) withDefaults() (Config, error) {
	if c.Now == nil {
		c.Now = time.Now
	}
	c.Logger = orDiscard(c.Logger)
	return c, defaults.Fill("sqlserver",
		defaults.Of("MigrationLockTimeout", &c.MigrationLockTimeout, defaultMigrationLockTimeout),
		defaults.Of("MaxConns", &c.MaxConns, DefaultMaxConns))
}

func orDiscard(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l
}

// connector picks how to sign in: azuread's driver for a DSN with a fedauth
// workflow, Entra ID tokens from cred for a DSN with no user, the plain
// driver (a SQL login) otherwise. Connectors are used rather than sql.Open
// with a driver name so that nothing depends on the drivers' global
// registrations.
func connector(dsn string, cred azcore.TokenCredential) (driver.Connector, error) {
	u, err := checkDSN(dsn)
	if err != nil {
		return nil, err
	}
	var c *mssql.Connector
	switch signInOf(u, cred != nil) {
	case signInFedAuth:
		c, err = azuread.NewConnector(dsn)
	case signInToken:
		c, err = mssql.NewConnectorWithAccessTokenProvider(dsn, func(ctx context.Context) (string, error) {
			tok, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{sqlScope}})
			if err != nil {
				return "", fmt.Errorf("sqlserver: get an Entra ID token: %w", err)
			}
			return tok.Token, nil
		})
	default:
		c, err = mssql.NewConnector(dsn)
	}
	if err != nil {
		// The driver's own messages leave credentials out.
		return nil, fmt.Errorf("%w: %w", ErrBadDSN, err)
	}
	return c, nil
}

// OpenDB opens a connection pool for dsn, with the driver the DSN asks for
// and cfg's credential and pool size, and checks the server answers. The
// stores open their own; this is for callers of MigrateWrite and
// MigrateProjection.
func OpenDB(ctx context.Context, dsn string, cfg Config) (*sql.DB, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	c, err := connector(dsn, cfg.Credential)
	if err != nil {
		return nil, err
	}
	db := newPool(c, cfg.MaxConns)
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("sqlserver: connect: %w: %w", ErrUnreachable, err)
	}
	return db, nil
}

// ErrUnreachable marks a failure to connect and sign in: the server is down
// or still starting, a serverless database is waking, the network or the
// firewall is in the way, or the identity has no user in the database yet
// (dbinit creates them). Trying again later may succeed, so it is also
// store.ErrUnavailable.
var ErrUnreachable = fmt.Errorf("cannot connect: %w", store.ErrUnavailable)

// newPool makes a pool over c that keeps up to n connections, idle ones
// included, and retires them before Azure SQL's gateway drops them (it closes
// connections idle for about 30 minutes), so that a request never meets a
// dead one.
func newPool(c driver.Connector, n int) *sql.DB {
	db := sql.OpenDB(c)
	db.SetMaxOpenConns(n)
	db.SetMaxIdleConns(n)
	db.SetConnMaxIdleTime(5 * time.Minute)
	db.SetConnMaxLifetime(30 * time.Minute)
	return db
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
		logger.Debug("sqlserver: cannot read READ_COMMITTED_SNAPSHOT", "error", err)
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
	db, err := OpenDB(ctx, dsn, cfg)
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
