package httpapi

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/dropoff-dev/dropoff/src/bus"
)

// fakeBacklog is a backlog a test sets.
type fakeBacklog struct {
	mu  sync.Mutex
	b   bus.Backlog
	err error
}

func (f *fakeBacklog) set(b bus.Backlog, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.b, f.err = b, err
}

func (f *fakeBacklog) Backlog(context.Context) (bus.Backlog, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.b, f.err
}

// putUntil sends PUTs until one is answered want, or fails at the deadline.
// The backlog is sampled in the background, so the answer changes a few
// milliseconds after the backlog does.
func putUntil(t *testing.T, h *harness, want int) *http.Response {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		w := h.do(t, req{method: "PUT", target: "/v1/shipments/s1", body: validPut,
			header: map[string]string{"Content-Type": "application/json"}})
		if w.Code == want {
			return w.Result()
		}
		if time.Now().After(deadline) {
			t.Fatalf("PUT answered %d until the deadline, want %d (body %s)", w.Code, want, w.Body)
		}
		time.Sleep(time.Millisecond) // polling interval, with the deadline above
	}
}

func TestShedding(t *testing.T) {
	f := &fakeBacklog{b: bus.Backlog{Messages: 10}}
	h := newHarness(t, func(c *Config) {
		c.Backlog, c.MaxBacklog, c.MaxBacklogAge, c.BacklogInterval = f, 100, time.Minute, 5*time.Millisecond
	})
	putUntil(t, h, http.StatusAccepted)

	// Past the bound on messages: 503 overloaded, Retry-After, nothing sent.
	f.set(bus.Backlog{Messages: 101}, nil)
	w := putUntil(t, h, http.StatusServiceUnavailable)
	if got := w.Header.Get("Retry-After"); got != "1" {
		t.Errorf("Retry-After = %q, want 1 (two 5ms intervals, rounded up)", got)
	}
	sent := len(h.sender.sent())
	for range 5 {
		r := h.do(t, req{method: "PUT", target: "/v1/shipments/s1", body: validPut,
			header: map[string]string{"Content-Type": "application/json"}})
		p := checkProblem(t, r, http.StatusServiceUnavailable, "")
		if p.Type != ProblemOverloaded {
			t.Fatalf("type %s, want %s", p.Type, ProblemOverloaded)
		}
	}
	if got := len(h.sender.sent()); got != sent {
		t.Errorf("%d commands sent while shedding", got-sent)
	}
	// Queries are not shed.
	if r := h.do(t, req{method: "GET", target: "/v1/stats"}); r.Code != http.StatusOK {
		t.Errorf("GET while shedding: %d", r.Code)
	}

	// Back under: accepted again.
	f.set(bus.Backlog{Messages: 90}, nil)
	putUntil(t, h, http.StatusAccepted)

	// Past the bound on age.
	f.set(bus.Backlog{Messages: 1, OldestAge: 2 * time.Minute}, nil)
	putUntil(t, h, http.StatusServiceUnavailable)

	// A backlog that cannot be read sheds nothing once its last sample is stale.
	f.set(bus.Backlog{}, errors.New("queue unreadable"))
	putUntil(t, h, http.StatusAccepted)
}

// TestSheddingOff: without a bound, or without a reader, nothing is sampled.
func TestSheddingOff(t *testing.T) {
	f := &fakeBacklog{b: bus.Backlog{Messages: 1 << 40}}
	h := newHarness(t, func(c *Config) { c.Backlog = f })
	for range 3 {
		if w := h.do(t, req{method: "PUT", target: "/v1/shipments/s1", body: validPut,
			header: map[string]string{"Content-Type": "application/json"}}); w.Code != http.StatusAccepted {
			t.Fatalf("PUT with no bound: %d", w.Code)
		}
	}
}

// TestSheddingCountsItsOwnSends: between samples, the commands accepted
// since the last one began count against the bound, so a burst stops at it.
func TestSheddingCountsItsOwnSends(t *testing.T) {
	f := &fakeBacklog{b: bus.Backlog{Messages: 2}}
	s := newShedder(f, 5, 0, time.Hour, slog.New(slog.DiscardHandler))
	s.backlog.refresh() // one sample (2 waiting), then none for an hour
	accepted := 0
	for range 20 {
		if _, over := s.over(); !over {
			s.accepted()
			accepted++
		}
	}
	if accepted != 3 {
		t.Errorf("%d commands accepted after a sample of 2 with a bound of 5, want 3", accepted)
	}
	// A sample that fails keeps the count; one that succeeds replaces it.
	f.set(bus.Backlog{}, errors.New("unreadable"))
	s.backlog.refresh()
	if _, over := s.over(); !over {
		t.Error("a failed sample forgot the commands accepted since the last good one")
	}
	f.set(bus.Backlog{Messages: 1}, nil)
	s.backlog.refresh()
	if _, over := s.over(); over {
		t.Error("shedding after a sample of 1 with a bound of 5")
	}
}
