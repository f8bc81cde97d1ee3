package httpapi

import (
	"context"
	"fmt"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/dropoff-dev/dropoff/src/store"
)

// Where a lag was measured.
const (
	// lagFromWriteDB: against the write database's feed, now. True even with
	// the projector stopped.
	lagFromWriteDB = "write-db"
	// lagFromProjector: as the projector saw the feed when it last applied a
	// batch, because this process cannot read the write database. It stops
	// growing when the projector stops: its age is in lastAppliedAt.
	lagFromProjector = "projector"
)

// lagReading is how far behind the write side the projection is.
type lagReading struct {
	stats   store.Stats
	head    int64
	entries int64
	// staleness: with lagFromWriteDB, how long the oldest change not yet
	// applied has waited (0 when caught up); with lagFromProjector, how long
	// the last applied change took from its commit to its application.
	staleness time.Duration
	source    string
}

// measureLag reads the projection's position and, when this process can
// read the write database's feed (Config.Feed), the feed's head and the
// commit time of the first change not yet applied. If the feed cannot be
// read, it falls back to the projector's last look and says so.
func (h *queries) measureLag(ctx context.Context) (lagReading, error) {
	st, err := h.q.Stats(ctx)
	if err != nil {
		return lagReading{}, unavailable("projection database", fmt.Errorf("get stats: %w", err))
	}
	r := lagReading{stats: st, head: st.FeedHead, source: lagFromProjector}
	if !st.LastAppliedAt.IsZero() && !st.LastCommittedAt.IsZero() {
		r.staleness = max(st.LastAppliedAt.Sub(st.LastCommittedAt), 0)
	}
	if h.feed != nil {
		head, next, err := h.feed.FeedLag(ctx, st.Checkpoint)
		if err == nil {
			r.head, r.source, r.staleness = head, lagFromWriteDB, 0
			if !next.IsZero() {
				r.staleness = max(h.now().Sub(next), 0)
			}
		} else {
			h.logger.Warn("cannot read the write database's feed; reporting the projection's lag as the projector last saw it", "error", err)
		}
	}
	r.entries = max(r.head-st.Checkpoint, 0)
	return r, nil
}

// lagHeader sets Projection-Lag on every query's answer, from a sample of
// at most a second ago (RFC 8941 dictionary): entries not yet applied, the
// staleness in milliseconds, and where it was measured. Readiness stays up
// while the projection lags: the data is old, not wrong, and this says how old.
//
//	Projection-Lag: entries=3, ms=250, source=write-db
func (h *queries) lagHeader(c *gin.Context) {
	if r, at := h.lag.get(); !at.IsZero() {
		c.Header("Projection-Lag", fmt.Sprintf("entries=%d, ms=%d, source=%s", r.entries, r.staleness.Milliseconds(), r.source))
	}
}
