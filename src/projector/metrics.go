package projector

import (
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/dropoff-dev/dropoff/src/store"
)

// metrics are the projector's Prometheus collectors. They always exist; they
// are registered only when the Config has a Registerer.
type metrics struct {
	appliedTotal prometheus.Counter
	checkpoint   prometheus.Gauge
	feedHead     prometheus.Gauge
	lagEntries   prometheus.Gauge
	lagSeconds   prometheus.Gauge
	toVisible    prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		appliedTotal: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "dropoff_projector_applied_total",
			Help: "Change-feed entries applied to the projection.",
		}),
		checkpoint: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "dropoff_projector_checkpoint",
			Help: "Feed position of the last entry applied to the projection.",
		}),
		feedHead: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "dropoff_projector_feed_head",
			Help: "Highest readable feed position when the projector last applied a batch.",
		}),
		lagEntries: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "dropoff_projector_lag_entries",
			Help: "Feed head minus checkpoint after the last batch (entries, where positions are dense).",
		}),
		lagSeconds: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "dropoff_projector_lag_seconds",
			Help: "Delay from the write commit to the projection apply of the last applied entry.",
		}),
		toVisible: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "dropoff_projector_accept_to_visible_seconds",
			Help:    "Time from the command API's 202 to the moment its outcome is readable in the projection, per applied entry.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 17), // 1ms to about 65s
		}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.appliedTotal, m.checkpoint, m.feedHead, m.lagEntries, m.lagSeconds, m.toVisible} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register metrics: %w", err)
		}
	}
	return m, nil
}

// applied records a batch of entries, applied at now, with the feed at head.
func (m *metrics) applied(changes []store.Change, head int64, now time.Time) {
	last := changes[len(changes)-1]
	m.appliedTotal.Add(float64(len(changes)))
	m.checkpoint.Set(float64(last.Position))
	m.feedHead.Set(float64(head))
	m.lagEntries.Set(float64(head - last.Position))
	m.lagSeconds.Set(max(0, now.Sub(last.CommittedAt).Seconds()))
	for _, c := range changes {
		if !c.Operation.CreatedAt.IsZero() {
			m.toVisible.Observe(max(0, now.Sub(c.Operation.CreatedAt).Seconds()))
		}
	}
}
