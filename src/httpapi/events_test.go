package httpapi

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dropoff-dev/dropoff/src/live"
)

// sseMessage is one message of an event stream: its fields, or a comment.
type sseMessage struct {
	id, data, retry, comment string
}

// readSSE reads the next message (up to a blank line) of a stream.
func readSSE(t *testing.T, r *bufio.Reader) sseMessage {
	t.Helper()
	var m sseMessage
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("read event stream: %v (so far %+v)", err, m)
		}
		line = strings.TrimSuffix(line, "\n")
		if line == "" {
			return m
		}
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "":
			m.comment = value
		case "id":
			m.id = value
		case "data":
			m.data = value
		case "retry":
			m.retry = value
		}
	}
}

// openStream opens GET /v1/events with Last-Event-ID lastID ("" for none)
// and reads the retry line.
func openStream(t *testing.T, url, lastID string) (*bufio.Reader, func()) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url+"/v1/events", nil)
	if err != nil {
		t.Fatal(err)
	}
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET /v1/events: %v", err)
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("GET /v1/events = %d %q; want 200 text/event-stream", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	r := bufio.NewReader(resp.Body)
	if m := readSSE(t, r); m.retry != "2000" {
		t.Fatalf("first message %+v; want retry: 2000", m)
	}
	return r, func() { resp.Body.Close() }
}

func eventOf(t *testing.T, m sseMessage) live.Event {
	t.Helper()
	var e live.Event
	if err := json.Unmarshal([]byte(m.data), &e); err != nil {
		t.Fatalf("event data %q: %v", m.data, err)
	}
	if e.ID != m.id {
		t.Errorf("event id %q in the data, %q in the stream", e.ID, m.id)
	}
	return e
}

// TestEventStream: a new stream starts with the recent past, then carries
// what is published, each message with its id; a stream reopened with the
// last id it saw resumes after it; one whose id the ring no longer holds
// starts with a reset; an idle stream sends heartbeats; closing the hub
// ends the streams.
func TestEventStream(t *testing.T) {
	hub, err := live.New(live.Config{Recent: 4})
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, func(c *Config) { c.Live, c.Heartbeat = hub, 20*time.Millisecond })
	srv := httptest.NewServer(h.handler)
	defer srv.Close()

	hub.Publish(live.Event{Type: live.Accepted, OperationID: "op-1"})
	r, closeStream := openStream(t, srv.URL, "")
	first := eventOf(t, readSSE(t, r))
	if first.OperationID != "op-1" || first.Type != live.Accepted {
		t.Errorf("first event %+v; want the recent past: op-1 accepted", first)
	}
	hub.Publish(live.Event{Type: live.Applied, OperationID: "op-1"})
	second := eventOf(t, readSSE(t, r))
	if second.Type != live.Applied {
		t.Errorf("second event %+v; want op-1 applied", second)
	}
	closeStream()

	hub.Publish(live.Event{Type: live.Visible, OperationID: "op-1"})
	r, closeStream = openStream(t, srv.URL, second.ID)
	if e := eventOf(t, readSSE(t, r)); e.Type != live.Visible {
		t.Errorf("after reconnecting with %s: %+v; want what was missed, op-1 visible", second.ID, e)
	}
	for m := readSSE(t, r); m.comment != "heartbeat"; m = readSSE(t, r) {
		t.Errorf("an idle stream sent %+v; want a heartbeat comment", m)
	}
	closeStream()

	for i := range 5 { // the ring holds 4: first.ID is gone
		hub.Publish(live.Event{Type: live.Accepted, OperationID: "op-" + string(rune('a'+i))})
	}
	r, closeStream = openStream(t, srv.URL, first.ID)
	defer closeStream()
	if m := readSSE(t, r); m.data != `{"type":"reset"}` {
		t.Errorf("after reconnecting with an id the ring lost: %+v; want a reset", m)
	}
	if e := eventOf(t, readSSE(t, r)); e.OperationID != "op-b" {
		t.Errorf("after the reset: %+v; want the ring from its oldest, op-b", e)
	}
	hub.Close()
	for {
		if _, err := r.ReadString('\n'); err != nil {
			break // the stream ended
		}
	}
}

// TestEventStreamFull: past MaxSubscribers a stream is refused with a 503
// problem, not queued.
func TestEventStreamFull(t *testing.T) {
	hub, err := live.New(live.Config{MaxSubscribers: 1})
	if err != nil {
		t.Fatal(err)
	}
	s, _, _, err := hub.Subscribe("")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	h := newHarness(t, func(c *Config) { c.Live = hub })
	w := checkProblem(t, h.do(t, req{method: "GET", target: "/v1/events"}), http.StatusServiceUnavailable, "")
	if !strings.Contains(w.Detail, "too many") {
		t.Errorf("detail %q; want it to say too many streams are open", w.Detail)
	}
}

