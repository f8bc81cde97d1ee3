package sqlite_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dropoff-dev/dropoff/src/store"
	"github.com/dropoff-dev/dropoff/src/store/sqlite"
)

// endsOnceAsked is a context that is live the first time it is asked (Err
// or Done) and ended from then on: a projector being stopped just as its
// batch begins.
type endsOnceAsked struct {
	context.Context
	asked atomic.Bool
	done  chan struct{}
}

func newEndsOnceAsked(parent context.Context) *endsOnceAsked {
	c := &endsOnceAsked{Context: parent, done: make(chan struct{})}
	close(c.done)
	return c
}

func (c *endsOnceAsked) Err() error {
	if c.asked.Swap(true) {
		return context.Canceled
	}
	return nil
}

func (c *endsOnceAsked) Done() <-chan struct{} {
	if c.asked.Swap(true) {
		return c.done
	}
	return nil
}

// TestApplyRunsABegunBatchToItsEnd: a batch Apply has begun is applied
// whole even if its caller's context ends meanwhile (the batch is short; the
// projector stops after it), and a context already ended applies nothing.
func TestApplyRunsABegunBatchToItsEnd(t *testing.T) {
	p := openProjection(t, sqlite.Config{})
	change := func(pos int64, id string) store.Change {
		at := time.Unix(pos, 0)
		r := created(id, at)
		return store.Change{Position: pos, Operation: r.Operation, Shipment: r.Shipment, Change: r.Change, CommittedAt: at}
	}

	ended, cancel := context.WithCancel(t.Context())
	cancel()
	if err := p.Apply(ended, []store.Change{change(1, "early")}, 1); !errors.Is(err, context.Canceled) {
		t.Fatalf("Apply with an ended context = %v; want context.Canceled", err)
	}
	if cp, err := p.Checkpoint(t.Context()); err != nil || cp.Position != 0 {
		t.Fatalf("checkpoint after an Apply that did not begin = %d, %v; want 0", cp.Position, err)
	}

	if err := p.Apply(newEndsOnceAsked(t.Context()), []store.Change{change(1, "a"), change(2, "b")}, 2); err != nil {
		t.Fatalf("Apply whose context ends once it has begun = %v; want the batch applied", err)
	}
	if cp, err := p.Checkpoint(t.Context()); err != nil || cp.Position != 2 {
		t.Fatalf("checkpoint = %d, %v; want 2", cp.Position, err)
	}
	for _, id := range []string{"a", "b"} {
		if _, ok, err := p.Shipment(t.Context(), id); err != nil || !ok {
			t.Errorf("shipment %s after the batch: found %v, %v; want it applied", id, ok, err)
		}
	}
}
