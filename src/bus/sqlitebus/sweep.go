package sqlitebus

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// sweepLimit bounds the expired messages moved in one sweep; more wait for
// the next tick.
const sweepLimit = 1000

// sweep, run by the writer about once a second, moves expired messages that
// no receiver is looking at (to the dead-letter queue, or away) and forgets
// message ids older than the duplicate window. It first looks, cheaply and
// outside any write transaction, whether there is anything to do; run runs
// the work in a batch of its own (groupcommit.Config.OnTick).
func (q *Queue) sweep(run func(func(*batch) error) error) {
	ctx := context.Background()
	now := q.now()
	var nextExpiry, oldestID sql.NullInt64
	err := q.wconn.QueryRowContext(ctx, `SELECT
		(SELECT MIN(expires_at) FROM messages WHERE expires_at > 0),
		(SELECT sent_at FROM message_ids ORDER BY rowid LIMIT 1)`).Scan(&nextExpiry, &oldestID)
	if err != nil {
		q.cfg.Logger.Warn("sqlitebus: sweep", "error", err)
		return
	}
	cutoff := now - int64(q.cfg.DuplicateWindow)
	expire := nextExpiry.Valid && nextExpiry.Int64 <= now
	prune := oldestID.Valid && oldestID.Int64 < cutoff
	if !expire && !prune {
		return
	}
	err = run(func(b *batch) error {
		if expire {
			if err := b.expireAll(); err != nil {
				return err
			}
		}
		if prune {
			// message_ids rows are inserted in time order, so every row before
			// the first one inside the window is outside it. Scanning from the
			// start stops there: the cost is the rows deleted.
			if _, err := b.exec(b.q.st.pruneIDs, b.now-int64(q.cfg.DuplicateWindow)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		q.cfg.Logger.Warn("sqlitebus: sweep", "error", err)
	}
}

// expireAll moves up to sweepLimit expired messages that are not delivered
// under a live lock (a holder may still complete what it has).
func (b *batch) expireAll() error {
	rows, err := b.query(b.q.st.expired, b.now, sweepLimit)
	if err != nil {
		return err
	}
	var seqs []int64
	for rows.Next() {
		var seq int64
		if err := rows.Scan(&seq); err != nil {
			rows.Close()
			return fmt.Errorf("expired: %w", err)
		}
		seqs = append(seqs, seq)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return fmt.Errorf("expired: %w", err)
	}
	for _, seq := range seqs {
		if err := b.expire(seq); err != nil {
			return err
		}
	}
	return nil
}
