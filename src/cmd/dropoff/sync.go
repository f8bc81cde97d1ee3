package main

import (
	"context"
	"time"

	"github.com/dropoff-dev/dropoff/src/baseline"
	"github.com/dropoff-dev/dropoff/src/simulate"
	"github.com/dropoff-dev/dropoff/src/store"
)

// The two modes (--mode). async is Dropoff: the command API sends, the
// worker applies. sync is the baseline it is measured against (dropoff load
// --compare): the command API applies each command inside the request, with
// the worker's own transaction, and there is no queue and no worker.
const (
	modeAsync = "async"
	modeSync  = "sync"
)

// startSyncCommandAPI serves the command routes of the synchronous
// baseline (package baseline): validate exactly as the asynchronous API
// does, apply, answer 200 with the result.
func startSyncCommandAPI(ctx context.Context, p *process) error {
	w, err := p.writeDB(ctx)
	if err != nil {
		return err
	}
	p.http.Sink = baseline.Sink{Store: w}
	return nil
}

// delayedWriteDB is a write database whose transactions wait first
// (--inject-write-delay); the feed and everything else are untouched.
type delayedWriteDB struct {
	writeDB
	delayed simulate.Delayed
}

// withWriteDelay slows w's transactions by d; d = 0 leaves w as it is.
func withWriteDelay(w writeDB, d time.Duration) writeDB {
	if d <= 0 {
		return w
	}
	return delayedWriteDB{writeDB: w, delayed: simulate.Delayed{WriteStore: w, Delay: d}}
}

func (d delayedWriteDB) Update(ctx context.Context, fn func(context.Context, store.WriteTx) error) error {
	return d.delayed.Update(ctx, fn)
}

// Commits passes on the wrapped store's commit count, if it keeps one.
func (d delayedWriteDB) Commits() int64 {
	if c, ok := d.writeDB.(committer); ok {
		return c.Commits()
	}
	return 0
}

// committer is a store that counts its commits (the SQLite adapters do).
type committer interface{ Commits() int64 }
