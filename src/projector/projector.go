package projector

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/dropoff-dev/dropoff/src/backoff"
	"github.com/dropoff-dev/dropoff/src/defaults"
	"github.com/dropoff-dev/dropoff/src/store"
)

// Config tunes a Projector. Zero values take the defaults noted on each
// field; negative values are refused.
type Config struct {
	// BatchSize is how many feed entries are read and applied in one
	// projection transaction. Default 256.
	BatchSize int
	// PollInterval is how long to wait before looking again once the feed is
	// drained. Default 20ms.
	PollInterval time.Duration
	// Retry is the wait after a failure, doubled for every failure in a row
	// and capped at Retry.Max. Default backoff.Default (100ms to 5s).
	Retry backoff.Policy
	// StallAfter is how long the projector may go without a step that
	// succeeds (one that applied entries, or found none to apply) before
	// Ready says it is stuck. Default 30s.
	StallAfter time.Duration
	// Observe, when set, is given every batch of entries once it is applied
	// (observe.go). It must return at once. nil: nobody listens.
	Observe func([]store.Change)

	Logger     *slog.Logger          // nil: discard
	Registerer prometheus.Registerer // nil: no metrics
	Now        func() time.Time      // nil: time.Now
	// TracerProvider starts a span for each batch applied (nil: none), linked
	// to the commands' traces, which Propagator reads (nil: W3C trace
	// context). See tracing.go.
	TracerProvider trace.TracerProvider
	Propagator     propagation.TextMapPropagator
}

