package sqlite

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/dropoff-dev/dropoff/src/store"
)

// Group commit: every Update is handed to one writer goroutine, which runs
// all the Updates waiting at that moment in a single transaction, each in its
// own savepoint, and commits once. See doc.go for why this is safe.

const (
	// maxBatch bounds the Updates in one transaction.
	maxBatch = 128
	// maxBatchTime bounds how long a transaction keeps starting new Updates
	// (WriteStore.batchTime; tests may raise it to make batches predictable).
	// Updates take microseconds, so it only matters when one fn blocks: its
	// batch is committed as soon as it returns, instead of making the callers
	// already done wait for the next fns too. (A caller may block in fn
	// until an earlier Update has returned; the feed's out-of-order test does.)
	maxBatchTime = 10 * time.Millisecond
)

// errClosed answers the Updates that Close stopped before their fn ran.
var errClosed = errors.New("sqlite: write store closed")

// The life of an update: queued, then started by the writer, unless its
// caller withdraws it first (its ctx ended while it waited). Exactly one of
// the two wins, by compare-and-swap.
const (
	queued int32 = iota
	started
	withdrawn
)

// update is one Update call on its way through the writer.
type update struct {
	ctx   context.Context
	fn    func(ctx context.Context, tx store.WriteTx) error
	state atomic.Int32
	// Written by the writer before it closes done.
	err      error
	skipped  bool          // its ctx had ended when the writer reached it
	panicked any           // what fn panicked with, re-raised in the caller
	done     chan struct{} // closed when err is final
}

// submit queues u for the writer and waits for its outcome: fn's error, or
// the error of the commit its work was in. It never returns while that work
// may still commit.
func (s *WriteStore) submit(u *update) error {
	select {
	case s.updates <- u:
	case <-u.ctx.Done():
		return u.ctx.Err()
	case <-s.stop:
		return errClosed
	}
	ctxDone := u.ctx.Done()
	for {
		select {
		case <-u.done:
			return u.result()
		case <-s.writerDone: // the writer answered u before it ended, or never will
			select {
			case <-u.done:
				return u.result()
			default:
				return errClosed
			}
		case <-ctxDone:
			if u.state.CompareAndSwap(queued, withdrawn) {
				return u.ctx.Err() // fn never ran, and never will
			}
			ctxDone = nil // fn has started: wait for the commit it is in
		}
	}
}

// result is u's outcome as its caller sees it.
func (u *update) result() error {
	if u.panicked != nil {
		panic(u.panicked) // in the caller's goroutine, as if fn had run there
	}
	return u.err
}

// writeLoop is the writer: it owns every write transaction of this store.
// Close stops it between two batches and waits for it to end.
func (s *WriteStore) writeLoop() {
	defer close(s.writerDone)
	var pending []*update
	for {
		select { // a pending Close wins over pending work
		case <-s.stop:
			return // Updates still pending get errClosed
		default:
		}
		if len(pending) == 0 {
			select {
			case <-s.stop:
				return
			case u := <-s.updates:
				pending = append(pending, u)
			}
		}
		pending = s.runBatch(s.collect(pending))
	}
}

// collect adds every Update already waiting to pending, up to maxBatch:
// whatever queued up during the previous commit's fsync rides on the next.
//
// It first yields the processor while that brings more Updates: callers the
// last commit has just answered are often about to submit their next one.
// With nothing else runnable a yield returns at once, so a lone caller pays
// nothing.
func (s *WriteStore) collect(pending []*update) []*update {
	for range 4 {
		n := len(s.updates)
		runtime.Gosched()
		if len(s.updates) == n {
			break
		}
	}
	for len(pending) < maxBatch {
		select {
		case u := <-s.updates:
			pending = append(pending, u)
		default:
			return pending
		}
	}
	return pending
}

// runBatch runs a prefix of pending in one transaction, answers those
// callers once it has committed (or failed), and returns the rest.
func (s *WriteStore) runBatch(pending []*update) (rest []*update) {
	ran, rest, err := s.commitBatch(pending)
	for _, u := range ran {
		// A failed transaction kept nothing: every caller it took learns it,
		// even one whose fn failed (what fn saw was never committed).
		if err != nil && !u.skipped {
			u.err, u.panicked = err, nil
		}
		close(u.done)
	}
	return rest
}

