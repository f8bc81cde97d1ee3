package worker

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/dropoff-dev/dropoff/src/bus"
	"github.com/dropoff-dev/dropoff/src/command"
)

// instrumentation names the tracer of the worker's spans.
const instrumentation = "github.com/dropoff-dev/dropoff/src/worker"

// startProcessing starts the consumer span of one message: a child of the
// trace context the message carries (the command API's send), or the root
// of a new trace when it carries none, or a malformed one, which the
// propagator ignores.
func (w *Worker) startProcessing(ctx context.Context, m *bus.ReceivedMessage) (context.Context, trace.Span) {
	name := "process"
	if _, known := command.SpecOf(command.Kind(m.Subject)); known {
		name += " " + m.Subject // a known kind; any other subject would make a new span name
	}
	return w.startFromMessage(ctx, m, name, trace.SpanKindConsumer)
}

// startFromMessage starts span name as a child of the trace context m
// carries (a root when it carries none, or a malformed one).
func (w *Worker) startFromMessage(ctx context.Context, m *bus.ReceivedMessage, name string, kind trace.SpanKind) (context.Context, trace.Span) {
	ctx = w.cfg.Propagator.Extract(ctx, propagation.MapCarrier(m.Properties))
	ctx, span := w.tracer.Start(ctx, name, trace.WithSpanKind(kind))
	if span.IsRecording() { // attributes cost nothing when nobody records them
		span.SetAttributes(semconv.MessagingOperationTypeProcess, semconv.MessagingOperationName("process"),
			semconv.MessagingMessageID(m.ID), semconv.MessagingServiceBusMessageDeliveryCount(m.DeliveryCount),
			attribute.String("dropoff.session.id", m.SessionID))
	}
	return ctx, span
}

// traceOutcome records on the message's span how it ended; a dead letter or
// a retry marks the span failed.
func traceOutcome(ctx context.Context, o outcome, cause error) {
	span := trace.SpanFromContext(ctx)
	if !span.IsRecording() {
		return
	}
	span.SetAttributes(attribute.String("dropoff.outcome", string(o)))
	if cause != nil {
		span.RecordError(cause)
		span.SetStatus(codes.Error, string(o))
	}
}

// traceparent is the W3C trace context of ctx's span, as the change feed
// keeps it ("" when ctx holds none).
func (w *Worker) traceparent(ctx context.Context) string {
	carrier := propagation.MapCarrier{}
	w.cfg.Propagator.Inject(ctx, carrier)
	return carrier.Get(command.PropTraceparent)
}

// endSpan ends span, marked failed with err when there is one.
func endSpan(span trace.Span, err error) {
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}
