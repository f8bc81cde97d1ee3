package simulate

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/dropoff-dev/dropoff/src/store"
)

// Delayed wraps a store.WriteStore so that every Update waits Delay before it
// starts its transaction. It injects a slow database on purpose, to show
// what write latency does to each side of the system: an asynchronous
// command API keeps answering at once while the worker falls behind; a
// synchronous one makes every client wait (dropoff --inject-write-delay,
// dropoff load --compare).
//
// The wait comes before the transaction, not inside it. It stands for the
// round trips to a remote database, which concurrent transactions pay side by
// side. Waiting while holding the transaction would instead model a database
// that runs one transaction at a time — which is what SQLite, with its single
// writer, would turn it into.
type Delayed struct {
	store.WriteStore
	Delay time.Duration
}

// Update waits Delay, or until ctx is done (returning its error, with
// nothing done), then runs the wrapped Update.
func (d Delayed) Update(ctx context.Context, fn func(ctx context.Context, tx store.WriteTx) error) error {
	if d.Delay > 0 {
		t := time.NewTimer(d.Delay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		}
	}
	return d.WriteStore.Update(ctx, fn)
}

// Knob is a delay that can be turned while it is in use: the lab's "slow
// the write store" (Slowed). Safe for concurrent use; the zero value is no
// delay.
type Knob struct{ d atomic.Int64 }

// Set sets the delay (0: none; a negative one counts as 0).
func (k *Knob) Set(d time.Duration) { k.d.Store(int64(max(d, 0))) }

// Get returns the delay.
func (k *Knob) Get() time.Duration { return time.Duration(k.d.Load()) }

// Slowed is Delayed with its delay read from Knob at every Update.
type Slowed struct {
	store.WriteStore
	Knob *Knob
}

// Update waits the Knob's delay, as Delayed does, then runs the wrapped Update.
func (s Slowed) Update(ctx context.Context, fn func(ctx context.Context, tx store.WriteTx) error) error {
	return Delayed{WriteStore: s.WriteStore, Delay: s.Knob.Get()}.Update(ctx, fn)
}
