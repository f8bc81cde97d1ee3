package telemetry

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"

	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
)

// env is a getenv over a map.
func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

// With no endpoint nothing is exported, yet spans have ids: a command's
// trace id still travels and shows in the logs.
func TestSetupWithoutEndpointExportsNothing(t *testing.T) {
	for _, vars := range []map[string]string{
		{},
		{"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1"},
		{"OTEL_SDK_DISABLED": "true", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1"},
	} {
		tr, err := Setup(t.Context(), "dropoff-worker", env(vars))
		if err != nil {
			t.Fatalf("%v: %v", vars, err)
		}
		if tr.Exporter != "none" || tr.ServiceName != "dropoff-worker" {
			t.Errorf("%v: exporter %q, service %q; want none, dropoff-worker", vars, tr.Exporter, tr.ServiceName)
		}
		_, span := tr.Provider.Tracer("test").Start(t.Context(), "x")
		if sc := span.SpanContext(); !sc.IsValid() || sc.IsSampled() || span.IsRecording() {
			t.Errorf("%v: span valid %v, sampled %v, recording %v; want valid ids, neither sampled nor recording",
				vars, sc.IsValid(), sc.IsSampled(), span.IsRecording())
		}
		span.End()
		if err := tr.Shutdown(t.Context()); err != nil {
			t.Errorf("%v: Shutdown: %v", vars, err)
		}
	}
}

func TestSetupRefusesUnknownSettings(t *testing.T) {
	for _, vars := range []map[string]string{
		{"OTEL_TRACES_EXPORTER": "zipkin"},
		{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"},
	} {
		if _, err := Setup(t.Context(), "dropoff", env(vars)); err == nil {
			t.Errorf("%v: Setup succeeded, want an error naming the setting", vars)
		}
	}
}

// With an endpoint, spans go there over OTLP/HTTP, named for the service,
// and Shutdown sends what is still buffered.
func TestSetupExportsOverHTTPAndShutdownFlushes(t *testing.T) {
	got := make(chan *collectortrace.ExportTraceServiceRequest, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		req := &collectortrace.ExportTraceServiceRequest{}
		if r.URL.Path != "/v1/traces" || proto.Unmarshal(body, req) != nil {
			http.Error(w, "not an OTLP trace export", http.StatusBadRequest)
			return
		}
		got <- req
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	defer srv.Close()
	// The exporter reads its endpoint from the process environment itself.
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", srv.URL)
	t.Setenv("OTEL_SERVICE_NAME", "dropoff-test")
	exportOne(t, os.Getenv, "otlp (http/protobuf)")
	checkExport(t, <-got)
}

// OTEL_EXPORTER_OTLP_PROTOCOL=grpc, as the Container Apps managed agent
// sets it, sends over gRPC.
func TestSetupExportsOverGRPC(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	col := &collector{got: make(chan *collectortrace.ExportTraceServiceRequest, 10)}
	srv := grpc.NewServer()
	collectortrace.RegisterTraceServiceServer(srv, col)
	go func() { _ = srv.Serve(ln) }()
	defer srv.Stop()
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://"+ln.Addr().String())
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
	t.Setenv("OTEL_SERVICE_NAME", "dropoff-test")
	exportOne(t, os.Getenv, "otlp (grpc)")
	checkExport(t, <-col.got)
}

// exportOne sets up tracing, ends one span and shuts down, which must flush it.
func exportOne(t *testing.T, getenv func(string) string, wantExporter string) {
	t.Helper()
	tr, err := Setup(t.Context(), "dropoff-default", getenv)
	if err != nil {
		t.Fatal(err)
	}
	if tr.Exporter != wantExporter {
		t.Errorf("exporter %q, want %q", tr.Exporter, wantExporter)
	}
	_, span := tr.Provider.Tracer("test").Start(context.Background(), "the span")
	span.End()
	if err := tr.Shutdown(t.Context()); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
}

// checkExport finds the span and its service name in an export.
func checkExport(t *testing.T, req *collectortrace.ExportTraceServiceRequest) {
	t.Helper()
	var service, span string
	for _, rs := range req.GetResourceSpans() {
		for _, a := range rs.GetResource().GetAttributes() {
			if a.GetKey() == "service.name" {
				service = a.GetValue().GetStringValue()
			}
		}
		for _, ss := range rs.GetScopeSpans() {
			for _, s := range ss.GetSpans() {
				span = s.GetName()
			}
		}
	}
	if service != "dropoff-test" || span != "the span" {
		t.Errorf("exported service %q span %q; want dropoff-test (OTEL_SERVICE_NAME), the span", service, span)
	}
}

// collector is an OTLP/gRPC trace receiver.
type collector struct {
	collectortrace.UnimplementedTraceServiceServer
	mu  sync.Mutex
	got chan *collectortrace.ExportTraceServiceRequest
}

func (c *collector) Export(_ context.Context, req *collectortrace.ExportTraceServiceRequest) (*collectortrace.ExportTraceServiceResponse, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.got <- req
	return &collectortrace.ExportTraceServiceResponse{}, nil
}
