package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"go.opentelemetry.io/otel"

	"github.com/dropoff-dev/dropoff/src/telemetry"
)

// tracingFlushTimeout bounds the flush of the spans still buffered when a
// process stops: a collector that does not answer must not hold the exit.
const tracingFlushTimeout = 5 * time.Second

// startTracing sets up the tracing of a role process from the standard
// OTEL_* variables (package telemetry; docs/observability.md): its spans are
// named for the service dropoff-<subcommand> unless OTEL_SERVICE_NAME says
// otherwise, and nothing is exported unless an OTLP endpoint is set.
func startTracing(ctx context.Context, cmd string, getenv func(string) string, logger *slog.Logger) (telemetry.Tracing, error) {
	t, err := telemetry.Setup(ctx, "dropoff-"+cmd, getenv)
	if err != nil {
		return telemetry.Tracing{}, err
	}
	if t.Exporting {
		// The SDK reports a failed export through its one global error
		// handler; this process has one logger, so that is where it goes.
		otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
			logger.Warn("tracing: export failed; spans are dropped", "error", err)
		}))
	}
	logger.Info("tracing", "exporter", t.Exporter, "service_name", t.ServiceName)
	return t, nil
}

// stopTracing flushes the spans still buffered, once the roles have stopped.
func stopTracing(t telemetry.Tracing, logger *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), tracingFlushTimeout)
	defer cancel()
	if err := t.Shutdown(ctx); err != nil {
		logger.Warn("tracing: spans lost at shutdown", "error", err)
	}
}

// printTracingHelp lists the OpenTelemetry variables the roles read.
func printTracingHelp(w io.Writer) {
	fmt.Fprint(w, `
tracing (OpenTelemetry's standard variables; docs/observability.md):
  OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT
                                   where spans are sent over OTLP; unset: nothing is exported
  OTEL_EXPORTER_OTLP_PROTOCOL      http/protobuf (default) or grpc
  OTEL_EXPORTER_OTLP_HEADERS       headers of every export, e.g. an API key
  OTEL_SERVICE_NAME                service.name of the spans (default dropoff-<subcommand>)
  OTEL_TRACES_EXPORTER             otlp or none; OTEL_SDK_DISABLED=true turns tracing off
  OTEL_TRACES_SAMPLER, OTEL_TRACES_SAMPLER_ARG, OTEL_RESOURCE_ATTRIBUTES
                                   as the OpenTelemetry specification has them
`)
}
