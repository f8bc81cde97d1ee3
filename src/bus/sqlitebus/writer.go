package sqlitebus

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/dropoff-dev/dropoff/src/bus"
	"github.com/dropoff-dev/dropoff/src/groupcommit"
)

// maxBatch bounds the operations in one transaction, and so how long one
// commit can keep the callers waiting.
const maxBatch = 512

// sweepEvery is how often the writer looks for expired messages and old
// message ids; compactEvery how often it gives free pages back.
const (
	sweepEvery   = time.Second
	compactEvery = time.Minute
)

// closeWait bounds how long Close waits for the releases already handed to
// the writer: a writer stuck on the disk must not hold Close up for good,
// and the locks run out by themselves.
const closeWait = 5 * time.Second

// startWriter starts the group-commit writer (package groupcommit), which
// runs every write of this Queue: operations are handed to it with
// q.writer.Do (waiting for the commit) or q.writer.Submit (not waiting).
//
// Operations are written so that when they fail for a reason of their own (a
// lost lock, a message not held, a dead letter not found), they fail before
// writing anything; then the others' writes can be committed as they are,
// and no savepoint is needed, which saves two statements per operation
// (groupcommit.Unsaved). An operation that fails after writing makes the
// writer run its batch again with savepoints; so an operation must be safe to
// run twice. Between batches the writer looks for other processes' commits,
// sweeps and compacts (housekeep).
func (q *Queue) startWriter() error {
	h := &housekeeping{version: q.dataVersion(), lastSweep: time.Now(), lastCompact: time.Now()}
	w, err := groupcommit.New(groupcommit.Config[*batch]{
		Begin:       q.begin,
		MaxBatch:    maxBatch,
		Unsaved:     &groupcommit.Unsaved[*batch]{Mark: (*batch).mark, Undo: (*batch).undo},
		AfterCommit: q.afterCommit,
		Tick:        q.cfg.PollInterval,
		OnTick:      func(run func(func(*batch) error) error) { q.housekeep(h, run) },
		Closed:      bus.ErrClosed,
		CloseWait:   closeWait,
	})
	if err != nil {
		return err
	}
	q.writer, q.stop = w, w.Stopped()
	return nil
}

// housekeeping is what the writer's periodic work remembers between ticks.
// Only the writer goroutine uses it.
type housekeeping struct {
	version                int64 // PRAGMA data_version at the last look
	lastSweep, lastCompact time.Time
}

// housekeep is the writer's work between batches, every PollInterval: wake
// the receivers when another process wrote, sweep, compact.
func (q *Queue) housekeep(h *housekeeping, run func(func(*batch) error) error) {
	if v := q.dataVersion(); v != h.version {
		h.version = v
		q.notify.wakeAll() // another process wrote: look again
	}
	if time.Since(h.lastSweep) >= sweepEvery {
		q.sweep(run)
		h.lastSweep = time.Now()
	}
	if time.Since(h.lastCompact) >= compactEvery {
		q.compact()
		h.lastCompact = time.Now()
	}
}

// begin opens the transaction of one batch, on the writer's connection.
func (q *Queue) begin() (*batch, error) {
	ctx := context.Background() // the writer's work is bounded; Close waits for it
	tx, err := q.wconn.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("begin: %w", err)
	}
	return &batch{q: q, tx: tx, ctx: ctx, now: q.now(), bound: map[*sql.Stmt]*sql.Stmt{}}, nil
}

// afterCommit counts the commit and wakes whoever can now make progress.
func (q *Queue) afterCommit(b *batch, n int) {
	if b.fx.wrote {
		q.commits.Add(1)
		q.metrics.commits.Inc()
	}
	q.metrics.batchOps.Observe(float64(n))
	q.metrics.sent.Add(float64(b.fx.sent))
	for _, reason := range b.fx.deadLettered {
		q.metrics.deadLettered.WithLabelValues(reasonLabel(reason)).Inc()
	}
	q.notify.wake(b.fx.wakeAccept, b.fx.wakeSessions)
}

// dataVersion is SQLite's counter of commits made by other connections to
// the file: when it moves, another process (or another Queue) wrote.
func (q *Queue) dataVersion() int64 {
	var v int64
	if err := q.wconn.QueryRowContext(context.Background(), "PRAGMA data_version").Scan(&v); err != nil {
		q.cfg.Logger.Warn("sqlitebus: read data_version", "error", err)
	}
	return v
}

