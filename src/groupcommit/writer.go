package groupcommit

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// ErrClosed is what calls get once the Writer is closed, unless
// Config.Closed names another error.
var ErrClosed = errors.New("groupcommit: closed")

// Tx is one transaction of the writer, as the adapter opens it (Config.Begin)
// and the Writer drives it. Its methods run on the writer goroutine only.
type Tx interface {
	// Savepoint opens the savepoint a call runs in.
	Savepoint() error
	// RollbackTo undoes the work of the call that failed since Savepoint,
	// and whatever the adapter keeps of it beside the database.
	RollbackTo() error
	// Release closes the savepoint, after RollbackTo or not.
	Release() error
	// Commit commits the transaction.
	Commit() error
	// Rollback abandons the transaction. It is called once every batch is
	// over, committed or not; its error is ignored (after a commit there is
	// nothing left to roll back).
	Rollback() error
}

// Unsaved lets calls run without savepoints, for adapters whose functions,
// when they fail for a reason of their own, fail before writing anything.
// A function that fails having written makes the writer roll the batch back
// and run it again, each call in a savepoint; so such functions must be
// safe to run twice (the first run's writes are rolled back).
type Unsaved[B any] struct {
	// Mark is called before each call: note the state that Undo restores.
	Mark func(B)
	// Undo is called after a call failed: restore what Mark noted beside
	// the database, and report whether the call wrote nothing (clean).
	Undo func(B) (clean bool)
}

// Config is what an adapter chooses. Begin is required; zero values of the
// rest take the defaults shown.
type Config[B Tx] struct {
	// Begin opens the transaction of one batch.
	Begin func() (B, error)
	// MaxBatch bounds the calls in one transaction, and so how long one
	// commit can keep its callers waiting. Default 128.
	MaxBatch int
	// MaxBatchTime, if set, bounds how long a transaction keeps starting new
	// calls: once it has run that long, it commits what it has, and the
	// calls it did not reach start the next batch. Default: no bound.
	MaxBatchTime time.Duration
	// Unsaved, if set, runs calls without savepoints (see Unsaved).
	Unsaved *Unsaved[B]
	// AfterCommit, if set, runs on the writer goroutine after each commit,
	// before the batch's callers are answered. calls is how many calls the
	// batch took, those skipped included.
	AfterCommit func(b B, calls int)
	// Tick, with OnTick, is how often the writer does the adapter's periodic
	// work. It does it between batches, so a long OnTick holds every caller
	// up. run runs fn in a batch of its own, at once, and returns its error;
	// OnTick must not call Do, which would wait for the writer it runs on.
	Tick   time.Duration
	OnTick func(run func(fn func(B) error) error)
	// Closed is the error of calls made, or still queued, once the Writer is
	// closed. Default ErrClosed.
	Closed error
	// CloseWait bounds how long Close waits for submitted calls to finish.
	// Default: no bound.
	CloseWait time.Duration
}

// withDefaults fills the zero fields and rejects impossible values.
func (c Config[B]) withDefaults() (Config[B], error) {
	switch {
	case c.Begin == nil:
		return c, errors.New("groupcommit: Config.Begin is required")
	case c.MaxBatch < 0 || c.MaxBatchTime < 0 || c.Tick < 0 || c.CloseWait < 0:
		return c, fmt.Errorf("groupcommit: negative bound in MaxBatch %d, MaxBatchTime %v, Tick %v or CloseWait %v",
			c.MaxBatch, c.MaxBatchTime, c.Tick, c.CloseWait)
	case (c.Tick == 0) != (c.OnTick == nil):
		return c, errors.New("groupcommit: set both Config.Tick and Config.OnTick, or neither")
	case c.Unsaved != nil && (c.Unsaved.Mark == nil || c.Unsaved.Undo == nil):
		return c, errors.New("groupcommit: Config.Unsaved needs both Mark and Undo")
	}
	if c.MaxBatch == 0 {
		c.MaxBatch = 128
	}
	if c.Closed == nil {
		c.Closed = ErrClosed
	}
	return c, nil
}

