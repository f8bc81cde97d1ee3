package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/dropoff-dev/dropoff/src/live"
	"github.com/dropoff-dev/dropoff/src/telemetry"
)

// A query API running apart serves the live page with what it can see: it
// hears no worker and no projector, so it tails the projection, and a
// command sent to another process shows up on its stream as visible. It has
// no lab controls.
func TestQueryAPIApartTailsTheProjection(t *testing.T) {
	s := startSystem(t)
	logs := &logSink{}
	q := openMain(t, []string{"query-api", "--addr", "127.0.0.1:0", "--data-dir", s.dir}, logs)
	select {
	case <-q.Ready():
	case <-time.After(30 * time.Second):
		t.Fatalf("the query API did not start within 30s:\n%s", logs)
	}
	page, err := apiClient(t).Get(q.URL() + "/")
	if err != nil {
		t.Fatal(err)
	}
	page.Body.Close()
	if page.StatusCode != http.StatusOK || !strings.HasPrefix(page.Header.Get("Content-Type"), "text/html") {
		t.Errorf("GET / of the query API: %d %s; want the page", page.StatusCode, page.Header.Get("Content-Type"))
	}
	lab, err := apiClient(t).Get(q.URL() + "/admin/lab")
	if err != nil {
		t.Fatal(err)
	}
	lab.Body.Close()
	if lab.StatusCode != http.StatusNotFound {
		t.Errorf("GET /admin/lab of the query API: %d; want 404 (it runs no part the lab controls)", lab.StatusCode)
	}

	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, q.URL()+"/v1/events", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	op := s.command(t, "PUT", "seen-apart", parcel)
	events := bufio.NewScanner(resp.Body)
	for events.Scan() {
		data, ok := strings.CutPrefix(events.Text(), "data: ")
		if !ok {
			continue
		}
		var e live.Event
		if err := json.Unmarshal([]byte(data), &e); err != nil {
			t.Fatalf("event %q: %v", data, err)
		}
		if e.OperationID != op {
			continue
		}
		if e.Type != live.Visible || e.Status != "Succeeded" || e.ShipmentID != "seen-apart" {
			t.Errorf("the query API's event for %s: %+v; want it visible, Succeeded, for seen-apart", op, e)
		}
		return
	}
	t.Fatalf("no event for %s on the query API's stream within 20s: %v", op, events.Err())
}

// A client that opens the event stream and never reads it does not slow
// the pipeline: a burst is applied in full while it hangs on. (What the hub
// does with such a stream, once the socket's buffers are full, is
// httpapi's TestStuckStreamNeverBlocksPublishers.)
func TestStuckEventStreamNeverBlocksTheWorker(t *testing.T) {
	s := startSystem(t)
	conn, err := net.Dial("tcp", strings.TrimPrefix(s.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprint(conn, "GET /v1/events HTTP/1.1\r\nHost: x\r\n\r\n") // and never a read
	labCLI(t, s, "burst", "--commands", "2000", "--shipments", "10", "--prefix", "stuck")
	for j := range 10 {
		id := fmt.Sprintf("stuck-%03d", j)
		poll(t, id+" at version 200", func() bool {
			r := s.do(t, "GET", "/v1/shipments/"+id, "")
			return r.Status == http.StatusOK && r.Body["version"] == 200.0
		})
	}
}

// An open event stream does not hold the shutdown: the hub closes with the
// process, and each stream ends, long before the shutdown timeout.
func TestEventStreamEndsAtShutdown(t *testing.T) {
	logs := &logSink{}
	c, err := parseConfig("serve", []string{"--addr", "127.0.0.1:0", "--data-dir", t.TempDir(), "--shutdown-timeout", "60s"},
		func(string) string { return "" }, logs)
	if err != nil {
		t.Fatal(err)
	}
	m := newMain(c, newLogger(c, logs), rolesOf("serve", c.Mode), telemetry.Tracing{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := m.Open(ctx); err != nil {
		t.Fatal(err)
	}
	<-m.Ready()
	resp, err := http.Get(m.URL() + "/v1/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	cancel()
	select {
	case <-m.Done():
	case <-time.After(20 * time.Second):
		t.Fatal("an open event stream held the shutdown for 20s")
	}
	if err := m.Wait(); err != nil && !errors.Is(err, context.Canceled) {
		t.Errorf("shutdown with an open stream: %v, want a clean stop", err)
	}
	if strings.Contains(logs.String(), "still busy") {
		t.Errorf("the stream was cut at the shutdown timeout, not ended:\n%s", logs)
	}
}