// TestEventStreamOutlivesServerTimeouts: a stream lasts longer than the
// server's ReadTimeout and WriteTimeout (30 s in Dropoff), which would
// otherwise cut it, or cancel its request, every time they pass.
func TestEventStreamOutlivesServerTimeouts(t *testing.T) {
	hub, err := live.New(live.Config{})
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, func(c *Config) { c.Live, c.Heartbeat = hub, 30*time.Millisecond })
	srv := httptest.NewUnstartedServer(h.handler)
	srv.Config.ReadTimeout, srv.Config.WriteTimeout = 100*time.Millisecond, 100*time.Millisecond
	srv.Start()
	defer srv.Close()
	r, closeStream := openStream(t, srv.URL, "")
	defer closeStream()
	start := time.Now()
	for beats := 0; beats < 3 || time.Since(start) < 300*time.Millisecond; {
		if m := readSSE(t, r); m.comment == "heartbeat" {
			beats++
		}
	}
	hub.Publish(live.Event{Type: live.Accepted, OperationID: "late"})
	for {
		if m := readSSE(t, r); m.data != "" {
			if e := eventOf(t, m); e.OperationID != "late" {
				t.Errorf("event %+v after the timeouts passed; want late", e)
			}
			return
		}
	}
}

// blockedWriter is a response writer whose writes block until released: a
// client that stopped reading, once the socket's buffers are full.
type blockedWriter struct {
	header  http.Header
	release chan struct{}
	wrote   chan struct{} // closed at the first write
	once    sync.Once
}

func (w *blockedWriter) Header() http.Header { return w.header }
func (w *blockedWriter) WriteHeader(int)     {}
func (w *blockedWriter) Write(b []byte) (int, error) {
	w.once.Do(func() { close(w.wrote) })
	<-w.release
	return 0, errors.New("fake: connection closed")
}
func (w *blockedWriter) Flush()                           {}
func (w *blockedWriter) SetWriteDeadline(time.Time) error { return nil }

// TestStuckStreamNeverBlocksPublishers: a stream whose writes block holds
// its own goroutine only. The pipeline goes on publishing, at full speed, and
// the hub drops the stream once it is Buffer events behind, freeing its
// place for another subscriber.
func TestStuckStreamNeverBlocksPublishers(t *testing.T) {
	hub, err := live.New(live.Config{Buffer: 16, MaxSubscribers: 1})
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, func(c *Config) { c.Live = hub })
	w := &blockedWriter{header: http.Header{}, release: make(chan struct{}), wrote: make(chan struct{})}
	defer close(w.release)
	served := make(chan struct{})
	go func() {
		defer close(served)
		h.handler.ServeHTTP(w, httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/v1/events", nil))
	}()
	<-w.wrote // the stream is subscribed, and stuck in its first write
	published := make(chan struct{})
	go func() {
		defer close(published)
		for i := range 1000 {
			hub.Publish(live.Event{Type: live.Applied, OperationID: fmt.Sprint(i)})
		}
	}()
	select {
	case <-published:
	case <-time.After(10 * time.Second):
		t.Fatal("publishing blocked behind a stuck stream")
	}
	s, _, _, err := hub.Subscribe("")
	if err != nil {
		t.Fatalf("Subscribe after the stuck stream fell behind: %v; want its place freed (it was dropped)", err)
	}
	s.Close()
}

// TestEventStreamHead: HEAD /v1/events answers the stream's headers and
// ends, instead of streaming into a body nobody reads.
func TestEventStreamHead(t *testing.T) {
	hub, err := live.New(live.Config{MaxSubscribers: 1})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(newHarness(t, func(c *Config) { c.Live = hub }).handler)
	defer srv.Close()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodHead, srv.URL+"/v1/events", nil)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Errorf("HEAD /v1/events: %v", err)
			return
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
			t.Errorf("HEAD /v1/events = %d %q; want 200 text/event-stream", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("HEAD /v1/events did not end within 10s")
	}
	// The handler returns: its subscription goes, and the one place is free.
	deadline := time.Now().Add(10 * time.Second)
	for {
		s, _, _, err := hub.Subscribe("")
		if err == nil {
			s.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the HEAD's stream still holds its subscription after 10s: %v", err)
		}
		time.Sleep(time.Millisecond) // polling, with the deadline above
	}
}
