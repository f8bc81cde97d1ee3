package httpapi

import (
	"context"
	"fmt"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

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

// lagCollector exports the projection's lag as the query API measures it
// (measureLag, at each scrape): true even with the projector stopped, whose
// own dropoff_projector_lag_* metrics then stop with it.
type lagCollector struct {
	h                *queries
	entries, seconds *prometheus.Desc
}

func newLagCollector(h *queries) *lagCollector {
	return &lagCollector{h: h,
		entries: prometheus.NewDesc("dropoff_query_projection_lag_entries",
			"Change-feed entries the projection has not applied yet, as the query API measures it now (source: write-db, against the write database's feed; projector: as the projector last saw it).",
			[]string{"source"}, nil),
		seconds: prometheus.NewDesc("dropoff_query_projection_staleness_seconds",
			"How long the oldest change not yet applied has waited (source write-db), or the last applied change's delay (source projector).",
			[]string{"source"}, nil),
	}
}

func (c *lagCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.entries
	ch <- c.seconds
}

func (c *lagCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	r, err := c.h.measureLag(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.entries, err)
		return
	}
	ch <- prometheus.MustNewConstMetric(c.entries, prometheus.GaugeValue, float64(r.entries), r.source)
	ch <- prometheus.MustNewConstMetric(c.seconds, prometheus.GaugeValue, r.staleness.Seconds(), r.source)
}
