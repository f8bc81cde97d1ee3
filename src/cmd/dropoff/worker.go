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

// startWorker runs the worker: sessions from the queue, applied to the write
// database. The dead-letter admin routes are served by the worker role, the
// one allowed to receive from the queue.
func startWorker(ctx context.Context, p *process) error {
	q, err := p.queue(ctx)
	if err != nil {
		return err
	}
	w, err := p.writeDB(ctx)
	if err != nil {
		return err
	}
	cfg := workerConfig(p.cfg, q.Pacing(), p.logger, p.reg)
	cfg.DeadLetters = q
	var r bus.Receiver = q
	if p.cfg.SimulateBusRTT > 0 {
		r = simulate.Remote{RTT: p.cfg.SimulateBusRTT}.Receiver(r)
	}
	wk, err := worker.New(r, w, cfg)
	if err != nil {
		return err
	}
	p.http.Ready = append(p.http.Ready, httpapi.ReadyCheck{Name: "queue-receive", Check: q.PingReceive},
		httpapi.ReadyCheck{Name: "write-db-writes", Check: wk.Ready})
	p.http.DeadLetters = wk.DeadLetterAdmin()
	p.group.Go(func() error { return wk.Run(ctx) })
	return startWorkerRetention(ctx, p, w)
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
