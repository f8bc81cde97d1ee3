package groupcommit_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/dropoff-dev/dropoff/src/groupcommit"
)

// Many concurrent callers share commits: 64 callers queued behind a busy
// writer commit in one transaction, and each finds its row committed the
// moment Do returns.
func TestConcurrentCallsShareOneCommit(t *testing.T) {
	const callers = 64
	h := open(t, groupcommit.Config[*testTx]{})
	release, held := h.hold(t, nil)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() {
			id := fmt.Sprintf("c%02d", i)
			if err := h.w.Do(context.Background(), insert(id)); err != nil {
				t.Errorf("Do %s: %v", id, err)
				return
			}
			if !h.committed(t, id) {
				t.Errorf("Do %s returned before its row committed", id)
			}
		})
	}
	waitFor(t, "64 queued calls", func() bool { return h.w.Queued() == callers })
	release()
	wg.Wait()
	if err := receive(t, held); err != nil {
		t.Fatalf("holding call: %v", err)
	}
	if got := h.commits.Load(); got != 2 {
		t.Errorf("%d concurrent calls took %d commits after the holder's, want 1", callers, got-1)
	}
	if n := len(h.ids(t)); n != callers {
		t.Errorf("%d rows committed, want %d", n, callers)
	}
}

// MaxBatch bounds a batch: five calls with a bound of four take two commits.
func TestMaxBatchBoundsABatch(t *testing.T) {
	h := open(t, groupcommit.Config[*testTx]{MaxBatch: 4})
	release, _ := h.hold(t, nil)
	outs := h.queue(t, context.Background(), insert("a"), insert("b"), insert("c"), insert("d"), insert("e"))
	release()
	for i, out := range outs {
		if err := receive(t, out); err != nil {
			t.Errorf("call %d: %v", i, err)
		}
	}
	if got := h.commits.Load() - 1; got != 2 {
		t.Errorf("5 calls, 4 a batch: %d commits, want 2", got)
	}
}

// MaxBatchTime ends a batch early: once it has passed, the calls not
// reached yet go to the next transaction.
func TestMaxBatchTimeEndsABatch(t *testing.T) {
	h := open(t, groupcommit.Config[*testTx]{MaxBatchTime: time.Nanosecond})
	release, _ := h.hold(t, nil)
	outs := h.queue(t, context.Background(), insert("a"), insert("b"))
	release()
	for _, out := range outs {
		if err := receive(t, out); err != nil {
			t.Fatal(err)
		}
	}
	if got := h.commits.Load() - 1; got != 2 {
		t.Errorf("a 1ns bound: %d commits for two calls, want 2", got)
	}
}

// One caller's failure rolls back only its own work: b writes and then
// fails; a and c, in the same transaction, commit.
func TestFailedCallLeavesNoTraceInItsBatch(t *testing.T) {
	for _, policy := range []struct {
		name string
		cfg  groupcommit.Config[*testTx]
	}{
		{"savepoints", groupcommit.Config[*testTx]{}},
		// Without savepoints, b's failure after writing makes the writer
		// run the batch again, each call in a savepoint.
		{"unsaved", groupcommit.Config[*testTx]{Unsaved: unsaved}},
	} {
		t.Run(policy.name, func(t *testing.T) {
			h := open(t, policy.cfg)
			release, _ := h.hold(t, nil)
			outs := h.queue(t, context.Background(), insert("a"), insertThenFail("b"), insert("c"))
			release()
			errs := []error{receive(t, outs[0]), receive(t, outs[1]), receive(t, outs[2])}
			if errs[0] != nil || !errors.Is(errs[1], errBoom) || errs[2] != nil {
				t.Fatalf("errors a=%v b=%v c=%v; want nil, %v, nil", errs[0], errs[1], errs[2], errBoom)
			}
			if got := h.ids(t); !slices.Equal(got, []string{"a", "c"}) {
				t.Errorf("committed %v, want [a c]", got)
			}
			if got := h.commits.Load(); got != 2 {
				t.Errorf("commits = %d, want 2 (the holder, then one batch)", got)
			}
		})
	}
}

// Unsaved: calls that fail before writing take no savepoint, and do not
// spoil the others' work.
func TestUnsavedCleanFailureTakesNoSavepoint(t *testing.T) {
	h := open(t, groupcommit.Config[*testTx]{Unsaved: unsaved})
	release, _ := h.hold(t, nil)
	fail := func(*testTx) error { return errBoom }
	outs := h.queue(t, context.Background(), insert("a"), fail, insert("c"))
	release()
	if err := errors.Join(receive(t, outs[0]), receive(t, outs[2])); err != nil {
		t.Fatal(err)
	}
	if err := receive(t, outs[1]); !errors.Is(err, errBoom) {
		t.Fatalf("failing call = %v, want %v", err, errBoom)
	}
	if got := h.savepoints.Load(); got != 0 {
		t.Errorf("%d savepoints taken, want none", got)
	}
	if got := h.ids(t); !slices.Equal(got, []string{"a", "c"}) {
		t.Errorf("committed %v, want [a c]", got)
	}
}

