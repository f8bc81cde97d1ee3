package sqlitebus_test

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/dropoff-dev/dropoff/src/bus/sqlitebus"
)

// A span context injected into a message's properties is the one extracted
// from the received message: the embedded queue stores the properties as
// they were sent.
func TestTraceContextRoundTrip(t *testing.T) {
	t.Parallel()
	want := sampleSpanContext(t)
	m := msg("s-trace", "m-trace", "{}")
	m.Properties = map[string]string{}
	prop := propagation.TraceContext{}
	prop.Inject(trace.ContextWithSpanContext(context.Background(), want), propagation.MapCarrier(m.Properties))

	q := openQueue(t, tempPath(t), sqlitebus.Config{})
	mustSend(t, q, m)
	s := accept(t, q)
	got := trace.SpanContextFromContext(prop.Extract(context.Background(), propagation.MapCarrier(receive(t, s, 1)[0].Properties)))
	if !got.Equal(want.WithRemote(true)) {
		t.Errorf("extracted %+v, want %+v", got, want)
	}
}

func sampleSpanContext(t *testing.T) trace.SpanContext {
	t.Helper()
	tid, _ := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
	sid, _ := trace.SpanIDFromHex("00f067aa0ba902b7")
	ts, err := trace.ParseTraceState("congo=t61rcWkgMzE,rojo=00f067aa0ba902b7")
	if err != nil {
		t.Fatal(err)
	}
	return trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled, TraceState: ts})
}
