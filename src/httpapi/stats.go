package httpapi

import (
	"fmt"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/dropoff-dev/dropoff/src/shipment"
)

// Stats is the body of GET /v1/stats: what the projection holds and how far
// behind the write side it is.
type Stats struct {
	// ByStatus counts live shipments by status; every status is present.
	ByStatus map[shipment.Status]int64 `json:"byStatus"`
	Total    int64                     `json:"total"`
	// Checkpoint is the position of the last change-feed entry applied;
	// FeedHead the feed's head when the projector last looked.
	Checkpoint int64 `json:"checkpoint"`
	FeedHead   int64 `json:"feedHead"`
	// LagEntries is how many entries the projection is behind: FeedHead −
	// Checkpoint. It is as fresh as the projector's last look at the feed.
	LagEntries int64 `json:"lagEntries"`
	// LagMillis is how long the last applied entry took from its commit on
	// the write side to its application here. It is the staleness the
	// projection had at that moment, not now: while the feed is idle it keeps
	// its last value (LastAppliedAt says how long ago that was). It is
	// measured across two machines' clocks, so it may be off by their skew.
	LagMillis     int64     `json:"lagMillis"`
	LastAppliedAt time.Time `json:"lastAppliedAt,omitzero"`
}

// stats answers GET /v1/stats.
func (h *queries) stats(c *gin.Context) {
	st, err := h.q.Stats(c.Request.Context())
	if err != nil {
		fail(c, unavailable("projection database", fmt.Errorf("get stats: %w", err)))
		return
	}
	body := Stats{
		ByStatus:   make(map[shipment.Status]int64, len(shipment.Statuses)),
		Checkpoint: st.Checkpoint,
		FeedHead:   st.FeedHead,
		LagEntries: max(st.FeedHead-st.Checkpoint, 0),
	}
	for _, s := range shipment.Statuses {
		body.ByStatus[s] = st.ByStatus[s]
		body.Total += st.ByStatus[s]
	}
	if !st.LastAppliedAt.IsZero() {
		body.LastAppliedAt = st.LastAppliedAt.UTC()
		if !st.LastCommittedAt.IsZero() {
			body.LagMillis = max(st.LastAppliedAt.Sub(st.LastCommittedAt).Milliseconds(), 0)
		}
	}
	writeJSON(c, http.StatusOK, mediaJSON, body)
}
