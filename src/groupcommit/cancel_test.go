package groupcommit_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/dropoff-dev/dropoff/src/groupcommit"
)

// A caller whose ctx ends before the writer starts its call gets ctx.Err()
// at once, even while the writer is busy, and its function never runs.
func TestCancelledCallNeverRuns(t *testing.T) {
	for _, tt := range []struct {
		name         string
		cancelQueued bool // cancel once queued, rather than before calling
	}{
		{name: "cancelled before the call"},
		{name: "cancelled while queued", cancelQueued: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := open(t, groupcommit.Config[*testTx]{})
			release, held := h.hold(t, nil)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if !tt.cancelQueued {
				cancel()
			}
			var ran atomic.Bool
			result := make(chan error, 1)
			go func() {
				result <- h.w.Do(ctx, func(tx *testTx) error {
					ran.Store(true)
					return tx.insert("x")
				})
			}()
			if tt.cancelQueued {
				waitFor(t, "the call queued", func() bool { return h.w.Queued() == 1 })
				cancel()
			}
			if err := receive(t, result); !errors.Is(err, context.Canceled) { // the writer is still held
				t.Errorf("Do = %v, want %v", err, context.Canceled)
			}
			release()
			if err := receive(t, held); err != nil {
				t.Fatalf("holding call: %v", err)
			}
			// The writer's next batch proves it has passed the withdrawn call.
			if err := h.w.Do(context.Background(), insert("after")); err != nil {
				t.Fatalf("Do after: %v", err)
			}
			if ran.Load() {
				t.Errorf("the cancelled caller's function ran")
			}
			if got := h.ids(t); !slices.Equal(got, []string{"after"}) {
				t.Errorf("committed %v, want [after]", got)
			}
		})
	}
}

// Once its call has started, a caller waits for the outcome whatever its ctx
// does: here the ctx ends inside the call, and Do still reports the commit.
// (Repeated, since a Do that gave up would only sometimes be seen to.)
func TestStartedCallIsWaitedFor(t *testing.T) {
	h := open(t, groupcommit.Config[*testTx]{})
	for i := range 20 {
		id := fmt.Sprint("x", i)
		ctx, cancel := context.WithCancel(context.Background())
		err := h.w.Do(ctx, func(tx *testTx) error {
			cancel() // the caller gives up while its work is in the transaction
			return tx.insert(id)
		})
		if err != nil {
			t.Fatalf("Do = %v, want nil: the work committed", err)
		}
		if !h.committed(t, id) {
			t.Fatal("Do returned before the work committed")
		}
	}
}

// lateCtx is a context whose Done channel never closes but which reports
// an error once ended is set: the writer, not the caller, notices it ended.
type lateCtx struct {
	context.Context
	ended atomic.Bool
}

func (c *lateCtx) Err() error {
	if c.ended.Load() {
		return context.Canceled
	}
	return nil
}

// A call whose ctx has ended by the time the writer reaches it is skipped
// and gets ctx.Err(); a failure of the transaction it was skipped in does
// not replace that error, since its work was never in it.
func TestCallReachedAfterItsCtxEndedIsSkipped(t *testing.T) {
	h := open(t, groupcommit.Config[*testTx]{})
	release, _ := h.hold(t, nil)
	ctx := &lateCtx{Context: context.Background()}
	var ran atomic.Bool
	late := h.queue(t, ctx, func(tx *testTx) error { ran.Store(true); return tx.insert("late") })
	other := h.queue(t, context.Background(), insert("other"))
	ctx.ended.Store(true)
	h.failCommit.Store(2) // the holder commits first
	release()
	if err := receive(t, late[0]); !errors.Is(err, context.Canceled) {
		t.Errorf("skipped call = %v, want %v", err, context.Canceled)
	}
	if err := receive(t, other[0]); !errors.Is(err, errCommit) {
		t.Errorf("the other call = %v, want %v", err, errCommit)
	}
	if ran.Load() {
		t.Error("the skipped call ran")
	}
}
