package sqlserver

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The schema of each database is a numbered list of T-SQL scripts, embedded in
// the binary: migrations/write/NNNN_name.sql and migrations/projection/….
// A script runs once, in one transaction together with the row that records
// it in dbo.schema_migrations. Scripts are never edited once released; a
// change is a new script. Because a script runs in a transaction, it cannot
// hold a statement SQL Server refuses there (ALTER DATABASE, for one); such
// settings belong to whoever creates the database.
//
//go:embed migrations
var migrationFiles embed.FS

// The two migration sets.
const (
	writeSet      = "write"
	projectionSet = "projection"
)

// defaultMigrationLockTimeout bounds how long a replica waits for another
// one's migration to finish.
const defaultMigrationLockTimeout = time.Minute

// MigrateWrite brings a write database's schema up to date, for
// `dropoff migrate`. It is safe to run from several replicas at once (see migrate).
func MigrateWrite(ctx context.Context, db *sql.DB, logger *slog.Logger) error {
	return migrate(ctx, db, writeSet, defaultMigrationLockTimeout, orDiscard(logger))
}

// MigrateProjection brings a projection database's schema up to date.
func MigrateProjection(ctx context.Context, db *sql.DB, logger *slog.Logger) error {
	return migrate(ctx, db, projectionSet, defaultMigrationLockTimeout, orDiscard(logger))
}

// migration is one script: its version, its name and its batches.
type migration struct {
	version int
	name    string
	batches []string
}

var migrationName = regexp.MustCompile(`^([0-9]+)_([a-z0-9_]+)\.sql$`)

// loadMigrations reads one set, in version order, and checks the versions
// are 1, 2, 3, … with no gap or repeat.
func loadMigrations(fsys fs.FS, dir string) ([]migration, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("read migrations %s: %w", dir, err)
	}
	var ms []migration
	for _, e := range entries {
		parts := migrationName.FindStringSubmatch(e.Name())
		if e.IsDir() || parts == nil {
			return nil, fmt.Errorf("sqlserver: migration %s/%s: want a file named NNNN_name.sql", dir, e.Name())
		}
		version, _ := strconv.Atoi(parts[1])
		script, err := fs.ReadFile(fsys, path.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", e.Name(), err)
		}
		ms = append(ms, migration{version: version, name: parts[2], batches: splitBatches(string(script))})
	}
	slices.SortFunc(ms, func(a, b migration) int { return a.version - b.version })
	for i, m := range ms {
		if m.version != i+1 {
			return nil, fmt.Errorf("sqlserver: migrations %s: version %d where %d was expected", dir, m.version, i+1)
		}
	}
	return ms, nil
}

// splitBatches cuts a script at lines holding only GO, as sqlcmd and SSMS do:
// some statements (CREATE VIEW, CREATE PROCEDURE) must start a batch, and GO
// is how a script says so. GO is a client-side separator, never sent to the server.
// Batches holding nothing but blank lines and comments are dropped.
func splitBatches(script string) []string {
	var batches []string
	var cur []string
	flush := func() {
		if hasStatement(cur) {
			batches = append(batches, strings.TrimSpace(strings.Join(cur, "\n")))
		}
		cur = nil
	}
	for line := range strings.Lines(script) {
		line = strings.TrimRight(line, "\r\n")
		if strings.EqualFold(strings.TrimSpace(line), "GO") {
			flush()
			continue
		}
		cur = append(cur, line)
	}
	flush()
	return batches
}

func hasStatement(lines []string) bool {
	for _, l := range lines {
		l = strings.TrimSpace(l)
		if l != "" && !strings.HasPrefix(l, "--") {
			return true
		}
	}
	return false
}

// queryer is what appliedVersions needs: a pool, a connection or a transaction.
type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// appliedVersions lists the versions recorded in dbo.schema_migrations; none
// when the table does not exist yet. It only reads, so a role without DDL
// rights can run it.
func appliedVersions(ctx context.Context, q queryer) (map[int]bool, error) {
	rows, err := q.QueryContext(ctx, `
IF OBJECT_ID(N'dbo.schema_migrations', N'U') IS NOT NULL
    SELECT version FROM dbo.schema_migrations;`)
	if err != nil {
		return nil, fmt.Errorf("read schema_migrations: %w", err)
	}
	defer rows.Close()
	applied := map[int]bool{}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			return nil, fmt.Errorf("read schema_migrations: %w", err)
		}
		applied[v] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read schema_migrations: %w", err)
	}
	return applied, nil
}

func pendingMigrations(all []migration, applied map[int]bool) []migration {
	var pending []migration
	for _, m := range all {
		if !applied[m.version] {
			pending = append(pending, m)
		}
	}
	return pending
}

// ErrSchemaBehind marks a database that lacks migrations this build needs:
// someone allowed to change the schema must run `dropoff migrate` (in a
// deployment, `dropoff dbinit` does). Until then a role cannot start; trying
// again later may succeed.
var ErrSchemaBehind = errors.New("schema behind this build")

// checkSchema fails with ErrSchemaBehind when the database lacks a migration
// this build needs, and warns when it has ones this build does not know (a
// newer build migrated it: migrations only add, so this one still works). It
// changes nothing (Config.SkipMigrations).
func checkSchema(ctx context.Context, db *sql.DB, set string, logger *slog.Logger) error {
	all, err := loadMigrations(migrationFiles, "migrations/"+set)
	if err != nil {
		return err
	}
	applied, err := appliedVersions(ctx, db)
	if err != nil {
		return err
	}
	if len(applied) > len(all)-len(pendingMigrations(all, applied)) {
		logger.Warn("sqlserver: the database has migrations this build does not know: a newer build migrated it",
			"database", set, "known", len(all))
	}
	p := pendingMigrations(all, applied)
	switch {
	case len(p) == 0:
		return nil
	case len(applied) == 0:
		return fmt.Errorf("sqlserver: the %s database has no Dropoff schema (%w): run `dropoff migrate`, or `dropoff dbinit` in a deployment, as a user who may change the schema", set, ErrSchemaBehind)
	}
	return fmt.Errorf("sqlserver: the %s database lacks migration %d (%s) and later (%w): run `dropoff migrate`, or `dropoff dbinit` in a deployment", set, p[0].version, p[0].name, ErrSchemaBehind)
}