// commitBatch runs the updates of pending in order inside one BEGIN
// IMMEDIATE transaction and commits it: one fsync for all of them. It stops
// starting updates after maxBatchTime, and returns those as rest. ran are the
// ones it took; err is the failure of the transaction as a whole.
func (s *WriteStore) commitBatch(pending []*update) (ran, rest []*update, err error) {
	// The writer's statements are not cancelled by any caller: one caller
	// leaving must not abort the others' transaction. Close waits for it.
	ctx := context.Background()
	tx, err := s.db.write.BeginTx(ctx, nil)
	if err != nil {
		return pending, nil, fmt.Errorf("begin write transaction: %w", err)
	}
	defer tx.Rollback() // a no-op once committed
	stmts := newTxStatements(tx)
	begun, anyKept := time.Now(), false
	n := 0
	for n < len(pending) && (n == 0 || time.Since(begun) < s.batchTime) {
		u := pending[n]
		n++
		kept, fatal := s.runOne(ctx, stmts, u, len(pending) == 1)
		if fatal != nil { // the transaction is in an unknown state: give it up
			return pending[:n], pending[n:], fatal
		}
		anyKept = anyKept || kept
	}
	if !anyKept {
		return pending[:n], pending[n:], nil // every fn failed: nothing to commit
	}
	if err := tx.Commit(); err != nil {
		return pending[:n], pending[n:], fmt.Errorf("commit write transaction: %w", err)
	}
	s.commits.Add(1)
	return pending[:n], pending[n:], nil
}

// runOne runs u's fn inside a savepoint of tx, unless its caller is gone.
// If fn fails (or panics, or its caller leaves before the commit) the
// savepoint is rolled back: u leaves no trace, and the batch goes on. kept
// reports that fn succeeded, its work kept; fatal, that a savepoint statement
// failed. An update alone in its transaction needs no savepoint (two
// statements saved): if it fails, the whole transaction is rolled back.
func (s *WriteStore) runOne(ctx context.Context, stmts *txStatements, u *update, alone bool) (kept bool, fatal error) {
	if !u.state.CompareAndSwap(queued, started) {
		return false, nil // withdrawn by its caller
	}
	if u.err = u.ctx.Err(); u.err != nil {
		u.skipped = true
		return false, nil
	}
	if alone {
		s.call(u, stmts)
		return u.ok(), nil
	}
	if _, err := stmts.stmt(ctx, s.st.savepointCaller).ExecContext(ctx); err != nil {
		return false, fmt.Errorf("savepoint: %w", err)
	}
	s.call(u, stmts)
	if !u.ok() {
		if _, err := stmts.stmt(ctx, s.st.rollbackToCaller).ExecContext(ctx); err != nil {
			return false, fmt.Errorf("roll back to savepoint: %w", err)
		}
	}
	if _, err := stmts.stmt(ctx, s.st.releaseCaller).ExecContext(ctx); err != nil {
		return false, fmt.Errorf("release savepoint: %w", err)
	}
	return u.ok(), nil
}

// call runs u's fn, catching a panic so that the writer survives it and
// the caller's goroutine can raise it again.
func (s *WriteStore) call(u *update, stmts *txStatements) {
	defer func() {
		if p := recover(); p != nil {
			u.panicked = p
		}
	}()
	u.err = u.fn(u.ctx, &writeTx{tx: stmts.tx, st: s.st, stmts: stmts, now: s.cfg.Now})
	if u.err == nil && u.ctx.Err() != nil {
		// Its caller left after fn and before the commit, and may assume
		// the work was not done: make sure of it, as a failed commit would.
		u.err = fmt.Errorf("commit write transaction: %w", u.ctx.Err())
	}
}

// ok reports that u's fn ran and succeeded: its work is to be committed.
func (u *update) ok() bool { return u.err == nil && u.panicked == nil && !u.skipped }
