package main

import (
	"context"

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
	wk, err := worker.New(q, w, worker.Config{
		MaxSessions:  p.cfg.WorkerSessions,
		ReceiveBatch: p.cfg.WorkerBatch,
		IdleTimeout:  p.cfg.WorkerIdleTimeout,
		DeadLetters:  q,
		Logger:       p.logger,
		Registerer:   p.reg,
	})
	if err != nil {
		return err
	}
	p.http.DeadLetters = q
	p.group.Go(func() error { return wk.Run(ctx) })
	return nil
}
