// Package retention deletes what exists only to make the pipeline safe,
// once it is no longer needed: change-feed entries the projection has
// applied, recorded operations and idempotency keys older than their window.
// Shipments and their history are the product's data and stay. It runs as a
// loop beside the role that owns each table (the worker trims its inbox, the
// projector the feed and the projection's operations); docs/retention.md says
// why each window is what it is.
package retention

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/dropoff-dev/dropoff/src/defaults"
)

// Job is one kind of row to trim: those older than Window go.
type Job struct {
	// Name names the rows in logs and metrics ("feed", "operations", ...).
	Name   string
	Window time.Duration
	// Trim deletes at most limit rows older than before and returns how
	// many; the Trimmer calls it again while a full batch comes back.
	Trim func(ctx context.Context, before time.Time, limit int) (int, error)
}

// Config tunes a Trimmer. Zero values take the defaults noted.
type Config struct {
	// Interval is the time between passes. Default 1m.
	Interval time.Duration
	// Batch is the most rows one delete takes. Default 250: short
	// transactions that leave room for the pipeline's own.
	Batch int
	// MaxBatches bounds one job's deletes in a pass; a backlog is trimmed
	// over several passes. Default 400.
	MaxBatches int
	// Compact, when set, runs after a pass that deleted something (SQLite:
	// give the free pages back, so the files shrink).
	Compact func(ctx context.Context) error

	Logger     *slog.Logger          // nil: discard
	Registerer prometheus.Registerer // nil: no metrics
	Now        func() time.Time      // nil: time.Now
}

// Trimmer runs jobs.
type Trimmer struct {
	jobs    []Job
	cfg     Config
	deleted *prometheus.CounterVec
}

// withDefaults fills the zero fields of c (the defaults are in each
// field's comment) and checks the rest.
func (c Config) withDefaults() (Config, error) {
	err := defaults.Fill("retention",
		defaults.Of("Interval", &c.Interval, time.Minute),
		defaults.Of("Batch", &c.Batch, 250),
		defaults.Of("MaxBatches", &c.MaxBatches, 400))
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c, err
}

// New checks the jobs and returns their Trimmer.
func New(cfg Config, jobs ...Job) (*Trimmer, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	for _, j := range jobs {
		if j.Name == "" || j.Trim == nil || j.Window < 0 {
			return nil, fmt.Errorf("retention: job %q needs a name, a trim and a window of 0 or more", j.Name)
		}
	}
	t := &Trimmer{jobs: jobs, cfg: cfg, deleted: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "dropoff_retention_deleted_total",
		Help: "Rows deleted by retention, by what they were.",
	}, []string{"rows"})}
	if cfg.Registerer != nil {
		if err := cfg.Registerer.Register(t.deleted); err != nil {
			var already prometheus.AlreadyRegisteredError
			if !errors.As(err, &already) {
				return nil, fmt.Errorf("retention: register metrics: %w", err)
			}
			t.deleted = already.ExistingCollector.(*prometheus.CounterVec)
		}
	}
	return t, nil
}

// Once runs one pass: every job, until it has nothing left older than its
// window or MaxBatches deletes. It returns the rows deleted per job, and the
// jobs' errors (a failed job does not stop the others).
func (t *Trimmer) Once(ctx context.Context) (map[string]int, error) {
	deleted := map[string]int{}
	var errs []error
	total := 0
	for _, j := range t.jobs {
		before := t.cfg.Now().Add(-j.Window)
		for range t.cfg.MaxBatches {
			n, err := j.Trim(ctx, before, t.cfg.Batch)
			deleted[j.Name] += n
			t.deleted.WithLabelValues(j.Name).Add(float64(n))
			if err != nil {
				errs = append(errs, fmt.Errorf("retention: %s: %w", j.Name, err))
				break
			}
			if n < t.cfg.Batch {
				break
			}
		}
		total += deleted[j.Name]
	}
	if total > 0 && t.cfg.Compact != nil {
		if err := t.cfg.Compact(ctx); err != nil {
			errs = append(errs, fmt.Errorf("retention: compact: %w", err))
		}
	}
	return deleted, errors.Join(errs...)
}

// Run runs a pass every Interval until ctx is done. Failures are logged and
// tried again at the next pass: nothing is lost by a pass that did not run.
func (t *Trimmer) Run(ctx context.Context) {
	tick := time.NewTicker(t.cfg.Interval)
	defer tick.Stop()
	for {
		deleted, err := t.Once(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			t.cfg.Logger.Warn("retention pass failed; trying again at the next", "error", err, "deleted", deleted)
		default:
			for name, n := range deleted {
				if n > 0 {
					t.cfg.Logger.Debug("retention: trimmed", "rows", name, "deleted", n)
				}
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
