package httpapi

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/dropoff-dev/dropoff/src/command"
	"github.com/dropoff-dev/dropoff/src/operation"
)

// blockingSink holds every command until release is closed.
type blockingSink struct {
	waiting chan struct{}
	release chan struct{}
}

func (s blockingSink) Accept(ctx context.Context, cmd command.Command) (operation.Operation, error) {
	s.waiting <- struct{}{}
	<-s.release
	return operation.Operation{ID: cmd.OperationID, Kind: string(cmd.Kind), ShipmentID: cmd.ShipmentID,
		Status: operation.NotStarted, CreatedAt: cmd.AcceptedAt, LastUpdatedAt: cmd.AcceptedAt}, nil
}

// Past MaxInFlight a request gets 503 with Retry-After at once, the probes
// still answer, and the requests in flight finish.
func TestMaxInFlight(t *testing.T) {
	sink := blockingSink{waiting: make(chan struct{}, 2), release: make(chan struct{})}
	h := newHarness(t, func(c *Config) { c.Sender, c.Sink, c.MaxInFlight = nil, sink, 2 })
	var wg sync.WaitGroup
	codes := make([]int, 2)
	for i := range 2 {
		wg.Go(func() { codes[i] = h.do(t, req{method: "DELETE", target: "/v1/shipments/s1"}).Code })
	}
	for range 2 {
		select {
		case <-sink.waiting:
		case <-time.After(10 * time.Second):
			t.Fatal("the first two requests never reached the sink")
		}
	}
	w := h.do(t, req{method: "DELETE", target: "/v1/shipments/s2"})
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" {
		t.Errorf("third request: %d, Retry-After %q; want 503 with Retry-After", w.Code, w.Header().Get("Retry-After"))
	}
	if w := h.do(t, req{method: "GET", target: "/healthz"}); w.Code != http.StatusOK {
		t.Errorf("/healthz at the limit: %d, want 200", w.Code)
	}
	close(sink.release)
	wg.Wait()
	if codes[0] != http.StatusAccepted || codes[1] != http.StatusAccepted {
		t.Errorf("requests in flight ended %v, want 202 each", codes)
	}
}
