package sqlitebus

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"
	"time"

	"github.com/dropoff-dev/dropoff/src/bus"
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

// op is one unit of work for the writer: a function run inside the batch's
// transaction, and its outcome, known once the transaction has committed.
type op struct {
	ctx  context.Context
	run  func(b *batch) error
	err  error
	done chan struct{} // closed when err is final
	// then, when set, is called with err once it is final: an operation
	// handed over by submit, which nobody waits for.
	then func(error)
}

// do hands run to the writer and waits until the transaction it ran in has
// committed or failed. run's error is returned as is; a failed commit is
// returned to every operation of the batch.
//
// do waits for the outcome even when ctx ends meanwhile: an operation that
// has started may have delivered messages, and its caller must see them. The
// wait is short, since the writer skips operations whose ctx has ended
// before it reaches them.
func (q *Queue) do(ctx context.Context, run func(b *batch) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	o := &op{ctx: ctx, run: run, done: make(chan struct{})}
	select {
	case q.ops <- o:
	case <-ctx.Done(): // the writer is far behind; the op was never queued
		return ctx.Err()
	case <-q.stop:
		return bus.ErrClosed
	}
	select {
	case <-o.done:
		return o.err
	case <-q.writerDone:
		select { // the writer may have answered just before it ended
		case <-o.done:
			return o.err
		default:
			return bus.ErrClosed
		}
	}
}

// submit hands run to the writer without waiting for it: the operation is
// queued before submit returns, so it runs before anything this Queue's
// callers do afterwards, and Close lets it finish. then receives its outcome.
// false if the Queue is closed (run never runs).
func (q *Queue) submit(run func(b *batch) error, then func(error)) bool {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return false
	}
	q.submitted.Add(1)
	q.mu.Unlock()
	o := &op{ctx: context.Background(), run: run, done: make(chan struct{}), then: func(err error) {
		defer q.submitted.Done()
		then(err)
	}}
	select {
	case q.ops <- o:
		return true
	case <-q.stop: // Close is waiting for submitted work; this one never ran
		q.submitted.Done()
		return false
	}
}

// writeLoop is the writer: it owns every write transaction of this Queue.
func (q *Queue) writeLoop() {
	defer q.wg.Done()
	defer close(q.writerDone)
	tick := time.NewTicker(q.cfg.PollInterval)
	defer tick.Stop()
	version := q.dataVersion()
	lastSweep, lastCompact := time.Now(), time.Now()
	for {
		select { // a pending Close wins over pending work
		case <-q.stop:
			return
		default:
		}
		select {
		case <-q.stop:
			return
		case o := <-q.ops:
			q.runBatch(q.collect(o))
		case <-tick.C:
			if v := q.dataVersion(); v != version {
				version = v
				q.notify.wakeAll() // another process wrote: look again
			}
			if time.Since(lastSweep) >= sweepEvery {
				q.sweep()
				lastSweep = time.Now()
			}
			if time.Since(lastCompact) >= compactEvery {
				q.compact()
				lastCompact = time.Now()
			}
		}
	}
}

// collect takes first and every operation already waiting, up to maxBatch.
// This is the group commit: whatever queued up during the previous commit's
// fsync rides on the next one.
//
// It first yields the processor a few times, while that brings more
// operations: the callers the last commit has just answered are often about
// to submit their next one, and waiting those microseconds for them merges
// what would otherwise be two half-full commits. With nothing else runnable,
// a yield returns at once, so a lone caller pays nothing.
func (q *Queue) collect(first *op) []*op {
	for range 4 {
		n := len(q.ops)
		runtime.Gosched()
		if len(q.ops) == n {
			break
		}
	}
	ops := []*op{first}
	for len(ops) < maxBatch {
		select {
		case o := <-q.ops:
			ops = append(ops, o)
		default:
			return ops
		}
	}
	return ops
}

// runBatch runs ops in one transaction and answers each of them.
func (q *Queue) runBatch(ops []*op) {
	err := q.commitBatch(ops, false)
	if errors.Is(err, errUnclean) {
		// An operation failed after writing. Roll everything back and run the
		// batch again, each operation in a savepoint, so that only its own
		// writes are undone. Rare: it takes a disk or database error.
		err = q.commitBatch(ops, true)
	}
	if err != nil { // every caller gets the error, and decides what to do
		for _, o := range ops {
			o.err = err
		}
	}
	for _, o := range ops {
		close(o.done)
		if o.then != nil {
			o.then(o.err)
		}
	}
}

