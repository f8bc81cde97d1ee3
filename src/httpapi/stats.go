package httpapi

import (
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
	// FeedHead the feed's head: read from the write database now when
	// LagSource is "write-db", or as the projector last saw it ("projector":
	// this process cannot read the write database).
	Checkpoint int64  `json:"checkpoint"`
	FeedHead   int64  `json:"feedHead"`
	LagSource  string `json:"lagSource"`
	// LagEntries is how many entries the projection is behind: FeedHead −
	// Checkpoint.
	LagEntries int64 `json:"lagEntries"`
	// LagMillis is how stale the projection is. With LagSource "write-db":
	// how long the oldest change not yet applied has waited, 0 when the
	// projection is caught up; it keeps growing while the projector is
	// stopped. With "projector": how long the last applied change took from
	// its commit to its application, as of LastAppliedAt. Either is measured
	// across two machines' clocks, so it may be off by their skew.
	LagMillis     int64     `json:"lagMillis"`
	LastAppliedAt time.Time `json:"lastAppliedAt,omitzero"`
}

// stats answers GET /v1/stats, measuring the lag now (not from the sample
// the Projection-Lag header uses).
func (h *queries) stats(c *gin.Context) {
	r, err := h.measureLag(c.Request.Context())
	if err != nil {
		fail(c, err)
		return
	}
	st := r.stats
	body := Stats{
		ByStatus:   make(map[shipment.Status]int64, len(shipment.Statuses)),
		Checkpoint: st.Checkpoint,
		FeedHead:   r.head,
		LagSource:  r.source,
		LagEntries: r.entries,
		LagMillis:  r.staleness.Milliseconds(),
	}
	for _, s := range shipment.Statuses {
		body.ByStatus[s] = st.ByStatus[s]
		body.Total += st.ByStatus[s]
	}
	if !st.LastAppliedAt.IsZero() {
		body.LastAppliedAt = st.LastAppliedAt.UTC()
	}
	writeJSON(c, http.StatusOK, mediaJSON, body)
}
