package load

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/dropoff-dev/dropoff/src/backoff"
)

// one sends the next command of shipment i and books its answer. The
// caller holds the shipment (it took i from r.free), so nothing else touches
// its model meanwhile. scheduled is when the command was due.
//
// ctx is the run's, not the send window's: a request in flight when the
// window closes is finished, not cut off, because a cut-off request may have
// been accepted all the same and the model would no longer know.
func (r *runner) one(ctx context.Context, i int, rng *rand.Rand, scheduled time.Time) {
	m := r.models[i]
	req := m.next(rng, r.cfg.Mix.pick(rng))
	r.sent.Add(1)
	code, op, err := r.c.send(ctx, req)
	answered := time.Now()
	switch {
	case err != nil && notSent(err), err == nil && refusing(code):
		// Surely not accepted: the connection was refused (the server is
		// down, or restarting), or the server said it accepts nothing now.
		// Nothing to verify; wait before the next try, longer while it lasts.
		r.notAccepted.Add(1)
		backoff.Sleep(ctx, r.down.fail())
		return
	case err != nil:
		if code/100 == 2 || code == 0 {
			// Maybe accepted (a 2xx whose body was unreadable, or no answer
			// at all: a server killed mid-request): the shipment's history
			// can no longer be predicted.
			r.unknownFate.Add(1)
			r.tainted[i].Store(true)
			backoff.Sleep(ctx, r.down.fail())
		} else if ctx.Err() == nil {
			r.errs.add(errorKind(err))
		}
		return
	}
	r.down.ok()
	if req.kind == Invalid {
		if code/100 == 4 {
			r.rejected.Add(1)
			return
		}
		r.errs.add(fmt.Sprintf("invalid_answered_%d", code))
		if code/100 == 2 {
			r.tainted[i].Store(true)
		}
		return
	}
	want := http.StatusAccepted
	if r.cfg.Sync {
		want = http.StatusOK
	}
	if code != want || op.ID == "" {
		r.errs.add(fmt.Sprintf("http_%d", code))
		return
	}
	r.accepted.Add(1)
	r.accept.add(answered.Sub(scheduled))
	accepted := append(m.accepted, Accepted{OperationID: op.ID, Applies: req.applies})
	if req.applies {
		*m = req.next
	}
	m.accepted = accepted
	if r.cfg.Sync {
		r.checkOutcome(op, req.applies)
		return
	}
	if float64(r.polls.Load()) > r.cfg.PollBudget*float64(r.sent.Load()) {
		return // measuring has cost its share of the target's work: unsampled
	}
	select { // watch it if a watcher is free; else it goes unsampled
	case r.watch <- watchJob{id: op.ID, shipment: i, applies: req.applies, at: answered}:
		r.watched.Add(1)
	default:
	}
}

// checkOutcome counts a terminal operation whose outcome the model did not predict.
func (r *runner) checkOutcome(op opBody, applies bool) {
	if (op.Status == "Succeeded") != applies {
		r.wrongOutcome.Add(1)
		r.errs.add("unpredicted_outcome_" + op.Status)
	}
}

// maxPending is how many operations one watcher watches at once.
const maxPending = 64

// watcher takes operations to watch, up to maxPending at a time, and polls
// each of them in turn until it is terminal, recording how long after its
// acceptance it became visible. It returns when r.watch is closed and its
// operations are done, or when ctx is done.
func (r *runner) watcher(ctx context.Context) {
	var pending []watchJob
	open := true
	for ctx.Err() == nil && (open || len(pending) > 0) {
		if len(pending) == 0 { // nothing to poll: wait for work
			job, ok := <-r.watch
			if !ok {
				return
			}
			pending = append(pending, job)
		}
		for open && len(pending) < maxPending { // take what is waiting, without waiting
			select {
			case job, ok := <-r.watch:
				if !ok {
					open = false
					break
				}
				pending = append(pending, job)
				continue
			default:
			}
			break
		}
		var wait time.Duration
		pending, wait = r.sweep(ctx, pending)
		if len(pending) > 0 {
			backoff.Sleep(ctx, wait)
		}
	}
}

// sweep polls each pending operation that is due and returns those still
// not terminal, and how long until the next is due. An operation is polled
// every PollInterval or every twentieth of its age, whichever is longer: the
// measurement stays within about 5%, and a backlog of seconds does not turn
// the watchers into a load of their own.
func (r *runner) sweep(ctx context.Context, pending []watchJob) ([]watchJob, time.Duration) {
	left := pending[:0]
	now := time.Now()
	next := now.Add(time.Second)
	for _, job := range pending {
		if job.due.After(now) {
			left, next = append(left, job), earliest(next, job.due)
			continue
		}
		op, err := r.c.operation(ctx, job.id)
		r.polls.Add(1)
		age := time.Since(job.at)
		switch {
		case err == nil && op.terminal():
			r.visible.add(age)
			if !r.tainted[job.shipment].Load() { // a tainted shipment's outcomes cannot be predicted
				r.checkOutcome(op, job.applies)
			}
		case age > r.cfg.DrainTimeout:
			r.errs.add("watch_timeout")
		default: // not yet, or the poll failed: again when due
			job.due = time.Now().Add(max(r.cfg.PollInterval, age/20))
			left, next = append(left, job), earliest(next, job.due)
		}
	}
	return left, time.Until(next)
}

func earliest(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// await polls operation id every PollInterval until it is terminal, ctx is
// done or limit has passed.
func (r *runner) await(ctx context.Context, id string, limit time.Duration) (opBody, error) {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	t := time.NewTicker(r.cfg.PollInterval)
	defer t.Stop()
	for {
		op, err := r.c.operation(ctx, id)
		if err == nil && op.terminal() {
			return op, nil
		}
		// Not yet terminal, or the poll failed (a 5xx, a dropped
		// connection): poll again, until the limit.
		select {
		case <-t.C:
		case <-ctx.Done():
			return op, fmt.Errorf("await operation %s: %w", id, ctx.Err())
		}
	}
}

// progress prints a progress line every second until ctx is done.
func (r *runner) progress(ctx context.Context, start time.Time) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-ctx.Done():
			fmt.Fprint(r.cfg.Progress, "\r\033[K")
			return
		}
		el := time.Since(start)
		_, errs := r.errs.snapshot()
		a := r.accept.summary()
		writeProgress(r.cfg.Progress, el, r.accepted.Load(), r.rejected.Load(), errs, a.P50, a.P99)
	}
}

func writeProgress(w io.Writer, el time.Duration, accepted, rejected, errs int64, p50, p99 time.Duration) {
	fmt.Fprintf(w, "\r\033[K%5.1fs  accepted %d (%.0f/s)  rejected %d  errors %d  accept p50 %s p99 %s",
		el.Seconds(), accepted, float64(accepted)/el.Seconds(), rejected, errs, ms(p50), ms(p99))
}
