package main

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/dropoff-dev/dropoff/src/httpapi"
	"github.com/dropoff-dev/dropoff/src/live"
	"github.com/dropoff-dev/dropoff/src/store"
	"github.com/dropoff-dev/dropoff/src/worker"
)

// The live page's wiring (docs/live.md). A process that serves the page (the
// all-in-one process, the query API) has a hub; each role it runs publishes
// to it what it does: the command API what its queue accepted (live.Sender),
// the worker every outcome, the projector every entry it applied. A query
// API running apart hears none of them, and tails the projection instead.

// liveHub is the process's hub, made the first time it is asked for; nil in
// a process that serves no page (a command API, a worker or a projector
// running apart: nobody would watch). The hub is closed when ctx ends, so
// that no event stream holds the HTTP server's shutdown.
func (p *process) liveHub(ctx context.Context) (*live.Hub, error) {
	if p.hub != nil || !p.roles.query {
		return p.hub, nil
	}
	hub, err := live.New(live.Config{})
	if err != nil {
		return nil, err
	}
	p.hub = hub
	p.group.Go(func() error {
		<-ctx.Done()
		hub.Close()
		return nil
	})
	return hub, nil
}

// workerEvents publishes the worker's outcomes; nil without a hub.
func workerEvents(hub *live.Hub) func(worker.Outcome) {
	if hub == nil {
		return nil
	}
	return func(o worker.Outcome) {
		if !o.DeadLettered {
			hub.Publish(live.OperationEvent(o.Operation, o.Operation.LastUpdatedAt))
			return
		}
		op := o.Operation
		hub.Publish(live.Event{Type: live.DeadLettered, OperationID: op.ID, ShipmentID: op.ShipmentID, Kind: op.Kind,
			Status: op.Status, Reason: o.Reason, Description: o.Description})
	}
}

// projectorEvents publishes the entries the projector applied; nil without
// a hub.
func projectorEvents(hub *live.Hub) func([]store.Change) {
	if hub == nil {
		return nil
	}
	return func(changes []store.Change) {
		for _, c := range changes {
			hub.Publish(live.VisibleEvent(c, time.Time{}))
		}
	}
}

// restarter runs the worker, and runs it again when the lab asks (POST
// /admin/lab/worker/restart): Run ends as at a shutdown (the message being
// applied is settled, the sessions are released, and what they had received
// is delivered again) and a new Run starts. It is a clean restart, not a
// crash: for a crash, kill -9 the process (the walkthrough does).
type restarter struct {
	requests chan chan struct{}
	stopped  chan struct{} // closed once run has returned
}

func newRestarter() *restarter {
	return &restarter{requests: make(chan chan struct{}), stopped: make(chan struct{})}
}

// run runs wk until ctx is done or Run fails, restarting it on request.
func (r *restarter) run(ctx context.Context, wk *worker.Worker, logger *slog.Logger) error {
	defer close(r.stopped)
	var restarted chan struct{} // the request to answer once the new Run runs
	for {
		wctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- wk.Run(wctx) }()
		if restarted != nil {
			logger.Info("worker restarted (lab)")
			close(restarted)
			restarted = nil
		}
		select {
		case err := <-done:
			cancel()
			return err
		case restarted = <-r.requests:
			cancel()
			if err := <-done; err != nil {
				return err
			}
		}
	}
}

// restart asks run for a restart and waits until the new Run runs.
func (r *restarter) restart(ctx context.Context) error {
	ack := make(chan struct{})
	select {
	case r.requests <- ack:
	case <-r.stopped:
		return errors.New("the worker has stopped")
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-ack:
		return nil
	case <-r.stopped:
		return errors.New("the worker stopped while restarting")
	case <-ctx.Done():
		return ctx.Err()
	}
}

// startLiveTail tails the projection for the page when no projector runs in
// this process to tell it what became visible (a query API running apart).
func startLiveTail(ctx context.Context, p *process, q live.RecentReader) error {
	hub, err := p.liveHub(ctx)
	if err != nil || hub == nil || p.roles.projector {
		return err
	}
	tail := live.Tail{Reader: q, Hub: hub, Logger: p.logger}
	p.group.Go(func() error { return tail.Run(ctx) })
	return nil
}

// labControls are the lab's controls of the roles this process runs; the
// routes of the others answer 404. Each is set only when its role runs, so
// that no interface holds a nil pointer.
func labControls(wk workerRole, proj projectorRole) httpapi.LabControls {
	var c httpapi.LabControls
	if wk.pause != nil {
		c.Worker, c.RestartWorker = wk.pause, wk.restart
	}
	if wk.writeDelay != nil {
		c.WriteDelay = wk.writeDelay
	}
	if proj.pause != nil {
		c.Projector = proj.pause
	}
	return c
}
