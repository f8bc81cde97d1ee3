package httpapi

import (
	"errors"
	"net/http"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/dropoff-dev/dropoff/src/command"
)

// tracedHarness is a harness whose spans are recorded, with or without the
// HTTP detail (Config.RequestDetail).
func tracedHarness(t *testing.T, detail bool) (*harness, *tracetest.SpanRecorder) {
	t.Helper()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { _ = tp.Shutdown(t.Context()) })
	return newHarness(t, func(c *Config) { c.TracerProvider, c.RequestDetail = tp, detail }), rec
}

// bothWays runs test with and without the HTTP detail: the trace is the
// same either way.
func bothWays(t *testing.T, test func(t *testing.T, detail bool)) {
	for _, detail := range []bool{true, false} {
		t.Run(map[bool]string{true: "otelhttp", false: "span only"}[detail], func(t *testing.T) { test(t, detail) })
	}
}

// hasAttr reports whether span has an attribute key.
func hasAttr(span sdktrace.ReadOnlySpan, key string) bool {
	for _, a := range span.Attributes() {
		if string(a.Key) == key {
			return true
		}
	}
	return false
}

// spanNamed returns the one ended span called name.
func spanNamed(t *testing.T, rec *tracetest.SpanRecorder, name string) sdktrace.ReadOnlySpan {
	t.Helper()
	var found []sdktrace.ReadOnlySpan
	for _, s := range rec.Ended() {
		if s.Name() == name {
			found = append(found, s)
		}
	}
	if len(found) != 1 {
		var names []string
		for _, s := range rec.Ended() {
			names = append(names, s.Name())
		}
		t.Fatalf("spans named %q: got %d, want 1 (spans: %q)", name, len(found), names)
	}
	return found[0]
}

// A command's request span continues the caller's trace and is named by
// its route; the send is its child, and the message carries the send's trace
// context under both names, with the caller's tracestate.
func TestCommandTraceContinuesTheCaller(t *testing.T) {
	bothWays(t, testCommandTraceContinuesTheCaller)
}

func testCommandTraceContinuesTheCaller(t *testing.T, detail bool) {
	const caller = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	h, rec := tracedHarness(t, detail)
	w := h.do(t, req{method: "PUT", target: "/v1/shipments/s-1", body: validPut,
		header: map[string]string{"Content-Type": "application/json", "Traceparent": caller, "Tracestate": "congo=t61rcWkgMzE"}})
	if w.Code != http.StatusAccepted {
		t.Fatalf("status: got %d, want 202 (%s)", w.Code, w.Body)
	}
	server := spanNamed(t, rec, "PUT /v1/shipments/:id")
	send := spanNamed(t, rec, "send shipment.upsert")
	if got := server.Parent().SpanID().String(); got != "00f067aa0ba902b7" || !server.Parent().IsRemote() {
		t.Errorf("request span's parent: got %s (remote %v), want the caller's span 00f067aa0ba902b7", got, server.Parent().IsRemote())
	}
	if got := server.SpanContext().TraceID().String(); got != "4bf92f3577b34da6a3ce929d0e0e4736" {
		t.Errorf("request span's trace: got %s, want the caller's", got)
	}
	if send.Parent().SpanID() != server.SpanContext().SpanID() || send.SpanKind() != trace.SpanKindProducer {
		t.Errorf("send span: parent %s, kind %v; want the request span %s, producer",
			send.Parent().SpanID(), send.SpanKind(), server.SpanContext().SpanID())
	}
	props := h.sender.sent()[0].Properties
	want := "00-4bf92f3577b34da6a3ce929d0e0e4736-" + send.SpanContext().SpanID().String() + "-01"
	if props[command.PropTraceparent] != want || props[command.PropDiagnosticID] != want {
		t.Errorf("message traceparent %q, Diagnostic-Id %q: want both %q (the send span)",
			props[command.PropTraceparent], props[command.PropDiagnosticID], want)
	}
	if got := props[command.PropTracestate]; got != "congo=t61rcWkgMzE" {
		t.Errorf("message tracestate: got %q, want the caller's", got)
	}
	if got := hasAttr(server, "http.response.status_code"); got != detail {
		t.Errorf("request span has http.response.status_code: %v, want %v (otelhttp's detail)", got, detail)
	}
}

// A missing or malformed traceparent is no error: the request gets its 202
// and starts a trace of its own, which the message carries.
func TestCommandTraceWithoutAValidCaller(t *testing.T) {
	bothWays(t, testCommandTraceWithoutAValidCaller)
}

func testCommandTraceWithoutAValidCaller(t *testing.T, detail bool) {
	for _, in := range []string{"", "garbage", "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
		"00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01"} {
		h, rec := tracedHarness(t, detail)
		w := h.do(t, req{method: "DELETE", target: "/v1/shipments/s1", header: map[string]string{"Traceparent": in}})
		if w.Code != http.StatusAccepted {
			t.Fatalf("traceparent %q: status: got %d, want 202", in, w.Code)
		}
		server := spanNamed(t, rec, "DELETE /v1/shipments/:id")
		if server.Parent().IsValid() {
			t.Errorf("traceparent %q: request span has parent %v, want a new trace", in, server.Parent())
		}
		send := spanNamed(t, rec, "send shipment.delete")
		want := "00-" + server.SpanContext().TraceID().String() + "-" + send.SpanContext().SpanID().String() + "-01"
		if got := h.sender.sent()[0].Properties[command.PropTraceparent]; got != want {
			t.Errorf("traceparent %q: message carries %q, want %q", in, got, want)
		}
	}
}

// A send that fails is a failed span; probes and unmatched routes make no
// span named by a path.
func TestTraceOfFailuresAndProbes(t *testing.T) { bothWays(t, testTraceOfFailuresAndProbes) }

func testTraceOfFailuresAndProbes(t *testing.T, detail bool) {
	h, rec := tracedHarness(t, detail)
	h.sender.err = errors.New("queue down")
	if w := h.do(t, req{method: "DELETE", target: "/v1/shipments/s1"}); w.Code != http.StatusServiceUnavailable {
		t.Fatalf("status: got %d, want 503", w.Code)
	}
	if send := spanNamed(t, rec, "send shipment.delete"); send.Status().Code.String() != "Error" {
		t.Errorf("failed send: span status %v, want Error", send.Status())
	}
	h.do(t, req{method: "GET", target: "/healthz"})
	h.do(t, req{method: "GET", target: "/no/such/path"})
	for _, s := range rec.Ended() {
		if s.Name() == "GET /healthz" {
			t.Errorf("a probe was traced")
		}
	}
	spanNamed(t, rec, "GET") // the unmatched path: named by its method alone
}