// Writer is the group-commit writer: one goroutine, started by New, that
// runs every call in a transaction it shares with the calls queued alongside.
// Its methods are safe for concurrent use. Close it when done.
type Writer[B Tx] struct {
	cfg   Config[B]
	calls chan *call[B] // queued for the writer
	stop  chan struct{} // closed by Close: the writer ends between two batches
	done  chan struct{} // closed when the writer has ended

	mu      sync.Mutex // guards closing and submitted.Add, so no Submit starts after Close
	closing bool
	// submitted counts the calls handed over by Submit and not answered
	// yet; Close waits for them.
	submitted sync.WaitGroup
}

// New starts a Writer.
func New[B Tx](cfg Config[B]) (*Writer[B], error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	w := &Writer[B]{
		cfg:   cfg,
		calls: make(chan *call[B], 4*cfg.MaxBatch),
		stop:  make(chan struct{}),
		done:  make(chan struct{}),
	}
	go w.loop()
	return w, nil
}

// Do hands fn to the writer and waits until the transaction it ran in has
// committed or failed. fn's error is returned as it is; a failed transaction
// returns its error to every call it took. A panic in fn is raised again
// here.
//
// If ctx ends before the writer starts fn, fn never runs and Do returns
// ctx.Err() at once. Once fn has started, Do waits for the outcome whatever
// ctx does. fn must not use ctx to interrupt the shared transaction's
// statements: that would abort every caller's work.
func (w *Writer[B]) Do(ctx context.Context, fn func(B) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c := &call[B]{ctx: ctx, fn: fn, done: make(chan struct{})}
	select {
	case w.calls <- c:
	case <-ctx.Done(): // the writer is far behind; the call was never queued
		return ctx.Err()
	case <-w.stop:
		return w.cfg.Closed
	}
	ctxDone := ctx.Done()
	for {
		select {
		case <-c.done:
			return c.result()
		case <-w.done: // the writer answered c before it ended, or never will
			select {
			case <-c.done:
				return c.result()
			default:
				return w.cfg.Closed
			}
		case <-ctxDone:
			if c.state.CompareAndSwap(queued, withdrawn) {
				return ctx.Err() // fn never ran, and never will
			}
			ctxDone = nil // fn has started: wait for the commit it is in
		}
	}
}

// Submit hands fn to the writer without waiting for it: the call is queued
// before Submit returns, so it runs before anything the caller does
// afterwards, and Close lets it finish. then, if not nil, receives its
// outcome, on the writer goroutine (so it must be quick, and must not call
// Do); a panic in fn reaches then as an error. Submit reports false, and fn
// never runs, once Close has begun.
func (w *Writer[B]) Submit(fn func(B) error, then func(error)) bool {
	w.mu.Lock()
	if w.closing {
		w.mu.Unlock()
		return false
	}
	w.submitted.Add(1)
	w.mu.Unlock()
	c := &call[B]{ctx: context.Background(), fn: fn, then: func(err error) {
		defer w.submitted.Done()
		if then != nil {
			then(err)
		}
	}}
	select {
	case w.calls <- c:
		return true
	case <-w.stop: // Close has stopped waiting for submitted work; this one never ran
		w.submitted.Done()
		return false
	}
}

// Close stops new submissions, waits (up to CloseWait) for the submitted
// calls to finish, then stops the writer between two batches and waits for
// it to end. Calls still queued then get Config.Closed without running, and
// so do later ones. Closing twice is harmless.
func (w *Writer[B]) Close() {
	w.mu.Lock()
	again := w.closing
	w.closing = true
	w.mu.Unlock()
	if !again {
		w.waitSubmitted()
		close(w.stop)
	}
	<-w.done
}

// waitSubmitted waits, up to CloseWait, for the submitted calls.
func (w *Writer[B]) waitSubmitted() {
	all := make(chan struct{})
	go func() {
		w.submitted.Wait()
		close(all)
	}()
	var timeout <-chan time.Time
	if w.cfg.CloseWait > 0 {
		t := time.NewTimer(w.cfg.CloseWait)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case <-all:
	case <-timeout: // a writer stuck on the disk, say; Close goes on
	}
}

// Stopped is closed when Close stops the writer (once the submitted calls
// are done): from then on calls fail with Config.Closed.
func (w *Writer[B]) Stopped() <-chan struct{} { return w.stop }

// Queued reports how many calls wait for the writer: how far behind it is
// (and, in tests, what its next batch will hold).
func (w *Writer[B]) Queued() int { return len(w.calls) }
