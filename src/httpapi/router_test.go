package httpapi

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

func TestNewRejectsBadConfig(t *testing.T) {
	ok := func(context.Context) error { return nil }
	for name, cfg := range map[string]Config{
		"negative TTL":         {OperationTTL: -time.Second},
		"ready check unnamed":  {Ready: []ReadyCheck{{Check: ok}}},
		"ready check nil":      {Ready: []ReadyCheck{{Name: "db"}}},
		"ready check repeated": {Ready: []ReadyCheck{{"db", ok}, {"db", ok}}},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: New returned no error, want one", name)
		}
	}
}

// TestRoutesFollowConfig checks each dependency switches its routes on, and
// that a route left off is a problem, not a crash.
func TestRoutesFollowConfig(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Sender, c.DeadLetters, c.Registry = nil, nil, nil })
	checkProblem(t, h.do(t, req{method: "PUT", target: "/v1/shipments/s1", body: validPut, header: jsonHeader}),
		http.StatusMethodNotAllowed, "")
	checkProblem(t, h.do(t, req{method: "GET", target: "/admin/v1/deadletters", remote: "127.0.0.1:1"}), http.StatusNotFound, "")
	checkProblem(t, h.do(t, req{method: "GET", target: "/metrics"}), http.StatusNotFound, "")

	h = newHarness(t, func(c *Config) { c.Queries = nil })
	w := h.do(t, req{method: "GET", target: "/v1/shipments/s1"})
	checkProblem(t, w, http.StatusMethodNotAllowed, "")
	if got := w.Header().Get("Allow"); got != "PUT, PATCH, DELETE" {
		t.Errorf("Allow: got %q, want %q", got, "PUT, PATCH, DELETE")
	}
	checkProblem(t, h.do(t, req{method: "GET", target: "/v1/stats"}), http.StatusNotFound, "")
}

func TestUnknownRoutes(t *testing.T) {
	h := newHarness(t)
	for _, target := range []string{"/index.html", "/v1", "/v1/shipments/s1/", "/v1/shipments/s1/nope", "/v2/shipments/s1"} {
		checkProblem(t, h.do(t, req{method: "GET", target: target}), http.StatusNotFound, "")
	}
	w := h.do(t, req{method: "DELETE", target: "/v1/stats"})
	checkProblem(t, w, http.StatusMethodNotAllowed, "")
	if got := w.Header().Get("Allow"); got != "GET" {
		t.Errorf("Allow: got %q, want GET", got)
	}
}

// TestPanicBecomes500 checks a panicking handler answers a 500 problem and
// is logged with its stack, and the next request is served normally.
func TestPanicBecomes500(t *testing.T) {
	var logs bytes.Buffer
	h := newHarness(t, func(c *Config) { c.Logger = slog.New(slog.NewTextHandler(&logs, nil)) })
	h.queries.panicOn = "boom"
	p := checkProblem(t, h.do(t, req{method: "GET", target: "/v1/shipments/boom"}), http.StatusInternalServerError, "")
	if p.Type != ProblemInternal {
		t.Errorf("type: got %q, want %q", p.Type, ProblemInternal)
	}
	if got := logs.String(); !strings.Contains(got, "panic in http handler") || !strings.Contains(got, "goroutine") {
		t.Errorf("logs %q: want the panic with its stack", got)
	}
	if w := h.do(t, req{method: "GET", target: "/healthz"}); w.Code != http.StatusOK {
		t.Errorf("after a panic: got %d, want 200", w.Code)
	}
}

func TestMetrics(t *testing.T) {
	h := newHarness(t)
	h.do(t, req{method: "PUT", target: "/v1/shipments/s1", body: validPut, header: jsonHeader})
	h.do(t, req{method: "PUT", target: "/v1/shipments/s2", body: `{}`, header: jsonHeader})
	h.do(t, req{method: "PUT", target: "/v1/shipments/s3", body: validPut})
	h.do(t, req{method: "BREW", target: "/coffee"})

	w := h.do(t, req{method: "GET", target: "/metrics"})
	if w.Code != http.StatusOK {
		t.Fatalf("/metrics: got %d, want 200", w.Code)
	}
	exposition := w.Body.String()
	for _, line := range []string{
		`dropoff_commands_accepted_total{kind="shipment.upsert"} 1`,
		`dropoff_commands_rejected_total{reason="validation"} 1`,
		`dropoff_commands_rejected_total{reason="unsupported-media-type"} 1`,
		`dropoff_http_request_duration_seconds_count{method="PUT",route="/v1/shipments/:id",status="202"} 1`,
		`dropoff_http_request_duration_seconds_count{method="PUT",route="/v1/shipments/:id",status="400"} 1`,
		`dropoff_http_request_duration_seconds_count{method="other",route="unmatched",status="404"} 1`,
	} {
		if !strings.Contains(exposition, line+"\n") {
			t.Errorf("/metrics: want the line %s", line)
		}
	}
	if strings.Contains(exposition, `route="/v1/shipments/s1"`) {
		t.Errorf("/metrics: a raw path is a route label, want only templates")
	}
}

// TestMetricsSharedRegistry checks two handlers can share one registry.
func TestMetricsSharedRegistry(t *testing.T) {
	reg := prometheus.NewRegistry()
	for i := range 2 {
		if _, err := New(Config{Registry: reg}); err != nil {
			t.Fatalf("New #%d on a shared registry: %v", i+1, err)
		}
	}
}
