package groupcommit

import "time"

// mode is how the calls of one batch are kept apart.
type mode int

const (
	// inSavepoint: each call runs in a savepoint, rolled back if it fails.
	inSavepoint mode = iota
	// unsaved: calls run bare (Config.Unsaved); one that fails must have
	// written nothing, else the batch is run again inSavepoint.
	unsaved
	// alone: the batch holds one call, which needs no savepoint (two
	// statements saved): if it fails, the whole transaction is rolled back.
	alone
)

// mode picks the mode of a batch of n calls; retry is set when the batch
// runs again because a call failed unclean.
func (w *Writer[B]) mode(n int, retry bool) mode {
	switch {
	case n == 1:
		return alone
	case w.cfg.Unsaved != nil && !retry:
		return unsaved
	}
	return inSavepoint
}

// commitBatch runs the calls of pending in order inside one transaction and
// commits it: one fsync for all of them. With MaxBatchTime it stops starting
// calls once that has passed, and returns those it did not reach as rest.
// ran are the calls it took; err is the failure of the transaction as a
// whole (errUnclean included). A transaction in which no call succeeded has
// nothing to keep, and is rolled back instead of committed.
func (w *Writer[B]) commitBatch(pending []*call[B], retry bool) (ran, rest []*call[B], err error) {
	b, err := w.cfg.Begin()
	if err != nil {
		return pending, nil, err
	}
	defer b.Rollback() // a no-op once committed
	m := w.mode(len(pending), retry)
	limit := w.cfg.MaxBatchTime
	begun, anyKept := time.Now(), false
	n := 0
	for n < len(pending) && (n == 0 || limit == 0 || time.Since(begun) < limit) {
		c := pending[n]
		n++
		kept, fatal := w.runOne(b, c, m)
		if fatal != nil { // the transaction is in an unknown state: give it up
			return pending[:n], pending[n:], fatal
		}
		anyKept = anyKept || kept
	}
	if !anyKept {
		return pending[:n], pending[n:], nil // every call failed or was skipped
	}
	if err := b.Commit(); err != nil {
		return pending[:n], pending[n:], err
	}
	if w.cfg.AfterCommit != nil {
		w.cfg.AfterCommit(b, n)
	}
	return pending[:n], pending[n:], nil
}

// runOne runs c's fn inside b, unless c is withdrawn or its ctx has ended.
// kept reports that fn succeeded, its work kept; fatal, that the transaction
// cannot go on (a savepoint statement failed, or errUnclean).
func (w *Writer[B]) runOne(b B, c *call[B], m mode) (kept bool, fatal error) {
	if !c.begin() {
		return false, nil
	}
	switch m {
	case alone:
		c.invoke(b)
		return c.ok(), nil
	case unsaved:
		w.cfg.Unsaved.Mark(b)
		c.invoke(b)
		if !c.ok() && !w.cfg.Unsaved.Undo(b) {
			return false, errUnclean
		}
		return c.ok(), nil
	}
	if err := b.Savepoint(); err != nil {
		return false, err
	}
	c.invoke(b)
	if !c.ok() {
		if err := b.RollbackTo(); err != nil {
			return false, err
		}
	}
	if err := b.Release(); err != nil {
		return false, err
	}
	return c.ok(), nil
}
