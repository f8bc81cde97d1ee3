package main

import (
	"context"

	"github.com/dropoff-dev/dropoff/src/httpapi"
	"github.com/dropoff-dev/dropoff/src/projector"
	"github.com/dropoff-dev/dropoff/src/simulate"
)

// projectorRole is what the projector role gives the API: its readiness
// check, and the lab's pause (docs/live.md).
type projectorRole struct {
	ready []httpapi.ReadyCheck
	pause *simulate.Pause
}

// startProjector runs the change-feed updater from the write database into
// the projection database, and the trimming of the applied feed. Its
// readiness check fails while the projector makes no progress.
func startProjector(ctx context.Context, p *process) (projectorRole, error) {
	w, err := p.writeDB(ctx)
	if err != nil {
		return projectorRole{}, err
	}
	db, err := p.projectionDB(ctx)
	if err != nil {
		return projectorRole{}, err
	}
	hub, err := p.liveHub(ctx)
	if err != nil {
		return projectorRole{}, err
	}
	pause := &simulate.Pause{}
	pr, err := projector.New(pause.Feed(w), db, projector.Config{Logger: p.logger, Registerer: p.reg,
		TracerProvider: p.tracing.Provider, Propagator: p.tracing.Propagator, Observe: projectorEvents(hub)})
	if err != nil {
		return projectorRole{}, err
	}
	p.group.Go(func() error { return pr.Run(ctx) })
	if err := startProjectorRetention(ctx, p, w, db); err != nil {
		return projectorRole{}, err
	}
	return projectorRole{ready: []httpapi.ReadyCheck{{Name: "projector-advancing", Check: pr.Ready}}, pause: pause}, nil
}
