package main

import (
	"context"
	"errors"
	"time"

	"github.com/dropoff-dev/dropoff/src/retention"
)

// retentionMargin is what retain-operations must exceed queue-ttl by: a
// message may be delivered, at the latest, just before its time to live
// runs out, and processing it takes up to a lock duration (Service Bus:
// 5 minutes at most), so its operation must outlive the TTL by that, and by
// clock skew between the machines.
const retentionMargin = 10 * time.Minute

// recommendedOperations is the least Azure's REST API guidelines ask an
// operation's status to be kept; Dropoff warns below it.
const recommendedOperations = 24 * time.Hour

// startWorkerRetention trims the worker's inbox: operations and idempotency
// keys older than retain-operations.
func startWorkerRetention(ctx context.Context, p *process, w writeDB) error {
	warnShortRetention(p)
	return startTrimmer(ctx, p, w.Compact,
		retention.Job{Name: "operations", Window: p.cfg.RetainOperations, Trim: w.TrimOperations},
		retention.Job{Name: "idempotency_keys", Window: p.cfg.RetainOperations, Trim: w.TrimIdempotencyKeys})
}

// startProjectorRetention trims the feed below the projection's checkpoint,
// once its entries are older than retain-feed, and the projection's copies
// of operations older than retain-operations.
func startProjectorRetention(ctx context.Context, p *process, w writeDB, db projectionDB) error {
	trimFeed := func(ctx context.Context, before time.Time, limit int) (int, error) {
		cp, err := db.Checkpoint(ctx)
		if err != nil {
			return 0, err
		}
		return w.TrimFeed(ctx, cp.Position, before, limit)
	}
	compactBoth := func(ctx context.Context) error { return errors.Join(w.Compact(ctx), db.Compact(ctx)) }
	return startTrimmer(ctx, p, compactBoth,
		retention.Job{Name: "feed", Window: p.cfg.RetainFeed, Trim: trimFeed},
		retention.Job{Name: "projection_operations", Window: p.cfg.RetainOperations, Trim: db.TrimOperations})
}

func startTrimmer(ctx context.Context, p *process, compact func(context.Context) error, jobs ...retention.Job) error {
	t, err := retention.New(retention.Config{Interval: p.cfg.RetentionInterval, Compact: compact,
		Logger: p.logger, Registerer: p.reg}, jobs...)
	if err != nil {
		return err
	}
	p.group.Go(func() error {
		t.Run(ctx)
		return nil
	})
	return nil
}

func warnShortRetention(p *process) {
	if p.cfg.RetainOperations < recommendedOperations {
		p.logger.Warn("retain-operations is under the 24 hours Azure's REST API guidelines ask an operation's status to be kept",
			"retain_operations", p.cfg.RetainOperations)
	}
}
