package worker

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// Every command applied is timed from its acceptance to its commit, once,
// however often it was sent.
func TestAcceptToAppliedIsObserved(t *testing.T) {
	b, s := newFakeBus(10), newFakeStore()
	create := upsert(t, "s", testFields)
	b.send(messages(t, create, create)...) // the second is a duplicate
	reg := prometheus.NewRegistry()
	cfg := testConfig()
	cfg.Registerer = reg
	start(t, b, s, cfg)
	waitFor(t, "the queue to drain", func() bool { total, _ := b.pending(); return total == 0 })
	if n := histogramCount(t, reg, "dropoff_worker_accept_to_applied_seconds"); n != 1 {
		t.Errorf("accept-to-applied observations: %d, want 1 (once for the command sent twice)", n)
	}
}

// histogramCount is how many observations the histogram named name holds.
func histogramCount(t *testing.T, reg *prometheus.Registry, name string) uint64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() == name {
			return f.GetMetric()[0].GetHistogram().GetSampleCount()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}
