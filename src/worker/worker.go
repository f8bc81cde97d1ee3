package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"

	"github.com/dropoff-dev/dropoff/src/backoff"
	"github.com/dropoff-dev/dropoff/src/bus"
	"github.com/dropoff-dev/dropoff/src/store"
)

// Config tunes a Worker. Zero values take the defaults noted on each field;
// negative values are refused.
type Config struct {
	// MaxSessions caps how many sessions (shipments) are held at once. Default
	// 64: a session mostly waits on fsyncs, which group commit shares.
	MaxSessions int
	// ReceiveBatch is how many messages one Receive may return. Default 32.
	ReceiveBatch int
	// IdleTimeout releases a session that had no message for this long, so
	// that a worker slot goes back to other shipments. Default 20ms.
	IdleTimeout time.Duration
	// MaxSessionHold hands a session back once it has been held this long,
	// even while its messages keep coming, so that a busy shipment cannot
	// keep a slot to itself while others wait (the bus offers the session
	// with the oldest waiting message next). It is checked between batches,
	// never with messages received but not processed. Default 1s.
	MaxSessionHold time.Duration
	// AcceptTimeout bounds one wait for a session; when it passes with no
	// session the slot simply asks again. Default 5s.
	AcceptTimeout time.Duration
	// RetryBackoff is the wait before abandoning a message that failed for a
	// transient reason, doubled for every earlier delivery and capped at
	// MaxRetryBackoff. Defaults 100ms and 5s. The same backoff, counted in
	// consecutive failures, paces retries of AcceptNextSession.
	RetryBackoff, MaxRetryBackoff time.Duration
	// MessageTimeout bounds the transaction, and separately the settlement, of
	// one message. They run on a context that shutdown does not cancel, so a
	// message once started is finished. Default 30s.
	MessageTimeout time.Duration
	// MaxOutage is how long a message is retried in place while the write
	// database fails transiently (store.ErrUnavailable: down, failing over,
	// locked, full). Meanwhile it spends no delivery and the worker takes no
	// new session; past it the message is abandoned like any failure. Default
	// 10m: longer than an Azure SQL failover or a disk briefly full, shorter
	// than the queue's time to live.
	MaxOutage time.Duration
	// DeadLetters, when set, turns on the dead-letter recorder: it gives the
	// operation of every dead-lettered message the outcome Failed/DeadLettered.
	DeadLetters bus.DeadLetters
	// DeadLetterScan is how often the recorder looks for new dead letters.
	// Default 2s.
	DeadLetterScan time.Duration
	// DeadLetterRescan is how often it scans the whole dead-letter queue,
	// for dead letters that landed behind its cursor. Default 1m.
	DeadLetterRescan time.Duration

	Logger     *slog.Logger          // nil: discard
	Registerer prometheus.Registerer // nil: no metrics
	Now        func() time.Time      // nil: time.Now
}

func (c *Config) setDefaults() error {
	ints := []struct {
		v   *int
		def int
		n   string
	}{{&c.MaxSessions, 64, "MaxSessions"}, {&c.ReceiveBatch, 32, "ReceiveBatch"}}
	for _, f := range ints {
		if *f.v < 0 {
			return fmt.Errorf("worker config: %s must not be negative", f.n)
		}
		if *f.v == 0 {
			*f.v = f.def
		}
	}
	durations := []struct {
		v   *time.Duration
		def time.Duration
		n   string
	}{
		{&c.IdleTimeout, 20 * time.Millisecond, "IdleTimeout"},
		{&c.MaxSessionHold, time.Second, "MaxSessionHold"},
		{&c.AcceptTimeout, 5 * time.Second, "AcceptTimeout"},
		{&c.RetryBackoff, 100 * time.Millisecond, "RetryBackoff"},
		{&c.MaxRetryBackoff, 5 * time.Second, "MaxRetryBackoff"},
		{&c.MessageTimeout, 30 * time.Second, "MessageTimeout"},
		{&c.MaxOutage, 10 * time.Minute, "MaxOutage"},
		{&c.DeadLetterScan, 2 * time.Second, "DeadLetterScan"},
		{&c.DeadLetterRescan, time.Minute, "DeadLetterRescan"},
	}
	for _, f := range durations {
		if *f.v < 0 {
			return fmt.Errorf("worker config: %s must not be negative", f.n)
		}
		if *f.v == 0 {
			*f.v = f.def
		}
	}
	if c.MaxRetryBackoff < c.RetryBackoff {
		return errors.New("worker config: MaxRetryBackoff must be at least RetryBackoff")
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return nil
}

// Worker applies commands from the bus to the write store. Create it with New
// and start it with Run.
type Worker struct {
	receiver bus.Receiver
	store    store.WriteStore
	cfg      Config
	log      *slog.Logger
	metrics  *metrics
	breaker  *breaker
}

// New returns a Worker that takes sessions from r and applies their commands
// to ws. It registers its metrics with cfg.Registerer, when set.
func New(r bus.Receiver, ws store.WriteStore, cfg Config) (*Worker, error) {
	if r == nil || ws == nil {
		return nil, errors.New("new worker: a receiver and a write store are required")
	}
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, fmt.Errorf("new worker: %w", err)
	}
	b := newBreaker(cfg.MaxRetryBackoff, cfg.Now)
	b.onChange = func(open bool) {
		if open {
			m.storeDown.Set(1)
		} else {
			m.storeDown.Set(0)
		}
	}
	return &Worker{receiver: r, store: ws, cfg: cfg, log: cfg.Logger, metrics: m, breaker: b}, nil
}

// Ready reports whether the worker can apply commands: nil unless the write
// database has been failing transiently, and the worker is waiting it out.
func (w *Worker) Ready(ctx context.Context) error { return w.breaker.ready(ctx) }

// Run processes commands until ctx is done, then shuts down: it stops
// accepting sessions, lets every message already started finish its
// transaction and settlement, closes the sessions it holds and waits for every
// goroutine it started. It returns nil after a shutdown, or the error that
// made it stop (the receiver was closed under it).
func (w *Worker) Run(ctx context.Context) error {
	// The errgroup owns every goroutine of the worker: MaxSessions slots and
	// the dead-letter recorder. A slot that fails for good cancels gctx, which
	// stops the others the same way a shutdown does.
	g, gctx := errgroup.WithContext(ctx)
	for range w.cfg.MaxSessions {
		g.Go(func() error { return w.slot(gctx) })
	}
	if w.cfg.DeadLetters != nil {
		g.Go(func() error {
			w.recordDeadLetters(gctx)
			return nil
		})
	}
	return g.Wait()
}

// backoff is how long to wait before the nth retry (n >= 1): RetryBackoff
// doubled n-1 times, capped at MaxRetryBackoff.
func (w *Worker) backoff(n int) time.Duration {
	return backoff.Policy{Initial: w.cfg.RetryBackoff, Max: w.cfg.MaxRetryBackoff}.Delay(n)
}

// sleep waits for d or until ctx is done, whichever comes first.
func sleep(ctx context.Context, d time.Duration) { backoff.Sleep(ctx, d) }

// detached returns a context for work that must finish even when ctx is
// cancelled (a message already started), bounded by MessageTimeout.
func (w *Worker) detached(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), w.cfg.MessageTimeout)
}