// batch is one write transaction, as the operations see it.
type batch struct {
	q     *Queue
	tx    *sql.Tx
	ctx   context.Context
	now   int64                   // Unix nanoseconds, one clock reading for the whole batch
	bound map[*sql.Stmt]*sql.Stmt // the Queue's statements, bound to tx once each
	fx    effects
	// changes counts the rows written so far: an operation that fails
	// without changing it has written nothing.
	changes int64
	// marked is the state before the operation running now, restored if it
	// fails (mark and undo, or Savepoint and RollbackTo).
	marked struct {
		fx      effects
		changes int64
	}
}

// effects are what the operations of a batch did that matters after commit.
// A failed operation's effects are undone with it.
type effects struct {
	wrote        bool     // some row changed: the commit counts in Commits
	wakeAccept   int      // sessions that became free: acceptors to wake
	wakeSessions []string // sessions that got new messages
	sent         int
	deadLettered []string // reasons
}

var _ groupcommit.Tx = (*batch)(nil)

// mark notes the state before an operation run without a savepoint.
func (b *batch) mark() { b.marked.fx, b.marked.changes = b.fx, b.changes }

// undo, after an operation run without a savepoint failed, restores its
// effects and reports whether it wrote nothing.
func (b *batch) undo() (clean bool) {
	b.fx = b.marked.fx
	return b.changes == b.marked.changes
}

// Savepoint opens the savepoint of one operation (groupcommit.Tx).
func (b *batch) Savepoint() error {
	if _, err := b.exec(b.q.st.savepoint); err != nil {
		return err
	}
	b.marked.fx = b.fx
	return nil
}

// RollbackTo undoes the failed operation's writes and effects.
func (b *batch) RollbackTo() error {
	b.fx = b.marked.fx
	_, err := b.exec(b.q.st.rollbackTo)
	return err
}

// Release closes the operation's savepoint.
func (b *batch) Release() error {
	_, err := b.exec(b.q.st.release)
	return err
}

// Commit commits the batch.
func (b *batch) Commit() error {
	if err := b.tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// Rollback abandons the batch (a no-op once committed).
func (b *batch) Rollback() error { return b.tx.Rollback() }

// stmt returns the prepared statement s bound to this transaction.
func (b *batch) stmt(s *sql.Stmt) *sql.Stmt {
	t, ok := b.bound[s]
	if !ok {
		t = b.tx.StmtContext(b.ctx, s)
		b.bound[s] = t
	}
	return t
}

// exec runs the statement s and returns how many rows it changed.
func (b *batch) exec(s *sql.Stmt, args ...any) (int64, error) {
	res, err := b.stmt(s).ExecContext(b.ctx, args...)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", b.q.st.name(s), err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("%s: %w", b.q.st.name(s), err)
	}
	if n > 0 {
		b.fx.wrote = true
		b.changes += n
	}
	return n, nil
}

// insert runs the INSERT statement s and returns the new row's id.
func (b *batch) insert(s *sql.Stmt, args ...any) (int64, error) {
	res, err := b.stmt(s).ExecContext(b.ctx, args...)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", b.q.st.name(s), err)
	}
	b.fx.wrote = true
	b.changes++
	id, err := res.LastInsertId()
	if err != nil {
		return 0, fmt.Errorf("%s: %w", b.q.st.name(s), err)
	}
	return id, nil
}

// query runs the SELECT statement s.
func (b *batch) query(s *sql.Stmt, args ...any) (*sql.Rows, error) {
	rows, err := b.stmt(s).QueryContext(b.ctx, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", b.q.st.name(s), err)
	}
	return rows, nil
}

// scalar reads the one nullable integer that the statement s returns (MIN
// and friends); ok is false when it is NULL or there is no row.
func (b *batch) scalar(s *sql.Stmt, args ...any) (v int64, ok bool, err error) {
	var n sql.NullInt64
	err = b.stmt(s).QueryRowContext(b.ctx, args...).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("%s: %w", b.q.st.name(s), err)
	}
	return n.Int64, n.Valid, nil
}
