package load

import (
	"context"
	"fmt"
	"time"

	"golang.org/x/sync/errgroup"
)

// drain waits until the system has caught up with everything accepted: the
// last accepted operation of every shipment is terminal (its shipment's
// earlier ones were applied before it, or are lost — which verify finds),
// and the projection's checkpoint has reached the feed head.
func (r *runner) drain(ctx context.Context, appliedTarget int64) (caughtUp time.Time, err error) {
	ctx, cancel := context.WithTimeout(ctx, r.cfg.DrainTimeout)
	defer cancel()
	if r.cfg.Applied != nil {
		// The feed's head shows when every accepted command is applied, and
		// the projection's checkpoint when it has followed: the system has
		// caught up then, before the per-shipment confirmation below (a GET
		// per shipment, the generator's work) starts.
		// Should the count be off, the feed stops moving short of the
		// target: after 2s without progress the confirmation decides.
		last, moved := r.cfg.Applied(), time.Now()
		err := r.until(ctx, func() bool {
			n := r.cfg.Applied()
			if n != last {
				last, moved = n, time.Now()
			}
			return n >= appliedTarget || time.Since(moved) > 2*time.Second
		})
		if err != nil {
			return time.Time{}, fmt.Errorf("drain: the write database's feed is at %d, not %d: %w", last, appliedTarget, err)
		}
		if last >= appliedTarget {
			if err := r.projectionCaughtUp(ctx); err != nil {
				return time.Time{}, err
			}
			caughtUp = time.Now()
		}
	}
	err = r.forEachShipment(ctx, func(ctx context.Context, i int) error {
		m := r.models[i]
		if len(m.accepted) == 0 {
			return nil
		}
		_, err := r.await(ctx, m.accepted[len(m.accepted)-1].OperationID, r.cfg.DrainTimeout)
		return err
	})
	if err != nil {
		return time.Time{}, fmt.Errorf("drain: %w", err)
	}
	if err := r.projectionCaughtUp(ctx); err != nil {
		return time.Time{}, err
	}
	if caughtUp.IsZero() {
		caughtUp = time.Now()
	}
	return caughtUp, nil
}

// projectionCaughtUp waits until the projection's checkpoint has reached the
// feed head.
func (r *runner) projectionCaughtUp(ctx context.Context) error {
	var last stats
	err := r.until(ctx, func() bool {
		s, err := r.c.stats(ctx)
		last = s
		return err == nil && s.Checkpoint >= s.FeedHead
	})
	if err != nil {
		return fmt.Errorf("drain: projection checkpoint %d behind feed head %d: %w", last.Checkpoint, last.FeedHead, err)
	}
	return nil
}

// until polls cond every PollInterval until it holds or ctx is done.
func (r *runner) until(ctx context.Context, cond func() bool) error {
	t := time.NewTicker(r.cfg.PollInterval)
	defer t.Stop()
	for !cond() {
		select {
		case <-t.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// forEachShipment runs fn for every shipment, 2×Watchers at a time.
func (r *runner) forEachShipment(ctx context.Context, fn func(ctx context.Context, i int) error) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(2*r.cfg.Watchers, 1))
	for i := range r.models {
		g.Go(func() error { return fn(gctx, i) })
	}
	return g.Wait()
}

// verify reads every shipment's history and state and checks them against
// what was accepted, then (when it can) the projection against the write database.
func (r *runner) verify(ctx context.Context, rep *Report) error {
	verdicts := make([]Verdict, len(r.models))
	mismatched := make([]bool, len(r.models))
	err := r.forEachShipment(ctx, func(ctx context.Context, i int) error {
		m := r.models[i]
		hist, err := r.c.history(ctx, m.id)
		if err != nil {
			return fmt.Errorf("history of %s: %w", m.id, err)
		}
		verdicts[i] = Verify(m.accepted, hist)
		if r.tainted[i].Load() {
			// A command of unknown fate may be in the history (unexpected),
			// and may have changed what the later ones did (lost, the state):
			// what still holds is that nothing applied twice or out of order.
			verdicts[i] = Verdict{Duplicated: verdicts[i].Duplicated, OutOfOrder: verdicts[i].OutOfOrder}
			return nil
		}
		got, found, err := r.c.shipment(ctx, m.id)
		if err != nil {
			return fmt.Errorf("shipment %s: %w", m.id, err)
		}
		mismatched[i] = !m.matches(got, found)
		return nil
	})
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	var v Verdict
	for i := range r.models {
		v = v.Add(verdicts[i])
		if mismatched[i] {
			rep.StateMismatches++
		}
		if r.tainted[i].Load() {
			rep.Unverified++
		}
	}
	rep.Lost, rep.Duplicated, rep.OutOfOrder, rep.Unexpected = v.Lost, v.Duplicated, v.OutOfOrder, v.Unexpected
	rep.Verified = true
	if r.cfg.CheckProjection != nil {
		n, err := r.cfg.CheckProjection(ctx)
		if err != nil {
			return fmt.Errorf("verify: compare projection with write database: %w", err)
		}
		rep.ProjectionMismatches = &n
	}
	return nil
}

// matches reports whether the shipment the query API shows is the one the
// model expects.
func (m *model) matches(got shipmentBody, found bool) bool {
	if found != m.live {
		return false
	}
	return !found || got.Fields == m.fields && got.Version == m.version
}