// A call alone in its batch takes no savepoint: if it fails, its
// transaction is rolled back and not committed.
func TestCallAloneTakesNoSavepoint(t *testing.T) {
	h := open(t, groupcommit.Config[*testTx]{})
	if err := h.w.Do(context.Background(), insertThenFail("x")); !errors.Is(err, errBoom) {
		t.Fatalf("Do = %v, want %v", err, errBoom)
	}
	if err := h.w.Do(context.Background(), insert("y")); err != nil {
		t.Fatal(err)
	}
	if got := h.savepoints.Load(); got != 0 {
		t.Errorf("%d savepoints taken, want none", got)
	}
	if got := h.commits.Load(); got != 1 {
		t.Errorf("commits = %d, want 1 (none for the failed call)", got)
	}
	if got := h.ids(t); !slices.Equal(got, []string{"y"}) {
		t.Errorf("committed %v, want [y]", got)
	}
}

// A failed commit reaches every caller of the batch, even one whose own call
// failed, and keeps nothing; the writer goes on.
func TestCommitFailureReachesEveryCaller(t *testing.T) {
	h := open(t, groupcommit.Config[*testTx]{})
	release, _ := h.hold(t, nil)
	outs := h.queue(t, context.Background(), insert("a"), insertThenFail("b"), insert("c"))
	h.failCommit.Store(2) // the holder commits first
	release()
	for i, out := range outs {
		if err := receive(t, out); !errors.Is(err, errCommit) {
			t.Errorf("call %d = %v, want %v", i, err, errCommit)
		}
	}
	if got := h.ids(t); len(got) != 0 {
		t.Errorf("committed %v, want nothing", got)
	}
	if err := h.w.Do(context.Background(), insert("after")); err != nil {
		t.Fatalf("Do after a failed commit: %v", err)
	}
}

// A transaction that cannot begin fails every call it was to hold.
func TestBeginFailureReachesEveryCaller(t *testing.T) {
	h := open(t, groupcommit.Config[*testTx]{})
	release, _ := h.hold(t, nil)
	outs := h.queue(t, context.Background(), insert("a"), insert("b"))
	h.failBegin.Store(true)
	release()
	for i, out := range outs {
		if err := receive(t, out); !errors.Is(err, errBegin) {
			t.Errorf("call %d = %v, want %v", i, err, errBegin)
		}
	}
	h.failBegin.Store(false)
	if got := h.ids(t); len(got) != 0 {
		t.Errorf("committed %v, want nothing", got)
	}
}

// When a savepoint statement fails the transaction is in an unknown state:
// the calls it took fail with it, and the call it did not reach runs in the
// next transaction.
func TestSavepointFailureEndsTheBatch(t *testing.T) {
	h := open(t, groupcommit.Config[*testTx]{})
	release, _ := h.hold(t, nil)
	outs := h.queue(t, context.Background(), insert("a"), insert("b"), insert("c"))
	h.failSaveAt.Store(2) // b's
	release()
	for i, out := range outs[:2] {
		if err := receive(t, out); !errors.Is(err, errSavepoint) {
			t.Errorf("call %d = %v, want %v", i, err, errSavepoint)
		}
	}
	if err := receive(t, outs[2]); err != nil {
		t.Errorf("call c, not reached = %v, want nil (run in the next batch)", err)
	}
	if got := h.ids(t); !slices.Equal(got, []string{"c"}) {
		t.Errorf("committed %v, want [c]", got)
	}
}

// A panic in a call is raised again in its caller; its work is undone, the
// others' in the same batch is kept, and the writer goes on.
func TestPanicIsRaisedInTheCaller(t *testing.T) {
	h := open(t, groupcommit.Config[*testTx]{})
	release, _ := h.hold(t, nil)
	outs := h.queue(t, context.Background(), insert("a"))
	panicked := make(chan any, 1)
	go func() {
		defer func() { panicked <- recover() }()
		_ = h.w.Do(context.Background(), func(tx *testTx) error {
			if err := tx.insert("p"); err != nil {
				return err
			}
			panic("boom")
		})
	}()
	waitFor(t, "2 queued calls", func() bool { return h.w.Queued() == 2 })
	release()
	select {
	case p := <-panicked:
		if p != "boom" {
			t.Fatalf("Do panicked with %v, want boom", p)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the panicking call was not answered")
	}
	if err := receive(t, outs[0]); err != nil {
		t.Fatal(err)
	}
	if err := h.w.Do(context.Background(), insert("q")); err != nil {
		t.Fatalf("Do after a panic: %v", err)
	}
	if got := h.ids(t); !slices.Equal(got, []string{"a", "q"}) {
		t.Errorf("committed %v, want [a q]", got)
	}
}

// New rejects a configuration it cannot run.
func TestNewRejectsBadConfig(t *testing.T) {
	begin := func() (*testTx, error) { return nil, nil }
	for name, cfg := range map[string]groupcommit.Config[*testTx]{
		"no Begin":             {},
		"negative MaxBatch":    {Begin: begin, MaxBatch: -1},
		"Tick without work":    {Begin: begin, Tick: time.Second},
		"Unsaved without Undo": {Begin: begin, Unsaved: &groupcommit.Unsaved[*testTx]{Mark: unsaved.Mark}},
	} {
		if w, err := groupcommit.New(cfg); err == nil {
			w.Close()
			t.Errorf("%s: New succeeded, want an error", name)
		}
	}
}