// migrate applies the pending migrations of one set. Replicas starting
// together would race to apply the same script, so the work is serialised by
// an application lock (sp_getapplock), held by one session for the duration:
// the first replica applies, the others wait, then find nothing to do. The
// common case, nothing pending, is checked first without the lock and with
// reads only, so a role whose database user may not change the schema opens
// a database that dbinit or `dropoff migrate` already brought up to date.
func migrate(ctx context.Context, db *sql.DB, set string, lockTimeout time.Duration, logger *slog.Logger) error {
	all, err := loadMigrations(migrationFiles, "migrations/"+set)
	if err != nil {
		return err
	}
	applied, err := appliedVersions(ctx, db)
	if err != nil {
		return err
	}
	if len(pendingMigrations(all, applied)) == 0 {
		return nil
	}
	// A session lock belongs to one connection: pin one for the lock and the work.
	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("sqlserver: migrate %s: %w", set, err)
	}
	defer conn.Close()
	resource := "dropoff/migrate/" + set
	if err := getAppLock(ctx, conn, resource, lockTimeout); err != nil {
		return fmt.Errorf("sqlserver: migrate %s: %w", set, err)
	}
	defer releaseAppLock(ctx, conn, resource, logger)

	if _, err := conn.ExecContext(ctx, createSchemaMigrations); err != nil {
		return fmt.Errorf("sqlserver: migrate %s: create schema_migrations: %w", set, err)
	}
	// Read again under the lock: another replica may have applied them meanwhile.
	if applied, err = appliedVersions(ctx, conn); err != nil {
		return err
	}
	for _, m := range pendingMigrations(all, applied) {
		if err := applyMigration(ctx, conn, m); err != nil {
			return fmt.Errorf("sqlserver: migrate %s: %04d_%s: %w", set, m.version, m.name, err)
		}
		logger.Info("sqlserver: migration applied", "database", set, "version", m.version, "name", m.name)
	}
	return nil
}

const createSchemaMigrations = `
IF OBJECT_ID(N'dbo.schema_migrations', N'U') IS NULL
    CREATE TABLE dbo.schema_migrations (
        version    INT           NOT NULL CONSTRAINT pk_schema_migrations PRIMARY KEY,
        name       NVARCHAR(200) NOT NULL,
        applied_at DATETIME2(7)  NOT NULL
    );`

// applyMigration runs one script and records it, in one transaction: DDL is
// transactional in SQL Server, so a script that fails leaves nothing behind.
func applyMigration(ctx context.Context, conn *sql.Conn, m migration) error {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for i, b := range m.batches {
		if _, err := tx.ExecContext(ctx, b); err != nil {
			return fmt.Errorf("batch %d: %w", i+1, err)
		}
	}
	if _, err := tx.ExecContext(ctx,
		`INSERT INTO dbo.schema_migrations (version, name, applied_at) VALUES (@version, @name, SYSUTCDATETIME());`,
		sql.Named("version", m.version), sql.Named("name", m.name)); err != nil {
		return fmt.Errorf("record: %w", err)
	}
	return tx.Commit()
}

// getAppLock takes an exclusive application lock owned by the session, so it
// outlives the transactions run under it and dies with the connection if the
// process does.
func getAppLock(ctx context.Context, conn *sql.Conn, resource string, timeout time.Duration) error {
	var result int
	err := conn.QueryRowContext(ctx, `
DECLARE @result INT;
EXEC @result = sp_getapplock @Resource = @resource, @LockMode = N'Exclusive',
    @LockOwner = N'Session', @LockTimeout = @timeout_ms;
SELECT @result;`,
		sql.Named("resource", resource), sql.Named("timeout_ms", timeout.Milliseconds())).Scan(&result)
	if err != nil {
		return fmt.Errorf("lock %s: %w", resource, err)
	}
	return appLockResult(resource, result)
}

// appLockResult reads sp_getapplock's return code: 0 granted, 1 granted after
// waiting, negative: not granted.
func appLockResult(resource string, code int) error {
	switch {
	case code >= 0:
		return nil
	case code == -1:
		return fmt.Errorf("sqlserver: lock %s: timed out waiting for another migration", resource)
	case code == -2:
		return fmt.Errorf("sqlserver: lock %s: the request was cancelled", resource)
	case code == -3:
		return fmt.Errorf("sqlserver: lock %s: chosen as deadlock victim", resource)
	default:
		return fmt.Errorf("sqlserver: lock %s: sp_getapplock returned %d", resource, code)
	}
}

// releaseAppLock releases the lock even when ctx is done. If that fails the
// connection is discarded rather than returned to the pool, which ends the
// session and with it the lock.
func releaseAppLock(ctx context.Context, conn *sql.Conn, resource string, logger *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	_, err := conn.ExecContext(ctx, `EXEC sp_releaseapplock @Resource = @resource, @LockOwner = N'Session';`,
		sql.Named("resource", resource))
	if err == nil {
		return
	}
	logger.Warn("sqlserver: release migration lock; discarding the connection", "resource", resource, "error", err)
	_ = conn.Raw(func(any) error { return driver.ErrBadConn })
}
