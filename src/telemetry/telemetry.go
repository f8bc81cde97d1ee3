package telemetry

import (
	"cmp"
	"context"
	"fmt"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// Tracing is what a process traces with: the tracer provider its roles
// start spans on, the propagator that carries a trace across HTTP and the bus,
// and how to stop.
type Tracing struct {
	Provider   trace.TracerProvider
	Propagator propagation.TextMapPropagator
	// Exporting says spans are sent somewhere; Exporter says where, for the
	// start-up log: "none", or "otlp (http/protobuf)" or "otlp (grpc)".
	Exporting bool
	Exporter  string
	// ServiceName is the service.name spans carry.
	ServiceName string

	shutdown func(context.Context) error
}

// Shutdown sends the spans still buffered and stops the exporter; ctx bounds
// how long it may take. Call it once the roles have stopped.
func (t Tracing) Shutdown(ctx context.Context) error {
	if t.shutdown == nil {
		return nil
	}
	if err := t.shutdown(ctx); err != nil {
		return fmt.Errorf("telemetry: shut down: %w", err)
	}
	return nil
}

// Setup builds the tracing of a process named defaultName (OTEL_SERVICE_NAME
// overrides it) from the standard variables, read through getenv:
//
//   - OTEL_SDK_DISABLED=true, or OTEL_TRACES_EXPORTER=none: nothing exported.
//   - OTEL_TRACES_EXPORTER=otlp, or unset with OTEL_EXPORTER_OTLP_ENDPOINT or
//     OTEL_EXPORTER_OTLP_TRACES_ENDPOINT set: spans go over OTLP, with
//     OTEL_EXPORTER_OTLP_(TRACES_)PROTOCOL http/protobuf (the default) or grpc.
//   - neither set: nothing exported.
//   - any other exporter or protocol: an error naming the variable.
//
// The exporter reads its own variables (endpoint, headers, timeout,
// certificates) and the SDK its own (OTEL_TRACES_SAMPLER, OTEL_BSP_*,
// OTEL_RESOURCE_ATTRIBUTES) from the process environment, as the
// OpenTelemetry specification has them.
func Setup(ctx context.Context, defaultName string, getenv func(string) string) (Tracing, error) {
	t := Tracing{Propagator: propagation.TraceContext{}, Exporter: "none",
		ServiceName: cmp.Or(getenv("OTEL_SERVICE_NAME"), defaultName)}
	exp, protocol, err := newExporter(ctx, getenv)
	if err != nil {
		return Tracing{}, err
	}
	res, err := resource.New(ctx, resource.WithFromEnv(), resource.WithTelemetrySDK(),
		resource.WithAttributes(attribute.String("service.name", t.ServiceName)))
	if err != nil {
		return Tracing{}, fmt.Errorf("telemetry: resource: %w", err)
	}
	opts := []sdktrace.TracerProviderOption{sdktrace.WithResource(res)}
	if exp == nil {
		// Nothing to send spans to: never sample, so a span costs its ids
		// and nothing else. The ids still travel, so logs and messages of
		// one command share a trace id.
		opts = append(opts, sdktrace.WithSampler(sdktrace.NeverSample()))
	} else {
		t.Exporting, t.Exporter = true, "otlp ("+protocol+")"
		opts = append(opts, sdktrace.WithBatcher(exp))
	}
	tp := sdktrace.NewTracerProvider(opts...)
	t.Provider, t.shutdown = tp, tp.Shutdown
	return t, nil
}

// newExporter is the OTLP exporter the variables ask for, or nil for none.
func newExporter(ctx context.Context, getenv func(string) string) (sdktrace.SpanExporter, string, error) {
	if strings.EqualFold(getenv("OTEL_SDK_DISABLED"), "true") {
		return nil, "", nil
	}
	switch kind := strings.TrimSpace(getenv("OTEL_TRACES_EXPORTER")); kind {
	case "otlp":
	case "":
		if getenv("OTEL_EXPORTER_OTLP_ENDPOINT") == "" && getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") == "" {
			return nil, "", nil
		}
	case "none":
		return nil, "", nil
	default:
		return nil, "", fmt.Errorf("telemetry: OTEL_TRACES_EXPORTER=%q: want otlp or none", kind)
	}
	protocol := cmp.Or(getenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"), getenv("OTEL_EXPORTER_OTLP_PROTOCOL"), "http/protobuf")
	var (
		exp sdktrace.SpanExporter
		err error
	)
	switch protocol {
	case "http/protobuf":
		exp, err = otlptracehttp.New(ctx)
	case "grpc":
		// The Container Apps managed OpenTelemetry agent speaks gRPC only.
		exp, err = otlptracegrpc.New(ctx)
	default:
		return nil, "", fmt.Errorf("telemetry: OTLP protocol %q: want http/protobuf or grpc", protocol)
	}
	if err != nil {
		return nil, "", fmt.Errorf("telemetry: OTLP exporter (%s): %w", protocol, err)
	}
	return exp, protocol, nil
}
