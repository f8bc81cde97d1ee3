package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/dropoff-dev/dropoff/src/telemetry"
)

// One command is one trace, from the HTTP request through the queue to the
// write transaction, and the projector's batch links to it:
//
//	PUT /v1/shipments/:id                 server    (command API)
//	└── send shipment.upsert              producer  (command API)
//	    └── process shipment.upsert       consumer  (worker)
//	        └── transact shipment.upsert            (worker)
//	project changes (a trace of its own, linked to the transaction)
//
// and the worker's log lines about the message carry its trace and span ids.
func TestOneCommandIsOneTrace(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { _ = tp.Shutdown(t.Context()) })
	s := startTracedSystem(t, telemetry.Tracing{Provider: tp, Propagator: propagation.TraceContext{}, Exporting: true}, "--log-level", "debug")

	op := s.command(t, "PUT", "tr-1", parcel)
	if got := s.wait(t, op); got["status"] != "Succeeded" {
		t.Fatalf("operation = %v, want Succeeded", got)
	}
	server := ended(t, rec, "PUT /v1/shipments/:id", nil)
	inTrace := func(sp sdktrace.ReadOnlySpan) bool {
		return sp.SpanContext().TraceID() == server.SpanContext().TraceID()
	}
	send := ended(t, rec, "send shipment.upsert", inTrace)
	process := ended(t, rec, "process shipment.upsert", inTrace)
	transact := ended(t, rec, "transact shipment.upsert", inTrace)
	for _, link := range []struct {
		child, parent sdktrace.ReadOnlySpan
		kind          trace.SpanKind
	}{
		{send, server, trace.SpanKindProducer},
		{process, send, trace.SpanKindConsumer},
		{transact, process, trace.SpanKindInternal},
	} {
		if link.child.Parent().SpanID() != link.parent.SpanContext().SpanID() || link.child.SpanKind() != link.kind {
			t.Errorf("%s: parent %s, kind %v; want %s (%s), %v", link.child.Name(), link.child.Parent().SpanID(),
				link.child.SpanKind(), link.parent.SpanContext().SpanID(), link.parent.Name(), link.kind)
		}
	}
	if server.Parent().IsValid() {
		t.Errorf("the request span has parent %v; the client sent none, so it starts the trace", server.Parent())
	}

	linksTo := func(sp sdktrace.ReadOnlySpan) bool {
		for _, l := range sp.Links() {
			if l.SpanContext.TraceID() == transact.SpanContext().TraceID() && l.SpanContext.SpanID() == transact.SpanContext().SpanID() {
				return true
			}
		}
		return false
	}
	project := ended(t, rec, "project changes", linksTo)
	if project.SpanContext().TraceID() == server.SpanContext().TraceID() || project.Parent().IsValid() {
		t.Errorf("project changes is in trace %s with parent %v; want a root of its own, linked",
			project.SpanContext().TraceID(), project.Parent())
	}

	line := logLine(t, s.logs.String(), "message completed")
	if line["trace_id"] != process.SpanContext().TraceID().String() || line["span_id"] != process.SpanContext().SpanID().String() {
		t.Errorf("log line %v: want trace_id %s and span_id %s (the processing span)", line,
			process.SpanContext().TraceID(), process.SpanContext().SpanID())
	}
}

// ended waits for the one ended span called name for which match holds (nil:
// any), and fails if there is none or more than one.
func ended(t *testing.T, rec *tracetest.SpanRecorder, name string, match func(sdktrace.ReadOnlySpan) bool) sdktrace.ReadOnlySpan {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var found []sdktrace.ReadOnlySpan
		for _, sp := range rec.Ended() {
			if sp.Name() == name && (match == nil || match(sp)) {
				found = append(found, sp)
			}
		}
		switch {
		case len(found) == 1:
			return found[0]
		case len(found) > 1:
			t.Fatalf("%d spans %q, want 1", len(found), name)
		case time.Now().After(deadline):
			var names []string
			for _, sp := range rec.Ended() {
				names = append(names, sp.Name())
			}
			t.Fatalf("no span %q within 10s; ended: %q", name, names)
		}
		time.Sleep(5 * time.Millisecond) // the span ends just after the effect the test saw: poll, with a deadline
	}
}

// logLine is the first JSON log line whose msg is msg.
func logLine(t *testing.T, logs, msg string) map[string]any {
	t.Helper()
	for l := range strings.SplitSeq(logs, "\n") {
		var e map[string]any
		if json.Unmarshal([]byte(l), &e) == nil && e["msg"] == msg {
			return e
		}
	}
	t.Fatalf("no log line %q in:\n%s", msg, logs)
	return nil
}
