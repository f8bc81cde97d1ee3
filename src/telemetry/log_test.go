package telemetry

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// A line logged within a span carries its ids, through With too; one
// logged without carries none.
func TestLogHandlerAddsTraceIDs(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(LogHandler(slog.NewJSONHandler(&buf, nil))).With("role", "worker")
	ctx, span := sdktrace.NewTracerProvider().Tracer("test").Start(t.Context(), "x")
	defer span.End()
	line := func(log func()) map[string]any {
		t.Helper()
		buf.Reset()
		log()
		var e map[string]any
		if err := json.Unmarshal(buf.Bytes(), &e); err != nil {
			t.Fatal(err)
		}
		return e
	}
	e := line(func() { logger.InfoContext(ctx, "in a span") })
	if e["trace_id"] != span.SpanContext().TraceID().String() || e["span_id"] != span.SpanContext().SpanID().String() || e["role"] != "worker" {
		t.Errorf("logged %v, want trace_id %s, span_id %s and role", e, span.SpanContext().TraceID(), span.SpanContext().SpanID())
	}
	e = line(func() { logger.InfoContext(t.Context(), "no span") })
	if _, ok := e["trace_id"]; ok {
		t.Errorf("logged %v without a span, want no trace_id", e)
	}
}
