package sqlitebus

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

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

// depthCollector reports, on every scrape, what the queue's file holds now:
// messages waiting or being processed, the age of the oldest, and dead
// letters. Counting reads the file, so it is done at scrape time only.
type depthCollector struct {
	q                             *Queue
	messages, oldestAge, deadLets *prometheus.Desc
}

func newDepthCollector(q *Queue) depthCollector {
	return depthCollector{q: q,
		messages:  prometheus.NewDesc("dropoff_queue_messages", "Messages on the queue: waiting, or delivered and not yet settled.", nil, nil),
		oldestAge: prometheus.NewDesc("dropoff_queue_oldest_message_age_seconds", "Age of the oldest message on the queue (0 when empty): how far behind the workers are.", nil, nil),
		deadLets:  prometheus.NewDesc("dropoff_queue_dead_letters", "Messages in the dead-letter queue.", nil, nil),
	}
}

func (c depthCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.messages
	ch <- c.oldestAge
	ch <- c.deadLets
}

func (c depthCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	b, err := c.q.Backlog(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.messages, err)
		return
	}
	var dead int64
	if err := c.q.db.QueryRowContext(ctx, "SELECT count(*) FROM dead_letters").Scan(&dead); err != nil {
		ch <- prometheus.NewInvalidMetric(c.deadLets, err)
		return
	}
	ch <- prometheus.MustNewConstMetric(c.messages, prometheus.GaugeValue, float64(b.Messages))
	ch <- prometheus.MustNewConstMetric(c.oldestAge, prometheus.GaugeValue, b.OldestAge.Seconds())
	ch <- prometheus.MustNewConstMetric(c.deadLets, prometheus.GaugeValue, float64(dead))
}

// Backlog counts the messages on the queue and the age of the oldest: one
// read of the file (no write, so no fsync), sampled by the command API to
// shed load and by the metrics.
func (q *Queue) Backlog(ctx context.Context) (bus.Backlog, error) {
	if q.isClosed() {
		return bus.Backlog{}, bus.ErrClosed
	}
	var b bus.Backlog
	var oldest sql.NullInt64
	if err := q.db.QueryRowContext(ctx, "SELECT count(*), min(enqueued_at) FROM messages").Scan(&b.Messages, &oldest); err != nil {
		return b, fmt.Errorf("sqlitebus: backlog: %w", err)
	}
	if oldest.Valid {
		b.OldestAge = max(0, q.cfg.Now().Sub(time.Unix(0, oldest.Int64)))
	}
	return b, nil
}

// registerDepth registers q's depth collector. A second queue on one
// registry (a test's, say) leaves the first one's in place.
func registerDepth(reg prometheus.Registerer, q *Queue) error {
	err := reg.Register(newDepthCollector(q))
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		return nil
	}
	return err
}
