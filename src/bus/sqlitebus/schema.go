package sqlitebus

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"sort"
)

// errSchemaNewer: the file was written by a newer Dropoff, whose schema this
// one does not know.
var errSchemaNewer = errors.New("the queue's schema is newer than this program")

// migrations holds the schema, one file per version, applied in name order.
//
//go:embed migrations/*.sql
var migrations embed.FS

// migrate applies the migrations newer than the file's user_version, in one
// transaction. BEGIN IMMEDIATE makes two processes opening a new file at once
// take turns; the second finds the schema already there.
func migrate(ctx context.Context, conn *sql.Conn) error {
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return fmt.Errorf("list migrations: %w", err)
	}
	sort.Strings(names)
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer tx.Rollback()
	var version int
	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if version > len(names) {
		return fmt.Errorf("schema version %d, this program's %d: %w", version, len(names), errSchemaNewer)
	}
	for i := version; i < len(names); i++ {
		text, err := migrations.ReadFile(names[i])
		if err != nil {
			return fmt.Errorf("read %s: %w", names[i], err)
		}
		if _, err := tx.ExecContext(ctx, string(text)); err != nil {
			return fmt.Errorf("apply %s: %w", names[i], err)
		}
	}
	// PRAGMA takes no parameters; the number is ours, not input.
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", len(names))); err != nil {
		return fmt.Errorf("write schema version: %w", err)
	}
	return tx.Commit()
}
