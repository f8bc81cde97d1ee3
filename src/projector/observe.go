package projector

import "github.com/dropoff-dev/dropoff/src/store"

// observe tells Config.Observe, when set, which entries the projection now
// shows: the batch committed with its checkpoint, so a reader of the query
// API sees them from now on. It runs on the projector's goroutine, so
// Observe must return at once (the live package's Hub never blocks).
func (p *Projector) observe(applied []store.Change) {
	if p.cfg.Observe != nil {
		p.cfg.Observe(applied)
	}
}
