package live

import (
	"context"
	"log/slog"
	"strconv"
	"time"

	"github.com/dropoff-dev/dropoff/src/backoff"
	"github.com/dropoff-dev/dropoff/src/defaults"
	"github.com/dropoff-dev/dropoff/src/operation"
)

// RecentReader is what a Tail reads: store.Queries's RecentOperations.
type RecentReader interface {
	RecentOperations(ctx context.Context, limit int) ([]operation.Operation, error)
}

// Tail is the publisher of a query API that runs apart from the worker and
// the projector: it cannot hear them, so it reads what they left in the
// projection. Every Interval it reads the Limit operations updated last and
// publishes, oldest first, each one it has not seen in that state, as
// Visible: to this process, that is when a command becomes something it can
// see. It sees no Accepted events (the command API is another process), and
// when more than Limit operations change within one Interval it publishes
// the latest Limit of them only.
type Tail struct {
	Reader RecentReader
	Hub    *Hub
	// Interval is the time between two reads. Default 500ms.
	Interval time.Duration
	// Limit is how many operations one read returns. Default 200.
	Limit  int
	Logger *slog.Logger // nil: discard
}

// Run tails until ctx is done, then returns nil. What the projection holds
// when it starts is not published: the page reads that itself. A failed read
// is logged and tried again at the next interval.
func (t Tail) Run(ctx context.Context) error {
	if err := defaults.Fill("live tail",
		defaults.Of("Interval", &t.Interval, 500*time.Millisecond),
		defaults.Of("Limit", &t.Limit, 200)); err != nil {
		return err
	}
	if t.Logger == nil {
		t.Logger = slog.New(slog.DiscardHandler)
	}
	var seen map[string]bool // nil until the first read succeeded
	for {
		ops, err := t.Reader.RecentOperations(ctx, t.Limit)
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			t.Logger.Warn("live tail: read recent operations failed; will retry", "error", err)
		default:
			seen = t.publish(ops, seen)
		}
		if !backoff.Sleep(ctx, t.Interval) {
			return nil
		}
	}
}

// publish publishes the operations of ops (newest first) not in seen,
// oldest first, unless seen is nil (the first read), and returns what to
// remember: what this read returned. An operation that fell out of the
// window has an older LastUpdatedAt than everything in it, so it can only
// come back changed, with a new key.
func (t Tail) publish(ops []operation.Operation, seen map[string]bool) map[string]bool {
	next := make(map[string]bool, len(ops))
	for i := len(ops) - 1; i >= 0; i-- {
		op := ops[i]
		key := op.ID + " " + string(op.Status) + " " + strconv.FormatInt(op.LastUpdatedAt.UnixNano(), 10)
		next[key] = true
		if seen != nil && !seen[key] {
			e := OperationEvent(op, time.Time{})
			e.Type = Visible
			t.Hub.Publish(e)
		}
	}
	return next
}
