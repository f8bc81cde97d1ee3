package simulate

import (
	"context"
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
