package httpapi

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/dropoff-dev/dropoff/src/bus"
)

// shedder refuses commands while the queue's backlog is past its bound, so
// that a worker that falls behind makes clients wait (503, Retry-After)
// instead of growing the queue without end (docs/adr/0009-load-shedding.md).
//
// The backlog is sampled (sampler), never read on a request's path. Between
// samples the shedder adds the commands it has accepted since the last one
// began, so that a burst cannot overshoot the bound by a whole interval's
// sends (the estimate is high by what the workers drained meanwhile, and it
// counts only this replica's sends). A backlog that cannot be read sheds
// nothing (fail open): the send itself tells whether the queue works, and a
// failing gauge must not take the API down. Once the last good sample is
// older than staleAfter intervals it no longer counts either.
type shedder struct {
	max      int64         // 0: no bound on messages
	maxAge   time.Duration // 0: no bound on the oldest message's age
	interval time.Duration
	backlog  *sampler[bus.Backlog]
	added    atomic.Int64 // commands accepted since the last sample began
}

// staleAfter: a sample this many intervals old is not trusted.
const staleAfter = 10

func newShedder(r bus.BacklogReader, maxMessages int64, maxAge, interval time.Duration, logger *slog.Logger) *shedder {
	s := &shedder{max: maxMessages, maxAge: maxAge, interval: interval}
	s.backlog = &sampler[bus.Backlog]{interval: interval, logger: logger,
		what: "the queue's backlog (not shedding load while it cannot be read)",
		read: func(ctx context.Context) (bus.Backlog, error) {
			added := s.added.Swap(0) // the sample will count these
			b, err := r.Backlog(ctx)
			if err != nil {
				s.added.Add(added) // it did not
			}
			return b, err
		}}
	return s
}

// over says whether to shed now, and why.
func (s *shedder) over() (string, bool) {
	b, at := s.backlog.get()
	if at.IsZero() || time.Since(at) > staleAfter*s.interval {
		return "", false
	}
	switch n := b.Messages + s.added.Load(); {
	case s.max > 0 && n >= s.max:
		return fmt.Sprintf("about %d commands wait on the queue, the bound is %d", n, s.max), true
	case s.maxAge > 0 && b.OldestAge > s.maxAge:
		return fmt.Sprintf("the oldest command has waited %v on the queue, longer than the bound of %v", b.OldestAge.Round(time.Second), s.maxAge), true
	}
	return "", false
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
