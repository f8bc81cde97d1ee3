package sqlitebus_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/dropoff-dev/dropoff/src/bus/sqlitebus"
)

// The queue's depth, the age of its oldest message and its dead letters are
// read from the file at each scrape.
func TestDepthMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	q := openQueue(t, filepath.Join(t.TempDir(), "queue.db"), sqlitebus.Config{Registerer: reg})
	const want = `
# HELP dropoff_queue_dead_letters Messages in the dead-letter queue.
# TYPE dropoff_queue_dead_letters gauge
dropoff_queue_dead_letters 0
# HELP dropoff_queue_messages Messages on the queue: waiting, or delivered and not yet settled.
# TYPE dropoff_queue_messages gauge
dropoff_queue_messages %d
`
	check := func(n string) {
		t.Helper()
		if err := testutil.GatherAndCompare(reg, strings.NewReader(strings.Replace(want, "%d", n, 1)),
			"dropoff_queue_messages", "dropoff_queue_dead_letters"); err != nil {
			t.Error(err)
		}
	}
	check("0")
	if err := q.Send(t.Context(), msg("s", "a", "{}"), msg("s", "b", "{}"), msg("t", "c", "{}")); err != nil {
		t.Fatal(err)
	}
	check("3")
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	age := -1.0
	for _, f := range families {
		if f.GetName() == "dropoff_queue_oldest_message_age_seconds" {
			age = f.GetMetric()[0].GetGauge().GetValue()
		}
	}
	if age <= 0 || age > 60 {
		t.Errorf("oldest message age %v, want the seconds since the first send", age)
	}
}
