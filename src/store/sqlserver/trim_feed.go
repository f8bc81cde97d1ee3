package sqlserver

import (
	"context"
	"database/sql"
	"time"
)

// The projector's retention of the feed, in the write database.

// TrimFeed deletes feed entries below position below (the projection's
// checkpoint) committed before before. It looks only at the @limit lowest
// positions, the oldest entries: a range read of the clustered key, however
// long the feed. An entry kept as too young holds back younger ones for a
// pass.
func (s *WriteStore) TrimFeed(ctx context.Context, below int64, before time.Time, limit int) (int, error) {
	return trimRows(ctx, s.db, "trim feed", `
DELETE FROM dbo.change_feed
WHERE committed_at < @before AND position IN (
    SELECT TOP (@limit) position FROM dbo.change_feed
    WHERE position < CAST(@below AS BINARY(8)) ORDER BY position);`,
		sql.Named("limit", int64(limit)), sql.Named("below", rowversionOf(below)), sql.Named("before", utc(before)))
}
