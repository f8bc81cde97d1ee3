package sqlitebus

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/dropoff-dev/dropoff/src/bus"
)

// metrics are the queue's Prometheus collectors. With no Registerer they are
// still counted, just not exported.
type metrics struct {
	commits      prometheus.Counter
	batchOps     prometheus.Histogram
	sent         prometheus.Counter
	deadLettered *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		commits: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "dropoff_sqlitebus_commits_total",
			Help: "Write transactions committed (one fsync each).",
		}),
		batchOps: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "dropoff_sqlitebus_batch_operations",
			Help:    "Operations (sends, receives, settlements, renewals) per write transaction.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 10),
		}),
		sent: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "dropoff_sqlitebus_messages_sent_total",
			Help: "Messages stored (duplicates dropped are not counted).",
		}),
		deadLettered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dropoff_sqlitebus_dead_lettered_total",
			Help: "Messages moved to the dead-letter queue, by reason (application reasons count as \"application\").",
		}, []string{"reason"}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.commits, m.batchOps, m.sent, m.deadLettered} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// reasonLabel keeps the label's values few: the application chooses its own
// reasons, and each distinct label value is a new time series.
func reasonLabel(reason string) string {
	switch reason {
	case bus.ReasonMaxDeliveryCountExceeded, bus.ReasonTTLExpired:
		return reason
	}
	return "application"
}
