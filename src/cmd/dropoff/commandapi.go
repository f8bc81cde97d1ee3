package main

import (
	"context"

	"github.com/dropoff-dev/dropoff/src/httpapi"
)

// startCommandAPI enables the command routes: validate, send to the queue, 202.
// The command API writes no database.
func startCommandAPI(ctx context.Context, p *process) error {
	if p.cfg.Mode == modeSync {
		return startSyncCommandAPI(ctx, p)
	}
	q, err := p.queue(ctx)
	if err != nil {
		return err
	}
	p.http.Ready = append(p.http.Ready, httpapi.ReadyCheck{Name: "queue-send", Check: q.PingSend})
	p.http.Sender = q
	return nil
}
