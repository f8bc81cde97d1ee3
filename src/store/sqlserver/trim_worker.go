package sqlserver

import (
	"context"
	"database/sql"
	"time"
)

// The worker's retention: its inbox (operations) and idempotency keys.

// TrimOperations deletes recorded operations last updated before before.
func (s *WriteStore) TrimOperations(ctx context.Context, before time.Time, limit int) (int, error) {
	return trimRows(ctx, s.db, "trim operations", `
DELETE TOP (@limit) FROM dbo.operations WHERE last_updated_at < @before;`, // ix_operations_by_update
		sql.Named("limit", int64(limit)), sql.Named("before", utc(before)))
}

// TrimIdempotencyKeys deletes idempotency keys first used before before.
func (s *WriteStore) TrimIdempotencyKeys(ctx context.Context, before time.Time, limit int) (int, error) {
	return trimRows(ctx, s.db, "trim idempotency keys", `
DELETE TOP (@limit) FROM dbo.idempotency_keys WHERE created_at < @before;`, // ix_idempotency_keys_by_age
		sql.Named("limit", int64(limit)), sql.Named("before", utc(before)))
}
