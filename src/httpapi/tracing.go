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

// traced serves next with a server span for every request but the probes
// (otelhttp): its parent is the caller's traceparent header when that is well
// formed, and a new trace starts when it is missing or malformed. Its context
// is the request's, so the send to the queue and every log line of the
// request are in the span. The metrics are Prometheus's (metrics.go), so
// otelhttp records none.
type traced struct {
	next    http.Handler // what is traced; a test reads its routes
	handler http.Handler // next within otelhttp
}

func newTraced(next http.Handler, tp trace.TracerProvider, prop propagation.TextMapPropagator) traced {
	return traced{next: next, handler: otelhttp.NewHandler(next, "http request",
		otelhttp.WithTracerProvider(tp),
		otelhttp.WithPropagators(prop),
		otelhttp.WithMeterProvider(metricnoop.NewMeterProvider()),
		// A probe every few seconds is not worth a trace.
		otelhttp.WithFilter(func(r *http.Request) bool { return !isProbe(r.URL.Path) }),
		// Named by method until the router knows the route (routeSpan).
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string { return spanMethod(r.Method) }))}
}

func (t traced) ServeHTTP(w http.ResponseWriter, r *http.Request) { t.handler.ServeHTTP(w, r) }

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
