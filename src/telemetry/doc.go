// Package telemetry sets up tracing with OpenTelemetry for one Dropoff
// process, from the standard OTEL_* environment variables, and carries trace
// ids into the logs.
//
// Setup builds the process's tracer provider. With no OTLP endpoint set (and
// OTEL_TRACES_EXPORTER not otlp) nothing is exported: spans are never sampled,
// so starting one costs an id and no recording, yet every request and every
// command still gets a trace id that travels on the bus and shows in the logs
// (trace_id, span_id). With an endpoint, spans are batched and sent over OTLP
// (HTTP by default, gRPC with OTEL_EXPORTER_OTLP_PROTOCOL=grpc), and Shutdown
// flushes what is left.
//
// The span names and the trace of one command are in docs/observability.md.
// Only package main imports telemetry: the roles take a trace.TracerProvider
// and a propagation.TextMapPropagator in their configuration, never this
// package.
package telemetry
