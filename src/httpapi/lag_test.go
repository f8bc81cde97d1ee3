package httpapi

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/dropoff-dev/dropoff/src/store"
)

// fakeFeed is the write database's feed as FeedLag sees it.
type fakeFeed struct {
	mu    sync.Mutex
	head  int64
	next  time.Time
	err   error
	after int64 // what it was asked
}

func (f *fakeFeed) FeedLag(_ context.Context, after int64) (int64, time.Time, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.after = after
	return f.head, f.next, f.err
}

func (f *fakeFeed) set(head int64, next time.Time, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.head, f.next, f.err = head, next, err
}

// TestStatsLagFromTheWriteDB: with the write database's feed at hand, the lag
// is measured against it now. This is the defect of issue 13: with the
// projector stopped, the projector's last look said lagEntries 0 while the
// feed grew; measured against the feed the lag grows with it.
func TestStatsLagFromTheWriteDB(t *testing.T) {
	feed := &fakeFeed{}
	h := newHarness(t, func(c *Config) { c.Feed = feed })
	// The projector applied up to 10 and last saw the head at 10: caught up,
	// as far as it knows. It has stopped since; the feed has reached 15, and
	// the first change it has not applied committed 2s ago.
	h.queries.setStats(store.Stats{Checkpoint: 10, FeedHead: 10,
		LastCommittedAt: testNow.Add(-time.Hour), LastAppliedAt: testNow.Add(-time.Hour)})
	feed.set(15, testNow.Add(-2*time.Second), nil)

	got := decode[Stats](t, h.do(t, req{method: "GET", target: "/v1/stats"}))
	if got.LagSource != "write-db" || got.FeedHead != 15 || got.LagEntries != 5 || got.LagMillis != 2000 {
		t.Errorf("stats = %+v; want the write database's head 15, 5 entries behind, 2000ms stale", got)
	}
	feed.mu.Lock()
	after := feed.after
	feed.mu.Unlock()
	if after != 10 {
		t.Errorf("FeedLag asked after %d, want the checkpoint 10", after)
	}

	feed.set(10, time.Time{}, nil) // caught up
	if got := decode[Stats](t, h.do(t, req{method: "GET", target: "/v1/stats"})); got.LagEntries != 0 || got.LagMillis != 0 {
		t.Errorf("caught up: %+v; want no lag", got)
	}

	// The write database out of reach: the projector's view, and it says so.
	feed.set(0, time.Time{}, errors.New("write database down"))
	got = decode[Stats](t, h.do(t, req{method: "GET", target: "/v1/stats"}))
	if got.LagSource != "projector" || got.FeedHead != 10 || got.LagEntries != 0 {
		t.Errorf("feed unreadable: %+v; want the projector's last look, labelled so", got)
	}
}

// TestProjectionLagHeader: every query's answer says how stale it may be,
// from a sample, once the first sample is in.
func TestProjectionLagHeader(t *testing.T) {
	feed := &fakeFeed{}
	h := newHarness(t, func(c *Config) { c.Feed = feed })
	h.queries.setStats(store.Stats{Checkpoint: 7})
	feed.set(9, testNow.Add(-1500*time.Millisecond), nil)
	deadline := time.Now().Add(10 * time.Second)
	for {
		w := h.do(t, req{method: "GET", target: "/v1/shipments?limit=1"})
		if w.Code != http.StatusOK {
			t.Fatalf("GET: %d", w.Code)
		}
		if got := w.Header().Get("Projection-Lag"); got != "" {
			if got != "entries=2, ms=1500, source=write-db" {
				t.Errorf("Projection-Lag = %q", got)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no Projection-Lag header within 10s")
		}
		time.Sleep(time.Millisecond) // polling interval, with the deadline above
	}
	// Commands and probes do not carry it.
	if w := h.do(t, req{method: "GET", target: "/healthz"}); w.Header().Get("Projection-Lag") != "" {
		t.Error("/healthz carries Projection-Lag")
	}
}
