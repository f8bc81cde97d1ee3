package httpapi

import (
	"context"
	"fmt"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/dropoff-dev/dropoff/src/command"
	"github.com/dropoff-dev/dropoff/src/operation"
)

// CommandSink is where the command routes put each command they have checked
// (its operation id and acceptance time set). Accept returns once the command
// is safe: with its operation NotStarted when it was stored to be applied
// later, and the client gets 202 and the operation to watch; or with the
// operation as it ended when it was applied at once, and the client gets 200
// and the result. An error wrapped by Unavailable is a dependency that
// failed (503 with Retry-After); any other is a bug (500). Either way nothing
// was accepted.
type CommandSink interface {
	Accept(ctx context.Context, cmd command.Command) (operation.Operation, error)
}

// Unavailable marks err as a failure of the dependency named by what (a
// queue, a database): not the client's fault, and likely to pass, so the
// answer is 503 with Retry-After.
func Unavailable(what string, err error) error { return unavailable(what, err) }

// queueSink is Dropoff's command path: the command goes on the queue, for
// the worker to apply; Accept returns once the queue has stored it.
type queueSink struct {
	sender     CommandSender
	ttl        time.Duration
	tracer     trace.Tracer
	propagator propagation.TextMapPropagator
}

// Accept sends cmd within a producer span, a child of the request's, whose
// trace context the message carries (traceparent, and Diagnostic-Id for the
// Service Bus tools): the worker's span is the send's child.
func (s queueSink) Accept(ctx context.Context, cmd command.Command) (_ operation.Operation, err error) {
	ctx, span := s.tracer.Start(ctx, "send "+string(cmd.Kind), trace.WithSpanKind(trace.SpanKindProducer))
	defer func() { endSpan(span, err) }()
	if span.IsRecording() { // attributes cost nothing when nobody records them
		span.SetAttributes(semconv.MessagingOperationTypeSend, semconv.MessagingOperationName("send"),
			semconv.MessagingMessageID(cmd.OperationID), attribute.String("dropoff.shipment.id", cmd.ShipmentID))
	}
	// The propagator writes W3C's header names, which are the message's
	// property names too (command.Message adds Diagnostic-Id).
	carrier := propagation.MapCarrier{}
	s.propagator.Inject(ctx, carrier)
	cmd.Traceparent, cmd.Tracestate = carrier.Get(command.PropTraceparent), carrier.Get(command.PropTracestate)
	msg, err := cmd.Message()
	if err != nil {
		return operation.Operation{}, fmt.Errorf("encode command: %w", err)
	}
	// The message may wait on the queue no longer than the operation TTL, so
	// that an unrecorded operation older than that is surely gone (operations.go).
	msg.TimeToLive = s.ttl
	if err := s.sender.Send(ctx, msg); err != nil {
		return operation.Operation{}, unavailable("queue", fmt.Errorf("send %s %s: %w", cmd.Kind, cmd.OperationID, err))
	}
	return operation.Operation{ID: cmd.OperationID, Kind: string(cmd.Kind), ShipmentID: cmd.ShipmentID,
		Status: operation.NotStarted, CreatedAt: cmd.AcceptedAt, LastUpdatedAt: cmd.AcceptedAt}, nil
}

// endSpan ends span, marked failed with err when there is one.
func endSpan(span trace.Span, err error) {
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}

// operationJSON is op as the API shows it.
func operationJSON(op operation.Operation) Operation {
	return Operation{
		ID: op.ID, Status: op.Status, Kind: op.Kind, ResourceLocation: op.ResourceLocation(),
		ResourceVersion: op.ResourceVersion, Error: op.Error,
		CreatedAt: op.CreatedAt.UTC(), LastUpdatedAt: op.LastUpdatedAt.UTC(),
	}
}
