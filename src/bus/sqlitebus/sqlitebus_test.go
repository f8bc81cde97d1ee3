package sqlitebus_test

import (
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/dropoff-dev/dropoff/src/bus"
	"github.com/dropoff-dev/dropoff/src/bus/bustest"
	"github.com/dropoff-dev/dropoff/src/bus/sqlitebus"
)

// TestContract runs the bus contract suite on the embedded queue, with a
// short lock and a small maximum delivery count so that it is quick.
func TestContract(t *testing.T) {
	t.Parallel()
	cfg := sqlitebus.Config{LockDuration: time.Second, MaxDeliveryCount: 3}
	// Every handle opened within one subtest shares that subtest's file, as
	// two processes would share one queue.
	var mu sync.Mutex
	paths := map[*testing.T]string{}
	open := func(t *testing.T) bustest.Queue {
		t.Helper()
		mu.Lock()
		path, ok := paths[t]
		if !ok {
			path = filepath.Join(t.TempDir(), "bus.db")
			paths[t] = path
		}
		mu.Unlock()
		return openQueue(t, path, cfg)
	}
	reopen := func(t *testing.T, q bustest.Queue) bustest.Queue {
		t.Helper()
		if err := q.(*sqlitebus.Queue).Close(); err != nil {
			t.Fatalf("close: %v", err)
		}
		return open(t)
	}
	bustest.Run(t, open, bustest.Options{Reopen: reopen, Features: features})
}

// features are the embedded queue's declared behaviours (docs/bus.md):
//   - closing a session does not raise the delivery count of the messages it
//     left unsettled, as on Service Bus;
//   - a crashed holder is its Queue closed with the session still open:
//     Close stops every lock renewal and leaves open sessions locked until
//     their lock runs out, as the death of the process would.
var features = bustest.Features{
	CloseRaisesDeliveryCount: false,
	Crash: func(t *testing.T, q bustest.Queue, _ bus.Session) {
		t.Helper()
		if err := q.(*sqlitebus.Queue).Close(); err != nil {
			t.Fatalf("close the queue under an open session (a crash): %v", err)
		}
	},
}

// openQueue opens the queue at path and closes it when the test ends.
func openQueue(t testing.TB, path string, cfg sqlitebus.Config) *sqlitebus.Queue {
	t.Helper()
	q, err := sqlitebus.Open(path, cfg)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	t.Cleanup(func() {
		if err := q.Close(); err != nil {
			t.Errorf("close %s: %v", path, err)
		}
	})
	return q
}
