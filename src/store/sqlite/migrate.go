package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
)

// migrations holds the schema of both files, one directory each. A file is
// named NNNN_what.sql; NNNN is its version. Applied migrations are never
// edited: a change to the schema is a new file.
//
//go:embed migrations/write/*.sql migrations/projection/*.sql
var migrations embed.FS

// The migration directories of the two databases.
const (
	writeMigrations      = "migrations/write"
	projectionMigrations = "migrations/projection"
)

// migration is one schema step.
type migration struct {
	version int
	name    string
	sql     string
}

// migrate applies the migrations in dir that db has not seen yet, all in one
// BEGIN IMMEDIATE transaction (db's connections begin that way): when several
// processes open a fresh file at once, one takes the write lock and migrates,
// the others wait, then find nothing left to do. SQLite's DDL is
// transactional, so a failed migration leaves the schema as it was.
func migrate(ctx context.Context, db *sql.DB, dir string, cfg Config) error {
	all, err := loadMigrations(dir)
	if err != nil {
		return err
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback() // a no-op once committed
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		name       TEXT NOT NULL,
		applied_at TEXT NOT NULL
	) STRICT`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	var current int
	if err := tx.QueryRowContext(ctx, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations").Scan(&current); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	for _, m := range all {
		if m.version <= current {
			continue
		}
		if _, err := tx.ExecContext(ctx, m.sql); err != nil {
			return fmt.Errorf("apply %s: %w", m.name, err)
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
			m.version, m.name, formatTime(cfg.Now())); err != nil {
			return fmt.Errorf("record %s: %w", m.name, err)
		}
		cfg.Logger.Info("sqlite: migration applied", "migration", m.name)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// loadMigrations reads dir's migrations in version order.
func loadMigrations(dir string) ([]migration, error) {
	names, err := fs.Glob(migrations, dir+"/*.sql")
	if err != nil {
		return nil, fmt.Errorf("list migrations: %w", err)
	}
	var all []migration
	for _, name := range names {
		base := path.Base(name)
		prefix, _, _ := strings.Cut(base, "_")
		version, err := strconv.Atoi(prefix)
		if err != nil || version < 1 {
			return nil, fmt.Errorf("sqlite: migration %s: name must start with a positive version number", base)
		}
		text, err := migrations.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", base, err)
		}
		all = append(all, migration{version: version, name: base, sql: string(text)})
	}
	slices.SortFunc(all, func(a, b migration) int { return a.version - b.version })
	for i := 1; i < len(all); i++ {
		if all[i].version == all[i-1].version {
			return nil, fmt.Errorf("sqlite: migrations %s and %s share version %d", all[i-1].name, all[i].name, all[i].version)
		}
	}
	return all, nil
}
