package sqlserver

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/dropoff-dev/dropoff/src/store"
)

var _ store.FeedLag = (*WriteStore)(nil)

// FeedLag returns the feed's head and the commit time of the first entry
// after after, both below MIN_ACTIVE_ROWVERSION() as ReadChanges reads them.
// It reads only the position and committed_at columns, which is all the
// query API's user may read of the feed (dbinit.go).
func (s *WriteStore) FeedLag(ctx context.Context, after int64) (_ int64, _ time.Time, err error) {
	defer func() { err = classify(err) }()
	var head []byte
	var next sql.NullTime
	err = s.db.QueryRowContext(ctx, `
DECLARE @bound BINARY(8) = MIN_ACTIVE_ROWVERSION();
SELECT
  (SELECT TOP (1) position FROM dbo.change_feed WITH (READCOMMITTEDLOCK)
    WHERE position < @bound ORDER BY position DESC),
  (SELECT TOP (1) committed_at FROM dbo.change_feed WITH (READCOMMITTEDLOCK)
    WHERE position > @after AND position < @bound ORDER BY position);`,
		sql.Named("after", rowversionOf(after))).Scan(&head, &next)
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("sqlserver: read feed lag: %w", err)
	}
	var pos int64
	if head != nil {
		if pos, err = positionFromRowversion(head); err != nil {
			return 0, time.Time{}, fmt.Errorf("sqlserver: read feed lag: %w", err)
		}
	}
	if !next.Valid {
		return pos, time.Time{}, nil
	}
	return pos, next.Time, nil
}
