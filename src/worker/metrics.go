package worker

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the worker's Prometheus collectors. They always exist, so the
// code that updates them needs no nil checks; they are registered only when
// the Config has a Registerer.
type metrics struct {
	messages            *prometheus.CounterVec
	processing          prometheus.Histogram
	acceptToApplied     prometheus.Histogram
	sessions            prometheus.Gauge
	deadLettersRecorded prometheus.Counter
	inPlaceRetries      prometheus.Counter
	panics              prometheus.Counter
	storeDown           prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		messages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dropoff_worker_messages_total",
			Help: "Messages processed, by outcome: succeeded, failed (a business failure), duplicate (already applied), dead_lettered, retried (abandoned after a transient failure).",
		}, []string{"outcome"}),
		acceptToApplied: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "dropoff_worker_accept_to_applied_seconds",
			Help: "Time from the command API's 202 to the commit of the command's transaction, observed when its message is completed.",
			// 1ms to about 65s: a backlog's wait shows up here.
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 17),
		}),
		processing: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "dropoff_worker_processing_seconds",
			Help:    "Time to process and settle one message, backoff included.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14), // 1ms … ~8s
		}),
		sessions: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "dropoff_worker_sessions_active",
			Help: "Sessions (shipments) the worker holds now.",
		}),
		deadLettersRecorded: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "dropoff_worker_dead_letters_recorded_total",
			Help: "Operations the dead-letter recorder marked Failed with DeadLettered.",
		}),
		inPlaceRetries: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "dropoff_worker_in_place_retries_total",
			Help: "Commands retried in place because the write database failed transiently (no delivery spent).",
		}),
		panics: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "dropoff_worker_panics_total",
			Help: "Commands whose processing panicked; each such message is abandoned.",
		}),
		storeDown: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "dropoff_worker_write_database_unavailable",
			Help: "1 while the write database fails transiently and the worker takes no new session, else 0.",
		}),
	}
	// Start every outcome at zero, so that rates exist before the first event.
	for _, o := range []outcome{outcomeSucceeded, outcomeFailed, outcomeDuplicate, outcomeDeadLettered, outcomeRetried} {
		m.messages.WithLabelValues(string(o))
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.messages, m.processing, m.acceptToApplied, m.sessions, m.deadLettersRecorded,
		m.inPlaceRetries, m.panics, m.storeDown} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register metrics: %w", err)
		}
	}
	return m, nil
}

// outcome counts one message that ended with o.
func (m *metrics) outcome(o outcome) { m.messages.WithLabelValues(string(o)).Inc() }
