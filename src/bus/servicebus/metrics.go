package servicebus

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the adapter's own measurements: what Service Bus does not show
// in Azure Monitor (which has the queue's message counts already).
type metrics struct {
	sent         *prometheus.CounterVec // result: ok | error
	openSessions prometheus.Gauge
	renewals     *prometheus.CounterVec // result: ok | error | lost
	settlements  *prometheus.CounterVec // action: complete | abandon | deadletter; result: ok | error
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dropoff_servicebus_sent_messages_total",
			Help: "Messages sent to the Service Bus queue, by result.",
		}, []string{"result"}),
		openSessions: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "dropoff_servicebus_open_sessions",
			Help: "Sessions this process holds a lock on.",
		}),
		renewals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dropoff_servicebus_session_lock_renewals_total",
			Help: "Session lock renewals, by result (lost: the lock is gone for good).",
		}, []string{"result"}),
		settlements: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dropoff_servicebus_settlements_total",
			Help: "Messages settled, by action and result.",
		}, []string{"action", "result"}),
	}
	if reg == nil {
		return m, nil
	}
	var err error
	if m.sent, err = register(reg, m.sent); err != nil {
		return nil, err
	}
	if m.openSessions, err = register(reg, m.openSessions); err != nil {
		return nil, err
	}
	if m.renewals, err = register(reg, m.renewals); err != nil {
		return nil, err
	}
	if m.settlements, err = register(reg, m.settlements); err != nil {
		return nil, err
	}
	return m, nil
}

// register registers c, or returns the collector already registered under
// its name (a second Bus in the same process shares the counters).
func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	err := reg.Register(c)
	var already prometheus.AlreadyRegisteredError
	if errors.As(err, &already) {
		if existing, ok := already.ExistingCollector.(C); ok {
			return existing, nil
		}
	}
	return c, err
}

func result(err error) string {
	if err != nil {
		return "error"
	}
	return "ok"
}
