package sqlserver

import (
	"context"
	"database/sql"
	"fmt"
)

// Retention: the deletes of docs/retention.md, one file per role that runs
// them (so that the grants test checks each against that role's rights):
// trim_worker.go, trim_feed.go, trim_projection.go. Each deletes at most
// @limit rows in one statement of its own (autocommit: a short transaction,
// so that the pipeline's own transactions wait for it only briefly). SQL
// Server reuses the pages they free within its files: nothing to compact.

func trimRows(ctx context.Context, db *sql.DB, what, query string, args ...any) (int, error) {
	res, err := db.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, fmt.Errorf("sqlserver: %s: %w", what, classify(err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("sqlserver: %s: %w", what, err)
	}
	return int(n), nil
}

// Compact does nothing, by design: SQL Server reuses the pages a trim frees
// within its files, so there is no space to give back, and shrinking a data
// file (DBCC SHRINKFILE) is an operator's decision that fragments its
// indexes, not something a role should do every minute. It is here so that
// both adapters satisfy store.Compacter and the roles need not ask.
func (s *WriteStore) Compact(context.Context) error { return nil }

// Compact does nothing, as WriteStore.Compact.
func (p *Projection) Compact(context.Context) error { return nil }
