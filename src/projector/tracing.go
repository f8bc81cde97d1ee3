package projector

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/dropoff-dev/dropoff/src/store"
)

// instrumentation names the tracer of the projector's spans.
const instrumentation = "github.com/dropoff-dev/dropoff/src/projector"

// startApply starts the span of one batch's projection. A batch holds the
// entries of many commands, each its own trace, so the span is the root of a
// trace of its own, linked to the trace context each entry was written with
// (the worker's transaction): from a command's trace one can find the batch
// that made it readable, and back. An entry without one, or with a malformed
// one, has no link.
func (p *Projector) startApply(ctx context.Context, changes []store.Change) (context.Context, trace.Span) {
	ctx, span := p.tracer.Start(ctx, "project changes", trace.WithNewRoot())
	if !span.IsRecording() { // links cost a parse each: only for a span that keeps them
		return ctx, span
	}
	first, last := changes[0], changes[len(changes)-1]
	span.SetAttributes(attribute.Int64("dropoff.feed.from", first.Position), attribute.Int64("dropoff.feed.to", last.Position),
		attribute.Int("dropoff.feed.entries", len(changes)))
	for _, c := range changes {
		if c.Traceparent == "" {
			continue
		}
		sc := trace.SpanContextFromContext(p.cfg.Propagator.Extract(context.Background(),
			propagation.MapCarrier{"traceparent": c.Traceparent}))
		if sc.IsValid() {
			span.AddLink(trace.Link{SpanContext: sc, Attributes: []attribute.KeyValue{
				attribute.String("dropoff.operation.id", c.Operation.ID)}})
		}
	}
	return ctx, span
}

// endSpan ends span, marked failed with err when there is one.
func endSpan(span trace.Span, err error) {
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}
