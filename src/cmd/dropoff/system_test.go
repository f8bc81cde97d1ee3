package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dropoff-dev/dropoff/src/httpapi/apitest"
	"github.com/dropoff-dev/dropoff/src/telemetry"
)

// These tests run the whole of Dropoff in-process through run(), exactly as
// `go run ./src/cmd/dropoff` does, on a temporary data directory, and talk to
// it over HTTP.

// system is one running `dropoff serve`.
type system struct {
	URL  string
	dir  string
	logs *logSink
}

// logSink collects the log.
type logSink struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *logSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *logSink) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// openMain builds the process a subcommand and its arguments describe, as
// run does, and opens it until the test ends; it requires a clean shutdown
// then. The process tells its address (Main.URL).
func openMain(t *testing.T, args []string, logs *logSink) *Main {
	t.Helper()
	return openTracedMain(t, args, logs, telemetry.Tracing{})
}

// openTracedMain is openMain, traced with tr.
func openTracedMain(t *testing.T, args []string, logs *logSink, tr telemetry.Tracing) *Main {
	t.Helper()
	c, err := parseConfig(args[0], args[1:], func(string) string { return "" }, logs)
	if err != nil {
		t.Fatal(err)
	}
	m := newMain(c, newLogger(c, logs), rolesOf(args[0], c.Mode), tr)
	ctx, cancel := context.WithCancel(context.Background())
	if err := m.Open(ctx); err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		select {
		case <-m.Done():
			if err := m.Wait(); err != nil && !errors.Is(err, context.Canceled) {
				t.Errorf("dropoff returned %v after shutdown", err)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("dropoff did not shut down within 30s")
		}
	})
	return m
}

// startSystem runs `dropoff serve` until the test ends, once it is ready.
func startSystem(t *testing.T, extra ...string) *system {
	t.Helper()
	return startTracedSystem(t, telemetry.Tracing{}, extra...)
}

// startTracedSystem is startSystem, traced with tr.
func startTracedSystem(t *testing.T, tr telemetry.Tracing, extra ...string) *system {
	t.Helper()
	dir := t.TempDir()
	logs := &logSink{}
	args := append([]string{"serve", "--addr", "127.0.0.1:0", "--data-dir", dir, "--log-format", "json"}, extra...)
	m := openTracedMain(t, args, logs, tr)
	select {
	case <-m.Ready():
		return &system{URL: m.URL(), dir: dir, logs: logs}
	case <-m.Done():
		t.Fatalf("dropoff exited: %v\n%s", m.Wait(), logs)
	case <-time.After(30 * time.Second):
		t.Fatalf("dropoff did not start within 30s:\n%s", logs)
	}
	return nil
}

// response is a decoded HTTP answer.
type response struct {
	Status int
	Header http.Header
	Body   map[string]any
}

func (s *system) do(t *testing.T, method, path, body string, headers ...string) response {
	t.Helper()
	req, err := http.NewRequest(method, s.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := apiClient(t).Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	r := response{Status: resp.StatusCode, Header: resp.Header}
	raw, _ := io.ReadAll(resp.Body)
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &r.Body); err != nil {
			t.Fatalf("%s %s: body %q is not a JSON object: %v", method, path, raw, err)
		}
	}
	return r
}

// apiClient is the client of the tests that talk to a running Dropoff: it
// checks every response against docs/openapi.yaml, and one that does not
// match is an error of the request, naming the route, the status and what is
// wrong.
func apiClient(t testing.TB) *http.Client {
	t.Helper()
	c, err := apitest.Dropoff()
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Transport: c.Transport(nil)}
}

// command sends a command, requires 202, and returns the operation id.
func (s *system) command(t *testing.T, method, id, body string, headers ...string) string {
	t.Helper()
	r := s.do(t, method, "/v1/shipments/"+id, body, headers...)
	if r.Status != http.StatusAccepted {
		t.Fatalf("%s %s: HTTP %d %v, want 202", method, id, r.Status, r.Body)
	}
	op, _ := r.Body["id"].(string)
	return op
}

// wait polls an operation until it has ended and returns it.
func (s *system) wait(t *testing.T, op string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		r := s.do(t, "GET", "/v1/operations/"+op, "")
		if st := r.Body["status"]; r.Status == http.StatusOK && (st == "Succeeded" || st == "Failed") {
			return r.Body
		}
		if time.Now().After(deadline) {
			t.Fatalf("operation %s did not end within 20s: HTTP %d %v\n%s", op, r.Status, r.Body, s.logs)
		}
		time.Sleep(5 * time.Millisecond) // polling interval, with the deadline above
	}
}

// succeed sends a command and requires its operation to succeed.
func (s *system) succeed(t *testing.T, method, id, body string, headers ...string) map[string]any {
	t.Helper()
	op := s.wait(t, s.command(t, method, id, body, headers...))
	if op["status"] != "Succeeded" {
		t.Fatalf("%s %s: operation %v, want Succeeded", method, id, op)
	}
	return op
}

const parcel = `{"recipient":"Ada","destination":"1 Main St","weightGrams":1200,"service":"express"}`

// A client that never finishes its request does not hold the shutdown: past
// the shutdown timeout its connection is closed and the process stops
// cleanly.
func TestSlowClientDoesNotHoldShutdown(t *testing.T) {
	logs := &logSink{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c, err := parseConfig("serve", []string{"--addr", "127.0.0.1:0", "--data-dir", t.TempDir(), "--shutdown-timeout", "500ms"},
		func(string) string { return "" }, logs)
	if err != nil {
		t.Fatal(err)
	}
	m := newMain(c, newLogger(c, logs), rolesOf("serve", c.Mode), telemetry.Tracing{})
	if err := m.Open(ctx); err != nil {
		t.Fatal(err)
	}
	<-m.Ready()
	conn, err := net.Dial("tcp", strings.TrimPrefix(m.URL(), "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// Headers whole, the body promised and never sent: the request is in flight.
	fmt.Fprintf(conn, "PUT /v1/shipments/slow HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{")
	deadline := time.Now().Add(10 * time.Second)
	// The scrape counts itself: 2 in flight is the slow request and the scrape.
	for !strings.Contains(fetchMetrics(t, m.URL()), "dropoff_http_requests_in_flight 2") {
		if time.Now().After(deadline) {
			t.Fatal("the slow request never reached the handler")
		}
		time.Sleep(5 * time.Millisecond) // polling, with the deadline above
	}
	start := time.Now()
	cancel()
	select {
	case <-m.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("a slow client held the shutdown for 10s")
	}
	if err := m.Wait(); err != nil && !errors.Is(err, context.Canceled) {
		t.Errorf("shutdown with a slow client: %v, want a clean stop", err)
	}
	t.Logf("stopped %v after the signal", time.Since(start).Round(time.Millisecond))
}

func fetchMetrics(t *testing.T, url string) string {
	t.Helper()
	resp, err := apiClient(t).Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// The process answers even a request net/http cannot read with a problem.
func TestUnreadableRequestGetsAProblem(t *testing.T) {
	s := startSystem(t)
	conn, err := net.Dial("tcp", strings.TrimPrefix(s.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprint(conn, "GET /v1/shipments/%zz HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Content-Type") != "application/problem+json" {
		t.Errorf("got %d %s, want 400 application/problem+json", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}
