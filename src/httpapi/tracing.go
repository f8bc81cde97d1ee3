package httpapi

import (
	"net/http"

	"github.com/gin-gonic/gin"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// instrumentation names the tracer of this package's spans.
const instrumentation = "github.com/dropoff-dev/dropoff/src/httpapi"

// traced serves next with a server span for every request but the probes.
// Its parent is the caller's traceparent header when that is well formed, and
// a new trace starts when it is missing or malformed. Its context is the
// request's, so the send to the queue and every log line of the request are
// in the span.
type traced struct {
	next    http.Handler // what is traced; a test reads its routes
	handler http.Handler // next within its span
}

// newTraced traces next as cfg says: with otelhttp, whose spans carry the
// HTTP semantic conventions' attributes, when cfg.RequestDetail; otherwise
// with the span alone. otelhttp builds its attributes and wraps the response
// for every request, sampled or not, which is about 4 µs a request for
// nothing when no span is exported (docs/performance.md). The metrics are
// Prometheus's (metrics.go), so otelhttp records none.
func newTraced(next http.Handler, cfg Config) traced {
	if !cfg.RequestDetail {
		return traced{next: next, handler: spanOnly(next, cfg.TracerProvider.Tracer(instrumentation), cfg.Propagator)}
	}
	return traced{next: next, handler: otelhttp.NewHandler(next, "http request",
		otelhttp.WithTracerProvider(cfg.TracerProvider),
		otelhttp.WithPropagators(cfg.Propagator),
		otelhttp.WithMeterProvider(metricnoop.NewMeterProvider()),
		// A probe every few seconds is not worth a trace.
		otelhttp.WithFilter(func(r *http.Request) bool { return !isProbe(r.URL.Path) }),
		// Named by method until the router knows the route (routeSpan).
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string { return spanMethod(r.Method) }))}
}

func (t traced) ServeHTTP(w http.ResponseWriter, r *http.Request) { t.handler.ServeHTTP(w, r) }

// spanOnly gives every request but the probes its server span and nothing
// more: the trace context, without HTTP attributes.
func spanOnly(next http.Handler, tracer trace.Tracer, prop propagation.TextMapPropagator) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isProbe(r.URL.Path) {
			next.ServeHTTP(w, r)
			return
		}
		ctx := prop.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
		ctx, span := tracer.Start(ctx, spanMethod(r.Method), trace.WithSpanKind(trace.SpanKindServer))
		defer span.End()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// routeSpan names the request's span by its route template, as the
// semantic conventions ask ("PUT /v1/shipments/:id", never the raw path, whose
// ids would make every span name unique). It runs first in the router, once
// Gin has matched the route.
func routeSpan(c *gin.Context) {
	if span := trace.SpanFromContext(c.Request.Context()); span.IsRecording() {
		if route := c.FullPath(); route != "" {
			span.SetName(spanMethod(c.Request.Method) + " " + route)
			span.SetAttributes(semconv.HTTPRoute(route))
		}
	}
	c.Next()
}

// spanMethod is the method as a span name starts: a known one, else HTTP
// (a made-up method must not make a new span name).
func spanMethod(m string) string {
	if knownMethods[m] {
		return m
	}
	return "HTTP"
}
