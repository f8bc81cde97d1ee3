package sqlitebus

import (
	"context"
	"time"
)

// CheckpointForTest moves every page from the WAL into the main file, so
// that damage written to the main file is what a reader sees.
func CheckpointForTest(q *Queue) error {
	_, err := q.db.ExecContext(context.Background(), "PRAGMA wal_checkpoint(TRUNCATE)")
	return err
}

// ExpireIntactCheck makes the next readiness check run quick_check.
func ExpireIntactCheck(q *Queue) {
	q.intactMu.Lock()
	defer q.intactMu.Unlock()
	q.intactAt = time.Time{}
}
