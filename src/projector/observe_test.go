package projector

import (
	"slices"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/dropoff-dev/dropoff/src/store"
)

// TestObserveHearsEachAppliedEntryOnce: Observe is given every entry once
// its batch committed, in feed order; a batch whose Apply failed is not
// observed (it is retried, and observed when it commits).
func TestObserveHearsEachAppliedEntryOnce(t *testing.T) {
	f, p := &fakeFeed{}, &fakeProjection{failNext: 2}
	f.add(300, 1)
	var mu sync.Mutex
	var heard []int64
	cfg := testConfig()
	cfg.Observe = func(changes []store.Change) {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range changes {
			heard = append(heard, c.Position)
		}
	}
	run(t, newProjector(t, f, p, cfg))
	waitFor(t, "300 entries observed", func() bool { mu.Lock(); defer mu.Unlock(); return len(heard) >= 300 })
	mu.Lock()
	defer mu.Unlock()
	if diff := cmp.Diff(f.positions(), slices.Clone(heard)); diff != "" {
		t.Errorf("observed positions differ from the feed (-feed +observed):\n%s", diff)
	}
}