// errUnclean: an operation failed after it had written something, and the
// batch ran without savepoints.
var errUnclean = errors.New("operation failed after writing")

// commitBatch runs ops in order in one transaction and commits it.
//
// Operations are written so that when they fail for a reason of their own (a
// lost lock, a message not held, a dead letter not found), they fail before
// writing anything; then the others' writes can be committed as they are, and
// no savepoint is needed — which saves two statements per operation. Any
// other failure aborts the batch with errUnclean unless savepoints is set:
// then each operation runs in a savepoint, undone if it fails.
func (q *Queue) commitBatch(ops []*op, savepoints bool) error {
	ctx := context.Background() // the writer's work is bounded; Close waits for it
	tx, err := q.wconn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()
	b := &batch{q: q, tx: tx, ctx: ctx, now: q.now(), stmts: map[string]*sql.Stmt{}}
	for _, o := range ops {
		if o.err = o.ctx.Err(); o.err != nil {
			continue // its caller has gone; do nothing on its behalf
		}
		if savepoints {
			var fatal error
			if o.err, fatal = b.inSavepoint(o.run); fatal != nil {
				return fatal
			}
			continue
		}
		changes, fx := b.changes, b.fx
		if o.err = o.run(b); o.err != nil {
			if b.changes != changes {
				return errUnclean
			}
			b.fx = fx
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	q.afterCommit(b, len(ops))
	return nil
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
		q.cfg.Logger.Warn("sqlitebus: read data_version", "err", err)
	}
	return v
}

// batch is one write transaction, as the operations see it.
type batch struct {
	q     *Queue
	tx    *sql.Tx
	ctx   context.Context
	now   int64 // Unix nanoseconds, one clock reading for the whole batch
	stmts map[string]*sql.Stmt
	fx    effects
	// changes counts the rows written so far: an operation that fails
	// without changing it has written nothing.
	changes int64
}

// effects are what the operations of a batch did that matters after commit.
// A failed operation's effects are undone with its savepoint.
type effects struct {
	wrote        bool     // some row changed: the commit counts in Commits
	wakeAccept   int      // sessions that became free: acceptors to wake
	wakeSessions []string // sessions that got new messages
	sent         int
	deadLettered []string // reasons
}

// inSavepoint runs run in a savepoint: on failure its writes and effects are
// undone and its error returned as opErr. fatal reports that the savepoint
// itself failed, which leaves the transaction in an unknown state.
func (b *batch) inSavepoint(run func(*batch) error) (opErr, fatal error) {
	if _, err := b.exec("savepoint"); err != nil {
		return nil, err
	}
	mark := b.fx
	if opErr = run(b); opErr != nil {
		b.fx = mark
		if _, err := b.exec("rollbackTo"); err != nil {
			return opErr, err
		}
	}
	if _, err := b.exec("release"); err != nil {
		return opErr, err
	}
	return opErr, nil
}

// stmt returns the prepared statement name bound to this transaction.
func (b *batch) stmt(name string) *sql.Stmt {
	s, ok := b.stmts[name]
	if !ok {
		s = b.tx.StmtContext(b.ctx, b.q.st.get(name))
		b.stmts[name] = s
	}
	return s
}

// exec runs the statement name and returns how many rows it changed.
func (b *batch) exec(name string, args ...any) (int64, error) {
	res, err := b.stmt(name).ExecContext(b.ctx, args...)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", name, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("%s: %w", name, err)
	}
	if n > 0 {
		b.fx.wrote = true
		b.changes += n
	}
	return n, nil
}

// insert runs the INSERT statement name and returns the new row's id.
func (b *batch) insert(name string, args ...any) (int64, error) {
	res, err := b.stmt(name).ExecContext(b.ctx, args...)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", name, err)
	}
	b.fx.wrote = true
	b.changes++
	id, err := res.LastInsertId()
	if err != nil {
		return 0, fmt.Errorf("%s: %w", name, err)
	}
	return id, nil
}

// query runs the SELECT statement name.
func (b *batch) query(name string, args ...any) (*sql.Rows, error) {
	rows, err := b.stmt(name).QueryContext(b.ctx, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return rows, nil
}

// scalar reads the one nullable integer that the statement name returns
// (MIN and friends); ok is false when it is NULL or there is no row.
func (b *batch) scalar(name string, args ...any) (v int64, ok bool, err error) {
	var n sql.NullInt64
	err = b.stmt(name).QueryRowContext(b.ctx, args...).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("%s: %w", name, err)
	}
	return n.Int64, n.Valid, nil
}
