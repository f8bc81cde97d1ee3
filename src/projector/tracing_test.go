package projector

import (
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// A batch's span is a root of its own, linked to the trace context of each
// entry that has a valid one (an entry with none or a malformed one has no
// link, and is applied all the same); an idle projector makes no spans.
func TestApplySpanLinksToTheCommands(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	cfg := testConfig()
	cfg.TracerProvider = sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	f, p := &fakeFeed{}, &fakeProjection{}
	f.add(3, 1)
	traced := "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	f.mu.Lock()
	f.changes[0].Traceparent = traced
	f.changes[1].Traceparent = "00-not-a-trace-context"
	f.mu.Unlock()
	run(t, newProjector(t, f, p, cfg))
	waitFor(t, "the batch's span and a few idle polls after it", func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		return len(rec.Ended()) > 0 && f.reads >= 5
	})
	spans := rec.Ended()
	if len(spans) != 1 || spans[0].Name() != "project changes" || spans[0].Parent().IsValid() {
		t.Fatalf("spans %v, want one root span project changes", spans)
	}
	if got := p.state().applied; len(got) != 3 {
		t.Errorf("applied %v, want all 3 entries", got)
	}
	links := spans[0].Links()
	if len(links) != 1 || links[0].SpanContext.TraceID().String() != "4bf92f3577b34da6a3ce929d0e0e4736" ||
		links[0].SpanContext.SpanID().String() != "00f067aa0ba902b7" {
		t.Errorf("links %+v, want one, to the traced entry's span", links)
	}
}
