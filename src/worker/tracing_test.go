package worker

import (
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/dropoff-dev/dropoff/src/bus"
	"github.com/dropoff-dev/dropoff/src/command"
	"github.com/dropoff-dev/dropoff/src/store"
)

// A message's processing span is the child of the trace context it carries,
// or the root of a new trace when it carries none or a malformed one, which
// is no reason to refuse it; the transaction is the processing span's child,
// and the feed entry keeps the transaction's trace context.
func TestTraceOfAMessage(t *testing.T) {
	const sender = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	for _, tc := range []struct {
		name, traceparent string
		child             bool
	}{
		{"carried", sender, true},
		{"none", "", false},
		{"malformed", "00-4bf92f3577b34da6a3ce929d0e0e4736-not-a-span-id-01", false},
		{"all-zero trace id", "00-00000000000000000000000000000000-00f067aa0ba902b7-01", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := tracetest.NewSpanRecorder()
			cfg := testConfig()
			cfg.TracerProvider = sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
			b, s := newFakeBus(10), newFakeStore()
			msg := messages(t, upsert(t, "tr-1", testFields))[0]
			if tc.traceparent != "" {
				msg.Properties[command.PropTraceparent] = tc.traceparent
			}
			b.send(msg)
			start(t, b, s, cfg)
			// The processing span ends just after the message is completed.
			waitFor(t, "the message to be completed and its span to end", func() bool {
				return len(b.completions()) == 1 && len(rec.Ended()) == 2
			})

			process, transact := oneSpan(t, rec, "process shipment.upsert"), oneSpan(t, rec, "transact shipment.upsert")
			if tc.child {
				if got := process.Parent(); got.SpanID().String() != "00f067aa0ba902b7" || got.TraceID().String() != "4bf92f3577b34da6a3ce929d0e0e4736" {
					t.Errorf("processing span's parent %s/%s, want the sender's span", got.TraceID(), got.SpanID())
				}
			} else if process.Parent().IsValid() {
				t.Errorf("processing span's parent %v, want none (a new trace)", process.Parent())
			}
			if process.SpanKind() != trace.SpanKindConsumer {
				t.Errorf("processing span kind %v, want consumer", process.SpanKind())
			}
			if transact.Parent().SpanID() != process.SpanContext().SpanID() {
				t.Errorf("transaction span's parent %s, want the processing span %s", transact.Parent().SpanID(), process.SpanContext().SpanID())
			}
			want := "00-" + transact.SpanContext().TraceID().String() + "-" + transact.SpanContext().SpanID().String() + "-01"
			if got := feedOf(s)[0].Traceparent; got != want {
				t.Errorf("feed entry traceparent %q, want %q (the transaction's)", got, want)
			}
		})
	}
}

// oneSpan is the one ended span called name.
func oneSpan(t *testing.T, rec *tracetest.SpanRecorder, name string) sdktrace.ReadOnlySpan {
	t.Helper()
	var found []sdktrace.ReadOnlySpan
	for _, sp := range rec.Ended() {
		if sp.Name() == name {
			found = append(found, sp)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d spans %q ended, want 1", len(found), name)
	}
	return found[0]
}

func feedOf(s *fakeStore) []store.Change {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]store.Change(nil), s.feed...)
}

// BenchmarkMessageTracing is what tracing adds to one message: extract the
// context it carries, the processing span, the transaction span and the
// traceparent the feed keeps. noop is a worker given no TracerProvider;
// unsampled is a process with no OTLP endpoint set (package telemetry);
// recorded is one that exports (the export itself runs in the background).
//
//	go test -run '^$' -bench BenchmarkMessageTracing ./src/worker/
func BenchmarkMessageTracing(b *testing.B) {
	for _, tc := range []struct {
		name string
		tp   trace.TracerProvider
	}{
		{"noop", nil},
		{"unsampled", sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.NeverSample()))},
		{"recorded", sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(tracetest.NewSpanRecorder()))},
	} {
		b.Run(tc.name, func(b *testing.B) {
			cfg := testConfig()
			cfg.TracerProvider = tc.tp
			w, err := New(newFakeBus(10), newFakeStore(), cfg)
			if err != nil {
				b.Fatal(err)
			}
			m := &bus.ReceivedMessage{Message: bus.Message{ID: "op-1", SessionID: "s-1", Subject: string(command.KindUpsert),
				Properties: map[string]string{command.PropTraceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}}}
			b.ReportAllocs()
			for b.Loop() {
				ctx, span := w.startProcessing(b.Context(), m)
				tctx, tspan := w.tracer.Start(ctx, "transact shipment.upsert")
				if w.traceparent(tctx) == "" {
					b.Fatal("no traceparent")
				}
				tspan.End()
				span.End()
			}
		})
	}
}

// A dead letter's recorded outcome is in its command's trace: the recorder's
// span is the child of the context the message carries, and the feed entry
// keeps the recorder's.
func TestTraceOfARecordedDeadLetter(t *testing.T) {
	const sender = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	rec := tracetest.NewSpanRecorder()
	cfg := testConfig()
	cfg.TracerProvider = sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	b, s := newFakeBus(10), newFakeStore()
	cfg.DeadLetters = b
	msg := messages(t, upsert(t, "dl-1", testFields))[0]
	msg.Properties[command.PropTraceparent] = sender
	b.send(msg)
	b.mu.Lock()
	b.deadLetter(b.queues["dl-1"][0], "Manual", "moved by the test")
	b.mu.Unlock()
	w, err := New(b, s, cfg)
	if err != nil {
		t.Fatal(err)
	}
	sc := &deadLetterScanner{w: w, handled: map[int64]struct{}{}} // the recorder's scan, run by the test
	if err := sc.scan(t.Context(), true); err != nil {
		t.Fatalf("scan: %v", err)
	}
	span := oneSpan(t, rec, "record dead letter")
	if got := span.Parent(); got.SpanID().String() != "00f067aa0ba902b7" || got.TraceID().String() != "4bf92f3577b34da6a3ce929d0e0e4736" {
		t.Errorf("recorder span's parent %s/%s, want the sender's span", got.TraceID(), got.SpanID())
	}
	want := "00-4bf92f3577b34da6a3ce929d0e0e4736-" + span.SpanContext().SpanID().String() + "-01"
	if feed := feedOf(s); len(feed) != 1 || feed[0].Traceparent != want {
		t.Errorf("feed %+v, want one entry with traceparent %q", feed, want)
	}
}
