package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/dropoff-dev/dropoff/src/groupcommit"
	"github.com/dropoff-dev/dropoff/src/store"
)

// Group commit: every Update is handed to one writer goroutine (package
// groupcommit), which runs all the Updates waiting at that moment in a
// single transaction, each in its own savepoint, and commits once. See
// doc.go for why this is safe.

const (
	// maxBatch bounds the Updates in one transaction.
	maxBatch = 128
	// maxBatchTime bounds how long a transaction keeps starting new Updates
	// (tests may raise it to make batches predictable). Updates take
	// microseconds, so it only matters when one fn blocks: its batch is
	// committed as soon as it returns, instead of making the callers already
	// done wait for the next fns too. (A caller may block in fn until an
	// earlier Update has returned; the feed's out-of-order test does.)
	maxBatchTime = 10 * time.Millisecond
)

// errClosed answers the Updates that Close stopped before their fn ran.
var errClosed = errors.New("sqlite: write store closed")

// startWriter starts the writer, with batchTime as its time bound.
func (s *WriteStore) startWriter(batchTime time.Duration) error {
	w, err := groupcommit.New(groupcommit.Config[*batch]{
		Begin:        s.begin,
		MaxBatch:     maxBatch,
		MaxBatchTime: batchTime,
		AfterCommit:  func(*batch, int) { s.commits.Add(1) },
		Closed:       errClosed,
	})
	if err != nil {
		return err
	}
	s.writer = w
	return nil
}

// update is Update's fn as the writer runs it: with the store.WriteTx of
// the batch's transaction, and failing if its caller left after fn and
// before the commit, since that caller may assume the work was not done:
// it is rolled back, as a failed commit would be.
func (s *WriteStore) update(ctx context.Context, fn func(ctx context.Context, tx store.WriteTx) error) func(*batch) error {
	return func(b *batch) error {
		err := fn(ctx, &writeTx{tx: b.stmts.tx, st: s.st, stmts: b.stmts, now: s.cfg.Now})
		if err == nil && ctx.Err() != nil {
			err = fmt.Errorf("commit write transaction: %w", ctx.Err())
		}
		return err
	}
}

// batch is one transaction of the writer: a BEGIN IMMEDIATE transaction on
// the write pool, with the store's statements bound to it.
type batch struct {
	st    *writeStatements
	stmts *txStatements
}

var _ groupcommit.Tx = (*batch)(nil)

// begin opens the transaction of one batch. The writer's statements are not
// cancelled by any caller: one caller leaving must not abort the others'
// transaction. Close waits for it.
func (s *WriteStore) begin() (*batch, error) {
	tx, err := s.db.write.BeginTx(context.Background(), nil)
	if err != nil {
		return nil, fmt.Errorf("begin write transaction: %w", err)
	}
	return &batch{st: s.st, stmts: newTxStatements(tx)}, nil
}

// exec runs the savepoint statement s, saying what failed.
func (b *batch) exec(s *sql.Stmt, what string) error {
	ctx := context.Background()
	if _, err := b.stmts.stmt(ctx, s).ExecContext(ctx); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// Savepoint opens the savepoint of one Update (groupcommit.Tx).
func (b *batch) Savepoint() error { return b.exec(b.st.savepointCaller, "savepoint") }

// RollbackTo undoes the work of the Update that failed.
func (b *batch) RollbackTo() error { return b.exec(b.st.rollbackToCaller, "roll back to savepoint") }

// Release closes the Update's savepoint.
func (b *batch) Release() error { return b.exec(b.st.releaseCaller, "release savepoint") }

// Commit commits the batch: one fsync for all its Updates.
func (b *batch) Commit() error {
	if err := b.stmts.tx.Commit(); err != nil {
		return fmt.Errorf("commit write transaction: %w", err)
	}
	return nil
}

// Rollback abandons the batch (a no-op once committed).
func (b *batch) Rollback() error { return b.stmts.tx.Rollback() }
