package main

import (
	"cmp"
	"context"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/dropoff-dev/dropoff/src/bus"
	"github.com/dropoff-dev/dropoff/src/httpapi"
	"github.com/dropoff-dev/dropoff/src/simulate"
	"github.com/dropoff-dev/dropoff/src/worker"
)

// workerRole is what the worker role gives the API: the dead-letter admin
// (the worker is the role allowed to receive from the queue) and its
// readiness checks.
type workerRole struct {
	deadLetters httpapi.DeadLetterAdmin
	ready       []httpapi.ReadyCheck
	// The lab's controls of the worker (docs/live.md).
	pause      *simulate.Pause
	writeDelay *simulate.Knob
	restart    func(context.Context) error
}

// startWorker runs the worker: sessions from the queue, applied to the write
// database; and the trimming of its inbox.
func startWorker(ctx context.Context, p *process) (workerRole, error) {
	q, err := p.queue(ctx)
	if err != nil {
		return workerRole{}, err
	}
	w, err := p.writeDB(ctx)
	if err != nil {
		return workerRole{}, err
	}
	cs, err := p.commandStore(ctx)
	if err != nil {
		return workerRole{}, err
	}
	hub, err := p.liveHub(ctx)
	if err != nil {
		return workerRole{}, err
	}
	cfg := workerConfig(p.cfg, q.Pacing(), p.logger, p.reg)
	cfg.DeadLetters = q
	cfg.TracerProvider, cfg.Propagator = p.tracing.Provider, p.tracing.Propagator
	cfg.Observe = workerEvents(hub)
	pause := &simulate.Pause{}
	var r bus.Receiver = q
	if p.cfg.SimulateBusRTT > 0 {
		r = simulate.Remote{RTT: p.cfg.SimulateBusRTT}.Receiver(r)
	}
	wk, err := worker.New(pause.Receiver(r), cs, cfg)
	if err != nil {
		return workerRole{}, err
	}
	rs := newRestarter()
	p.group.Go(func() error { return rs.run(ctx, wk, p.logger) })
	if err := startWorkerRetention(ctx, p, w); err != nil {
		return workerRole{}, err
	}
	return workerRole{deadLetters: wk.DeadLetterAdmin(), ready: []httpapi.ReadyCheck{
		{Name: "queue-receive", Check: q.PingReceive}, {Name: "write-db-writes", Check: wk.Ready}},
		pause: pause, writeDelay: p.writeDelay, restart: rs.restart}, nil
}

// workerConfig is the worker's configuration: its session timings are the
// bus adapter's pacing, a flag overriding each one. The embedded queue's
// pacing is in milliseconds, Service Bus's in seconds (bus.Pacing says why).
func workerConfig(c config, pace bus.Pacing, logger *slog.Logger, reg prometheus.Registerer) worker.Config {
	return worker.Config{
		MaxSessions:    c.WorkerSessions,
		ReceiveBatch:   c.WorkerBatch,
		IdleTimeout:    cmp.Or(c.WorkerIdleTimeout, pace.IdleTimeout),
		MaxSessionHold: cmp.Or(c.WorkerSessionHold, pace.MaxSessionHold),
		AcceptTimeout:  cmp.Or(c.WorkerAcceptTimeout, pace.AcceptTimeout),
		MaxOutage:      c.WorkerMaxOutage,
		Logger:         logger,
		Registerer:     reg,
	}
}
