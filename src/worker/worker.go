package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
	"golang.org/x/sync/errgroup"

	"github.com/dropoff-dev/dropoff/src/backoff"
	"github.com/dropoff-dev/dropoff/src/bus"
	"github.com/dropoff-dev/dropoff/src/defaults"
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
	// Retry is the wait before abandoning a message that failed for a
	// transient reason, doubled for every earlier delivery and capped at
	// Retry.Max. Default backoff.Default (100ms to 5s). The same backoff,
	// counted in consecutive failures, paces retries of AcceptNextSession.
	Retry backoff.Policy
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

	// Observe, when set, hears every message's Outcome (observe.go). It must
	// return at once. nil: nobody listens.
	Observe func(Outcome)

	Logger     *slog.Logger          // nil: discard
	Registerer prometheus.Registerer // nil: no metrics
	Now        func() time.Time      // nil: time.Now
	// TracerProvider starts a span for each message processed and each
	// transaction (nil: none); Propagator reads the trace context a message
	// carries (nil: W3C trace context). See tracing.go.
	TracerProvider trace.TracerProvider
	Propagator     propagation.TextMapPropagator
}

// withDefaults fills the zero fields of c (the defaults are in each
// field's comment) and checks the rest.
func (c Config) withDefaults() (Config, error) {
	err := defaults.Fill("worker config",
		defaults.Of("MaxSessions", &c.MaxSessions, 64),
		defaults.Of("ReceiveBatch", &c.ReceiveBatch, 32),
		defaults.Of("IdleTimeout", &c.IdleTimeout, 20*time.Millisecond),
		defaults.Of("MaxSessionHold", &c.MaxSessionHold, time.Second),
		defaults.Of("AcceptTimeout", &c.AcceptTimeout, 5*time.Second),
		defaults.Of("MessageTimeout", &c.MessageTimeout, 30*time.Second),
		defaults.Of("MaxOutage", &c.MaxOutage, 10*time.Minute),
		defaults.Of("DeadLetterScan", &c.DeadLetterScan, 2*time.Second),
		defaults.Of("DeadLetterRescan", &c.DeadLetterRescan, time.Minute))
	if err != nil {
		return c, err
	}
	if c.Retry, err = c.Retry.WithDefaults(); err != nil {
		return c, fmt.Errorf("worker config: Retry: %w", err)
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.TracerProvider == nil {
		c.TracerProvider = noop.NewTracerProvider()
	}
	if c.Propagator == nil {
		c.Propagator = propagation.TraceContext{}
	}
	return c, nil
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
	tracer   trace.Tracer
}

// New returns a Worker that takes sessions from r and applies their commands
// to ws. It registers its metrics with cfg.Registerer, when set.
func New(r bus.Receiver, ws store.WriteStore, cfg Config) (*Worker, error) {
	if r == nil || ws == nil {
		return nil, errors.New("new worker: a receiver and a write store are required")
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, fmt.Errorf("new worker: %w", err)
	}
	b := newBreaker(cfg.Retry.Max, cfg.Now)
	b.onChange = func(open bool) {
		if open {
			m.storeDown.Set(1)
		} else {
			m.storeDown.Set(0)
		}
	}
	return &Worker{receiver: r, store: ws, cfg: cfg, log: cfg.Logger, metrics: m, breaker: b,
		tracer: cfg.TracerProvider.Tracer(instrumentation)}, nil
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

// backoff is how long to wait before the nth retry (n >= 1).
func (w *Worker) backoff(n int) time.Duration { return w.cfg.Retry.Delay(n) }

// detached returns a context for work that must finish even when ctx is
// cancelled (a message already started), bounded by MessageTimeout.
func (w *Worker) detached(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), w.cfg.MessageTimeout)
}