// withDefaults fills the zero fields of c (the defaults are in each
// field's comment) and checks the rest.
func (c Config) withDefaults() (Config, error) {
	err := defaults.Fill("projector config",
		defaults.Of("BatchSize", &c.BatchSize, 256),
		defaults.Of("PollInterval", &c.PollInterval, 20*time.Millisecond),
		defaults.Of("StallAfter", &c.StallAfter, 30*time.Second))
	if err != nil {
		return c, err
	}
	if c.Retry, err = c.Retry.WithDefaults(); err != nil {
		return c, fmt.Errorf("projector config: Retry: %w", err)
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

// Projector follows the write store's change feed into the projection.
// There must be one per projection database (store.Projection is not safe
// for concurrent use), and one Run at a time.
type Projector struct {
	feed    store.Feed
	proj    store.Projection
	cfg     Config
	log     *slog.Logger
	metrics *metrics
	tracer  trace.Tracer
	// lastOK is when a step last succeeded (unix nanoseconds); lastErr the
	// error of the last step that failed. Ready reads them.
	lastOK  atomic.Int64
	lastErr atomic.Pointer[error]
}

// New returns a Projector that reads feed and applies it to p. It registers
// its metrics with cfg.Registerer, when set.
func New(feed store.Feed, p store.Projection, cfg Config) (*Projector, error) {
	if feed == nil || p == nil {
		return nil, errors.New("new projector: a feed and a projection are required")
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, fmt.Errorf("new projector: %w", err)
	}
	pr := &Projector{feed: feed, proj: p, cfg: cfg, log: cfg.Logger, metrics: m,
		tracer: cfg.TracerProvider.Tracer(instrumentation)}
	pr.lastOK.Store(cfg.Now().UnixNano()) // a start gets StallAfter to make its first step
	return pr, nil
}

// Ready reports whether the projector is doing its job: nil unless no step
// has succeeded for StallAfter (the feed cannot be read, or the projection
// cannot be written), while the projection falls behind. It is the
// projector role's readiness check.
func (p *Projector) Ready(context.Context) error {
	since := p.cfg.Now().Sub(time.Unix(0, p.lastOK.Load()))
	if since <= p.cfg.StallAfter {
		return nil
	}
	err := errors.New("no error recorded")
	if e := p.lastErr.Load(); e != nil {
		err = *e
	}
	return fmt.Errorf("projector: no step has succeeded for %v: %w", since.Round(time.Second), err)
}

// ErrWrongFeed stops the projector: the write database is not the one the
// projection follows, or no longer holds the entry the projection applied
// last, so positions read from it would skip entries or apply others twice.
// The error says what was found and what to do; the projector never guesses.
var ErrWrongFeed = errors.New("projector: the write database's feed is not the one this projection follows")

// Run follows the feed until ctx is done, then returns nil. Failures are
// logged and retried with backoff; it never skips an entry. It returns an
// error wrapping ErrWrongFeed, and stops, when the write database turns out
// not to be the one the projection follows.
func (p *Projector) Run(ctx context.Context) error {
	var cp store.Checkpoint
	// The projection is the truth about how far it got: read its checkpoint
	// at the start and after every failure, since a failed Apply may still
	// have committed (its acknowledgement lost on the way back).
	reload := true
	failures := 0
	for ctx.Err() == nil {
		var n int
		var err error
		if reload {
			cp, err = p.attach(ctx)
			reload = err != nil
		}
		if err == nil {
			n, cp, err = p.step(ctx, cp)
		}
		if err == nil {
			p.lastOK.Store(p.cfg.Now().UnixNano())
			p.lastErr.Store(nil)
		} else {
			p.lastErr.Store(&err)
		}
		switch {
		case ctx.Err() != nil:
			return nil
		case errors.Is(err, ErrWrongFeed):
			p.log.Error("projector stopped: it will not skip entries or apply others twice", "error", err)
			return err
		case err != nil:
			failures++
			reload = true
			d := p.backoff(failures)
			// A database that is down or locked passes (store.ErrUnavailable);
			// anything else may be a bug, and is retried all the same, since
			// skipping an entry is never an option.
			level, msg := slog.LevelError, "projector failed; will retry"
			if errors.Is(err, store.ErrUnavailable) {
				level, msg = slog.LevelWarn, "a database is unavailable; the projector will retry"
			}
			p.log.Log(ctx, level, msg, "attempt", failures, "backoff", d.String(), "error", err)
			backoff.Sleep(ctx, d)
		case n == 0:
			failures = 0
			backoff.Sleep(ctx, p.cfg.PollInterval)
		default:
			failures = 0 // more may follow at once: no wait
		}
	}
	return nil
}

// attach makes sure the feed is the one the projection follows (the first
// feed a projection is attached to is recorded as its own) and reads the
// checkpoint.
func (p *Projector) attach(ctx context.Context) (store.Checkpoint, error) {
	id, err := p.feed.Identity(ctx)
	if err != nil {
		return store.Checkpoint{}, fmt.Errorf("read the feed's identity: %w", err)
	}
	following, err := p.proj.Follow(ctx, id)
	if err != nil {
		return store.Checkpoint{}, fmt.Errorf("record the feed followed: %w", err)
	}
	if following != id {
		return store.Checkpoint{}, fmt.Errorf("%w: the projection follows feed %s, and this write database's feed is %s. "+
			"Point the projector at the write database the projection was built from; or, to project this one, "+
			"give the projector an empty projection database, which it fills from the start of this feed", ErrWrongFeed, following, id)
	}
	cp, err := p.proj.Checkpoint(ctx)
	if err != nil {
		return store.Checkpoint{}, fmt.Errorf("read checkpoint: %w", err)
	}
	return cp, nil
}

// step reads the next batch after the checkpoint and applies it with its new
// checkpoint in one projection transaction. It returns how many entries it
// applied and the checkpoint after them.
//
// Every read starts one entry early, at the checkpoint itself, and checks
// that the feed still holds there the entry the projection applied last. A
// write database restored from an older copy (or failed over to a replica
// that lags) does not: its feed ends below the checkpoint, or goes on with
// other entries at the same positions, and without the check the projector
// would take those as applied and skip them. It stops instead.
//
// A step that applies entries runs in a span (startApply); one that finds
// none makes no span, so an idle projector traces nothing.
func (p *Projector) step(ctx context.Context, cp store.Checkpoint) (int, store.Checkpoint, error) {
	after, limit, verify := cp.Position, p.cfg.BatchSize, cp.Position > 0 && cp.OperationID != ""
	if verify {
		after, limit = cp.Position-1, limit+1
	}
	changes, err := p.feed.ReadChanges(ctx, after, limit)
	if err != nil {
		return 0, cp, fmt.Errorf("read changes after %d: %w", cp.Position, err)
	}
	if verify {
		if len(changes) == 0 || changes[0].Position != cp.Position || changes[0].Operation.ID != cp.OperationID {
			return 0, cp, lostCheckpoint(cp, changes)
		}
		changes = changes[1:]
	}
	if len(changes) == 0 {
		return 0, cp, nil
	}
	ctx, span := p.startApply(ctx, changes)
	n, next, err := p.apply(ctx, cp, changes)
	endSpan(span, err)
	return n, next, err
}

// apply applies changes, read after cp, with their checkpoint.
func (p *Projector) apply(ctx context.Context, cp store.Checkpoint, changes []store.Change) (int, store.Checkpoint, error) {
	first, last := changes[0], changes[len(changes)-1]
	// The head is only for Stats and the lag metrics; read it after the batch
	// so that it is never below the batch's last position.
	head, err := p.feed.Head(ctx)
	if err != nil {
		return 0, cp, fmt.Errorf("read feed head: %w", err)
	}
	head = max(head, last.Position)
	if err := p.proj.Apply(ctx, changes, head); err != nil {
		return 0, cp, fmt.Errorf("apply changes %d..%d: %w", first.Position, last.Position, err)
	}
	p.metrics.applied(changes, head, p.cfg.Now())
	p.observe(changes)
	p.log.DebugContext(ctx, "changes applied", "from", first.Position, "to", last.Position, "head", head)
	return len(changes), store.Checkpoint{Position: last.Position, OperationID: last.Operation.ID, FeedIdentity: cp.FeedIdentity}, nil
}

// lostCheckpoint is the error of a feed that no longer holds the
// checkpoint's entry; found is what it holds from the checkpoint on.
func lostCheckpoint(cp store.Checkpoint, found []store.Change) error {
	what := "nothing at or after it: the feed ends below the checkpoint"
	if len(found) > 0 {
		what = fmt.Sprintf("position %d, operation %s, there instead", found[0].Position, found[0].Operation.ID)
	}
	return fmt.Errorf("%w: the projection applied entry %d (operation %s) last, and the write database's feed has %s. "+
		"It was restored from an older copy, or failed over to one that lags, so its positions no longer match. "+
		"If the write database is right as it is, rebuild the projection: give the projector an empty projection "+
		"database. If it is not, restore the write database to where it was", ErrWrongFeed, cp.Position, cp.OperationID, what)
}

// backoff is the wait after the nth failure in a row (n >= 1).
func (p *Projector) backoff(n int) time.Duration { return p.cfg.Retry.Delay(n) }
