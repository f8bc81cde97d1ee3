package httpapi

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/dropoff-dev/dropoff/src/bus"
)

// BenchmarkCommandPUT is the command API's own cost for one PUT: routing,
// reading and checking the body, encoding the message, the metrics and the
// 202, with a queue that stores nothing.
//
//	go test -run '^$' -bench BenchmarkCommandPUT ./src/httpapi/
func BenchmarkCommandPUT(b *testing.B) {
	benchmarkPUT(b, benchHandler(b, Config{}))
}

func benchmarkPUT(b *testing.B, h http.Handler) {
	b.ReportAllocs()
	for b.Loop() {
		r := httptest.NewRequest("PUT", "/v1/shipments/bench-1", strings.NewReader(validPut))
		r.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusAccepted {
			b.Fatalf("status %d, want 202", w.Code)
		}
	}
}

// benchHandler is the API cfg describes, sending to a queue that drops
// every message.
func benchHandler(b *testing.B, cfg Config) http.Handler {
	b.Helper()
	cfg.Sender, cfg.Registry = dropSender{}, prometheus.NewRegistry()
	h, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	return h
}

type dropSender struct{}

func (dropSender) Send(context.Context, ...bus.Message) error { return nil }

// BenchmarkCommandPUTUnsampled is BenchmarkCommandPUT traced as a process is
// when no OTLP endpoint is set (package telemetry): a request span and a send
// span with ids, never sampled, and no HTTP detail. BenchmarkCommandPUTDetail
// is the same through otelhttp, which is what that saves, and
// BenchmarkCommandPUTRecorded records both spans with the detail, as with an
// exporter (the export itself happens off the request, in batches).
func BenchmarkCommandPUTUnsampled(b *testing.B) {
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.NeverSample()))
	benchmarkPUT(b, benchHandler(b, Config{TracerProvider: tp}))
}

func BenchmarkCommandPUTDetail(b *testing.B) {
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.NeverSample()))
	benchmarkPUT(b, benchHandler(b, Config{TracerProvider: tp, RequestDetail: true}))
}

func BenchmarkCommandPUTRecorded(b *testing.B) {
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(discardSpans{}))
	benchmarkPUT(b, benchHandler(b, Config{TracerProvider: tp, RequestDetail: true}))
}

// discardSpans is a span processor that drops what it is given.
type discardSpans struct{}

func (discardSpans) OnStart(context.Context, sdktrace.ReadWriteSpan) {}
func (discardSpans) OnEnd(sdktrace.ReadOnlySpan)                     {}
func (discardSpans) Shutdown(context.Context) error                  { return nil }
func (discardSpans) ForceFlush(context.Context) error                { return nil }
