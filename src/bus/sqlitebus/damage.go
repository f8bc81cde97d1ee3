package sqlitebus

import (
	"context"
	"errors"
	"fmt"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// The file can be damaged while the queue runs (a disk that returns garbage,
// a copy or an editor writing over it). Open checks it once; after that a
// damaged queue must not answer ready while every send fails:
//
//   - an error SQLite reports as SQLITE_CORRUPT or SQLITE_NOTADB, on any
//     path that notes its errors (noteDamage), marks the queue damaged for
//     good: the file does not heal itself;
//   - the readiness check (ping) reads every page again (quick_check) at
//     most every intactEvery, so damage in pages no operation touched yet is
//     found too.
//
// Either way the readiness check then fails, naming the file and what to do.

// intactEvery is how often ping runs quick_check at most.
const intactEvery = 30 * time.Second

// isCorrupt reports SQLite's "the file is damaged" errors.
func isCorrupt(err error) bool {
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return false
	}
	code := e.Code() & 0xff
	return code == sqlite3.SQLITE_CORRUPT || code == sqlite3.SQLITE_NOTADB
}

// noteDamage marks the queue damaged if err says the file is, and returns err.
func (q *Queue) noteDamage(err error) error {
	if err != nil && isCorrupt(err) {
		q.markDamaged(err)
	}
	return err
}

func (q *Queue) markDamaged(cause error) {
	d := fmt.Errorf("sqlitebus: %s: %w: %w", q.path, errDamaged, cause)
	if q.damaged.CompareAndSwap(nil, &d) {
		q.cfg.Logger.Error("the queue's file is damaged; readiness fails from now on", "file", q.path, "error", cause)
	}
}

// checkDamage is ping's part: the damage already seen, or a new quick_check
// if the last is older than intactEvery.
func (q *Queue) checkDamage(ctx context.Context) error {
	if d := q.damaged.Load(); d != nil {
		return *d
	}
	q.intactMu.Lock()
	defer q.intactMu.Unlock()
	if time.Since(q.intactAt) < intactEvery {
		return nil
	}
	if err := checkIntact(ctx, q.db); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("sqlitebus: ping: %w", ctx.Err()) // not damage: the check ran out of time
		}
		q.markDamaged(err)
		return *q.damaged.Load()
	}
	q.intactAt = time.Now()
	return nil
}
