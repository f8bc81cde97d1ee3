package sqlserver

import (
	"context"
	"database/sql"
	"time"
)

// The projector's retention of the projection: its copies of operations.
// Shipments and their history are the product's data and stay.

// TrimOperations deletes the projection's operations last updated before
// before. GET /v1/operations/{id} then answers as for an id never recorded.
func (p *Projection) TrimOperations(ctx context.Context, before time.Time, limit int) (int, error) {
	return trimRows(ctx, p.db, "trim operations", `
DELETE TOP (@limit) FROM dbo.operations WHERE last_updated_at < @before;`, // ix_operations_by_update
		sql.Named("limit", int64(limit)), sql.Named("before", utc(before)))
}
