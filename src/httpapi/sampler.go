package httpapi

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// sampler keeps the last value read by read: a gauge for decisions made on
// every request (load shedding, the Projection-Lag header) that must not cost
// a database read per request. A call that finds the sample older than the
// interval starts one refresh in the background and gets the sample it has;
// none waits for a read.
type sampler[T any] struct {
	read     func(context.Context) (T, error)
	interval time.Duration
	logger   *slog.Logger
	what     string // for the log: "the queue's backlog"

	refreshing atomic.Bool
	mu         sync.Mutex
	last       T
	at         time.Time // of the last good sample; zero: none yet
	failing    bool
}

// get returns the last good sample and when it was read (zero: none yet).
func (s *sampler[T]) get() (T, time.Time) {
	s.mu.Lock()
	v, at := s.last, s.at
	s.mu.Unlock()
	if time.Since(at) >= s.interval && s.refreshing.CompareAndSwap(false, true) {
		go s.refresh()
	}
	return v, at
}

// refresh reads once; a failure keeps the last good sample (whose age then
// tells), and is logged once per outage, not once per interval.
func (s *sampler[T]) refresh() {
	defer s.refreshing.Store(false)
	ctx, cancel := context.WithTimeout(context.Background(), max(s.interval, time.Second))
	defer cancel()
	v, err := s.read(ctx)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		if !s.failing {
			s.logger.Warn("cannot read "+s.what, "error", err)
		}
		s.failing = true
		return
	}
	if s.failing {
		s.logger.Info("can read " + s.what + " again")
	}
	s.last, s.at, s.failing = v, time.Now(), false
}
