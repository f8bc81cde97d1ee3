package main

import (
	"context"

	"github.com/dropoff-dev/dropoff/src/httpapi"
	"github.com/dropoff-dev/dropoff/src/projector"
)

// startProjector runs the change-feed updater from the write database into
// the projection database, and the trimming of the applied feed. Its
// readiness check fails while the projector makes no progress.
func startProjector(ctx context.Context, p *process) ([]httpapi.ReadyCheck, error) {
	w, err := p.writeDB(ctx)
	if err != nil {
		return nil, err
	}
	db, err := p.projectionDB(ctx)
	if err != nil {
		return nil, err
	}
	pr, err := projector.New(w, db, projector.Config{Logger: p.logger, Registerer: p.reg,
		TracerProvider: p.tracing.Provider, Propagator: p.tracing.Propagator})
	if err != nil {
		return nil, err
	}
	p.group.Go(func() error { return pr.Run(ctx) })
	if err := startProjectorRetention(ctx, p, w, db); err != nil {
		return nil, err
	}
	return []httpapi.ReadyCheck{{Name: "projector-advancing", Check: pr.Ready}}, nil
}
