package main

import (
	"context"

	"github.com/dropoff-dev/dropoff/src/projector"
)

// startProjector runs the change-feed updater from the write database into
// the projection database.
func startProjector(ctx context.Context, p *process) error {
	w, err := p.writeDB(ctx)
	if err != nil {
		return err
	}
	db, err := p.projectionDB(ctx)
	if err != nil {
		return err
	}
	pr, err := projector.New(w, db, projector.Config{Logger: p.logger, Registerer: p.reg})
	if err != nil {
		return err
	}
	p.group.Go(func() error { return pr.Run(ctx) })
	return startProjectorRetention(ctx, p, w, db)
}
