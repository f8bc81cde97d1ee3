package worker

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// breaker is the worker's circuit breaker on the write store. While the store
// fails transiently (store.ErrUnavailable) it is open: the slots that hold a
// session retry their message in place, and the others take no new session,
// since every message of it would only fail too and spend a delivery. One
// slot at a time is let through every probe interval (half open), so that the
// worker finds out the store is back even once every held message has given
// up; the first transaction that commits closes it.
type breaker struct {
	probeEvery time.Duration
	now        func() time.Time
	onChange   func(open bool) // nil: none; called under mu

	mu        sync.Mutex
	open      bool
	since     time.Time     // when it opened
	cause     error         // the failure that opened it
	nextProbe time.Time     // when the next slot may pass while it is open
	closed    chan struct{} // closed, and replaced, whenever it closes
}

func newBreaker(probeEvery time.Duration, now func() time.Time) *breaker {
	return &breaker{probeEvery: probeEvery, now: now, closed: make(chan struct{})}
}

// fail records a transient failure of the store, opening the breaker.
func (b *breaker) fail(cause error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.open {
		b.open, b.since, b.cause = true, b.now(), cause
		b.nextProbe = b.since.Add(b.probeEvery)
		if b.onChange != nil {
			b.onChange(true)
		}
	}
}

// succeed records a committed transaction, closing the breaker.
func (b *breaker) succeed() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.open {
		b.open, b.cause = false, nil
		close(b.closed)
		b.closed = make(chan struct{})
		if b.onChange != nil {
			b.onChange(false)
		}
	}
}

// admit waits until a slot may take a new session: the breaker is closed, or
// it is a probe's turn. false if ctx ended first.
func (b *breaker) admit(ctx context.Context) bool {
	for {
		b.mu.Lock()
		if !b.open {
			b.mu.Unlock()
			return true
		}
		now := b.now()
		if !now.Before(b.nextProbe) {
			b.nextProbe = now.Add(b.probeEvery)
			b.mu.Unlock()
			return true
		}
		wait, closed := b.nextProbe.Sub(now), b.closed
		b.mu.Unlock()
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return false
		case <-closed:
		case <-t.C:
		}
		t.Stop()
	}
}

// ready is nil while the store answers, else says since when it has not.
func (b *breaker) ready(context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.open {
		return nil
	}
	return fmt.Errorf("the write database has failed transiently since %s (%v); commands are being retried in place",
		b.since.UTC().Format(time.RFC3339), b.cause)
}
