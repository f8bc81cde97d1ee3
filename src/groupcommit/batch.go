package groupcommit

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync/atomic"
	"time"
)

// The life of a call: queued, then started by the writer, unless its caller
// withdraws it first (its ctx ended while it waited). Exactly one of the two
// wins, by compare-and-swap.
const (
	queued int32 = iota
	started
	withdrawn
)

// call is one Do or Submit on its way through the writer.
type call[B Tx] struct {
	ctx   context.Context
	fn    func(B) error
	then  func(error) // set by Submit: called with the outcome, instead of closing done
	state atomic.Int32
	// Written by the writer before it closes done (or calls then).
	err      error
	skipped  bool          // its ctx had ended when the writer reached it
	panicked any           // what fn panicked with, raised again in the caller
	done     chan struct{} // closed when err is final (Do)
}

// result is c's outcome as its caller sees it.
func (c *call[B]) result() error {
	if c.panicked != nil {
		panic(c.panicked) // in the caller's goroutine, as if fn had run there
	}
	return c.err
}

// ok reports that c's fn ran and succeeded: its work is to be committed.
func (c *call[B]) ok() bool { return c.err == nil && c.panicked == nil && !c.skipped }

// begin decides, as the writer reaches c, whether fn is to run: not if its
// caller withdrew it, nor if its ctx has ended. A call started already (in
// a batch that is being run again, or that ended before reaching it) runs.
func (c *call[B]) begin() bool {
	if c.state.Load() != started && !c.state.CompareAndSwap(queued, started) {
		return false // withdrawn by its caller, who has left
	}
	if c.err = c.ctx.Err(); c.err != nil {
		c.skipped = true // its caller has gone; do nothing on its behalf
		return false
	}
	return true
}

// invoke runs fn, catching a panic so that the writer survives it and the
// caller's goroutine can raise it again.
func (c *call[B]) invoke(b B) {
	c.err, c.panicked = nil, nil
	defer func() {
		if p := recover(); p != nil {
			c.panicked = p
		}
	}()
	c.err = c.fn(b)
}

// finish answers c. A failed transaction kept nothing: every call it took
// learns it, even one whose fn failed (what fn saw was never committed),
// but not a skipped one, whose work was never in it.
func (c *call[B]) finish(txErr error) {
	if txErr != nil && !c.skipped {
		c.err, c.panicked = txErr, nil
	}
	if c.then == nil {
		close(c.done)
		return
	}
	if c.panicked != nil { // nobody waits to raise it: report it
		c.err = fmt.Errorf("groupcommit: submitted call panicked: %v", c.panicked)
	}
	c.then(c.err)
}

// loop is the writer: it owns every write transaction of its adapter.
func (w *Writer[B]) loop() {
	defer close(w.done)
	var tick <-chan time.Time
	if w.cfg.Tick > 0 {
		t := time.NewTicker(w.cfg.Tick)
		defer t.Stop()
		tick = t.C
	}
	var pending []*call[B] // taken by a batch that ended before reaching them
	defer func() { w.drain(pending) }()
	for {
		select { // a pending Close wins over pending work
		case <-w.stop:
			return
		default:
		}
		if len(pending) == 0 {
			select {
			case <-w.stop:
				return
			case c := <-w.calls:
				pending = append(pending, c)
			case <-tick:
				w.cfg.OnTick(w.runAlone)
				continue
			}
		}
		pending = w.runBatch(w.collect(pending))
	}
}

// drain answers, with Config.Closed, the calls the writer will not run.
func (w *Writer[B]) drain(pending []*call[B]) {
	for _, c := range pending {
		c.finish(w.cfg.Closed)
	}
	for {
		select {
		case c := <-w.calls:
			c.finish(w.cfg.Closed)
		default:
			return
		}
	}
}

// collect adds every call already waiting to pending, up to MaxBatch. This
// is the group commit: whatever queued up during the previous commit's
// fsync rides on the next one.
//
// It first yields the processor a few times, while that brings more calls:
// the callers the last commit has just answered are often about to make
// their next one, and waiting those microseconds for them merges what would
// otherwise be two half-full commits. With nothing else runnable a yield
// returns at once, so a lone caller pays nothing.
func (w *Writer[B]) collect(pending []*call[B]) []*call[B] {
	for range 4 {
		n := len(w.calls)
		runtime.Gosched()
		if len(w.calls) == n {
			break
		}
	}
	for len(pending) < w.cfg.MaxBatch {
		select {
		case c := <-w.calls:
			pending = append(pending, c)
		default:
			return pending
		}
	}
	return pending
}

// runAlone runs fn in a batch of its own, on the writer goroutine: OnTick's
// run.
func (w *Writer[B]) runAlone(fn func(B) error) error {
	c := &call[B]{ctx: context.Background(), fn: fn, done: make(chan struct{})}
	w.runBatch([]*call[B]{c}) // one call: nothing is left for a next batch
	return c.result()
}

// runBatch runs a prefix of pending in one transaction, answers those calls
// once it has committed (or failed), and returns the rest.
func (w *Writer[B]) runBatch(pending []*call[B]) (rest []*call[B]) {
	ran, rest, err := w.commitBatch(pending, false)
	if errors.Is(err, errUnclean) {
		// A call failed after writing, without a savepoint. Everything was
		// rolled back: run the batch again, each call in a savepoint, so
		// that only its own writes are undone. Rare: with Unsaved, it takes
		// a disk or database error.
		ran, rest, err = w.commitBatch(pending, true)
	}
	for _, c := range ran {
		c.finish(err)
	}
	return rest
}

// errUnclean: a call failed after it had written something, and the batch
// ran without savepoints. runBatch handles it; no caller sees it.
var errUnclean = errors.New("groupcommit: a call failed after writing")
