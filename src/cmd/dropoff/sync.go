package main

import (
	"context"

	"github.com/dropoff-dev/dropoff/src/baseline"
)

// The two modes (--mode). async is Dropoff: the command API sends, the
// worker applies. sync is the baseline it is measured against (dropoff load
// --compare): the command API applies each command inside the request, with
// the worker's own transaction, and there is no queue and no worker.
const (
	modeAsync = "async"
	modeSync  = "sync"
)

// startSyncCommandAPI is the command role of the synchronous baseline
// (package baseline): validate exactly as the asynchronous API does, apply,
// answer 200 with the result.
func startSyncCommandAPI(ctx context.Context, p *process) (commandAPI, error) {
	w, err := p.commandStore(ctx)
	if err != nil {
		return commandAPI{}, err
	}
	return commandAPI{sink: baseline.Sink{Store: w}}, nil
}
