package httpapi

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dropoff-dev/dropoff/src/bus"
)

// shedder refuses commands while the queue's backlog is past its bound, so
// that a worker that falls behind makes clients wait (503, Retry-After)
// instead of growing the queue without end.
//
// Between samples it adds the commands it has accepted since the last one
// began, so that a burst cannot overshoot the bound by a whole interval's
// sends (the estimate is high by what the workers drained meanwhile, and it
// counts only this replica's sends).
//
// It never reads the backlog on a request's path: a request that finds the
// last sample older than the interval starts one refresh in the background
// and is judged by the sample it has. A backlog that cannot be read sheds
// nothing (fail open): the send itself tells whether the queue works, and a
// failing gauge must not take the API down. Once the last good sample is
// older than staleAfter it no longer counts either.
type shedder struct {
	reader   bus.BacklogReader
	max      int64         // 0: no bound on messages
	maxAge   time.Duration // 0: no bound on the oldest message's age
	interval time.Duration
	now      func() time.Time
	logger   *slog.Logger

	refreshing atomic.Bool
	added      atomic.Int64 // commands accepted since the last sample began
	mu         sync.Mutex
	last       bus.Backlog
	lastAt     time.Time // of the last good sample
	lastErr    error
}

// staleAfter: a sample this many intervals old is not trusted.
const staleAfter = 10

// over says whether to shed now, and why.
func (s *shedder) over() (string, bool) {
	now := s.now()
	s.mu.Lock()
	b, at := s.last, s.lastAt
	s.mu.Unlock()
	if now.Sub(at) >= s.interval && s.refreshing.CompareAndSwap(false, true) {
		go s.refresh()
	}
	if at.IsZero() || now.Sub(at) > staleAfter*s.interval {
		return "", false
	}
	switch {
	case s.max > 0 && b.Messages+s.added.Load() >= s.max:
		return fmt.Sprintf("about %d commands wait on the queue, the bound is %d", b.Messages+s.added.Load(), s.max), true
	case s.maxAge > 0 && b.OldestAge > s.maxAge:
		return fmt.Sprintf("the oldest command has waited %v on the queue, longer than the bound of %v", b.OldestAge.Round(time.Second), s.maxAge), true
	}
	return "", false
}

func (s *shedder) refresh() {
	defer s.refreshing.Store(false)
	ctx, cancel := context.WithTimeout(context.Background(), max(s.interval, time.Second))
	defer cancel()
	added := s.added.Swap(0) // the sample will count these
	b, err := s.reader.Backlog(ctx)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		s.added.Add(added)    // it did not
		if s.lastErr == nil { // once per outage, not once per interval
			s.logger.Warn("cannot read the queue's backlog; not shedding load while it cannot be read", "error", err)
		}
		s.lastErr = err
		return
	}
	if s.lastErr != nil {
		s.logger.Info("the queue's backlog can be read again")
	}
	s.last, s.lastAt, s.lastErr = b, s.now(), nil
}

// accepted counts a command accepted onto the queue.
func (s *shedder) accepted() { s.added.Add(1) }

// problem is the answer to a shed command: 503 with a Retry-After of two
// sampling intervals, the soonest the next sample can say otherwise.
func (s *shedder) problem(why string) Problem {
	retry := strconv.Itoa(int(math.Ceil(2 * s.interval.Seconds())))
	return newProblem(http.StatusServiceUnavailable, ProblemOverloaded,
		"the workers are behind: "+why+"; retry later").withHeader("Retry-After", retry)
}
