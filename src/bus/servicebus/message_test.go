package servicebus

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus"
	"github.com/google/go-cmp/cmp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/dropoff-dev/dropoff/src/bus"
)

func ptr[T any](v T) *T { return &v }

func TestToSDK(t *testing.T) {
	m := bus.Message{
		ID:          "0190f5b8-0000-7000-8000-000000000001",
		SessionID:   "ship-1",
		Subject:     "shipment.upsert",
		ContentType: "application/json",
		Properties: map[string]string{
			"schemaVersion": "1",
			"traceparent":   "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
			"Diagnostic-Id": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
		},
		Body:       []byte(`{"recipient":"A"}`),
		TimeToLive: time.Hour,
	}
	want := &azservicebus.Message{
		MessageID:   ptr(m.ID),
		SessionID:   ptr("ship-1"),
		Subject:     ptr("shipment.upsert"),
		ContentType: ptr("application/json"),
		ApplicationProperties: map[string]any{
			"schemaVersion": "1",
			"traceparent":   "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
			"Diagnostic-Id": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
		},
		Body:       []byte(`{"recipient":"A"}`),
		TimeToLive: ptr(time.Hour),
	}
	if diff := cmp.Diff(want, toSDK(m)); diff != "" {
		t.Errorf("toSDK (-want +got):\n%s", diff)
	}
}

func TestToSDKLeavesUnsetFieldsNil(t *testing.T) {
	got := toSDK(bus.Message{ID: "a", SessionID: "s"})
	if got.Subject != nil || got.ContentType != nil || got.ApplicationProperties != nil || got.TimeToLive != nil {
		t.Errorf("got %+v, want Subject, ContentType, ApplicationProperties and TimeToLive nil", got)
	}
}

func TestToSDKCapsTimeToLive(t *testing.T) {
	got := toSDK(bus.Message{ID: "a", SessionID: "s", TimeToLive: 365 * 24 * time.Hour})
	if *got.TimeToLive != maxTTL {
		t.Errorf("got TimeToLive %v, want %v (the AMQP header's limit)", *got.TimeToLive, maxTTL)
	}
}

func TestFromSDK(t *testing.T) {
	enq := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	rm := &azservicebus.ReceivedMessage{
		MessageID:   "op-1",
		SessionID:   ptr("ship-1"),
		Subject:     ptr("shipment.patch"),
		ContentType: ptr("application/json"),
		ApplicationProperties: map[string]any{
			"schemaVersion":              "1",
			"ifMatch":                    "3",
			"count":                      int64(7), // from another sender
			"DeadLetterReason":           "MaxDeliveryCountExceeded",
			"DeadLetterErrorDescription": "delivered 10 times",
		},
		Body:                       []byte(`{}`),
		SequenceNumber:             ptr(int64(42)),
		DeliveryCount:              3,
		EnqueuedTime:               &enq,
		TimeToLive:                 ptr(30 * time.Minute),
		DeadLetterReason:           ptr("MaxDeliveryCountExceeded"),
		DeadLetterErrorDescription: ptr("delivered 10 times"),
	}
	want := &bus.ReceivedMessage{
		Message: bus.Message{
			ID:          "op-1",
			SessionID:   "ship-1",
			Subject:     "shipment.patch",
			ContentType: "application/json",
			Properties:  map[string]string{"schemaVersion": "1", "ifMatch": "3", "count": "7"},
			Body:        []byte(`{}`),
			TimeToLive:  30 * time.Minute,
		},
		SequenceNumber:        42,
		DeliveryCount:         3,
		EnqueuedAt:            enq,
		ExpiresAt:             enq.Add(30 * time.Minute),
		DeadLetterReason:      "MaxDeliveryCountExceeded",
		DeadLetterDescription: "delivered 10 times",
	}
	if diff := cmp.Diff(want, fromSDK(rm, 14*24*time.Hour)); diff != "" {
		t.Errorf("fromSDK (-want +got):\n%s", diff)
	}
}

func TestFromSDKCapsTimeToLiveAtTheQueueDefault(t *testing.T) {
	enq := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	rm := &azservicebus.ReceivedMessage{EnqueuedTime: &enq, TimeToLive: ptr(48 * time.Hour), SequenceNumber: ptr(int64(1))}
	got := fromSDK(rm, 24*time.Hour)
	if got.TimeToLive != 24*time.Hour || !got.ExpiresAt.Equal(enq.Add(24*time.Hour)) {
		t.Errorf("got TimeToLive %v, ExpiresAt %v; want 24h, %v", got.TimeToLive, got.ExpiresAt, enq.Add(24*time.Hour))
	}
}

func TestRoundTrip(t *testing.T) {
	m := bus.Message{
		ID: "op-2", SessionID: "ship-2", Subject: "shipment.delete", ContentType: "application/json",
		Properties: map[string]string{"schemaVersion": "1", "operationId": "op-2"},
		Body:       []byte(`{}`), TimeToLive: 10 * time.Minute,
	}
	sent := toSDK(m)
	// What the SDK hands a receiver for it (ReceivedMessage.Message is the
	// SDK's own inverse, used here the other way round).
	rm := &azservicebus.ReceivedMessage{
		MessageID: *sent.MessageID, SessionID: sent.SessionID, Subject: sent.Subject,
		ContentType: sent.ContentType, ApplicationProperties: sent.ApplicationProperties,
		Body: sent.Body, TimeToLive: sent.TimeToLive, SequenceNumber: ptr(int64(1)),
	}
	if diff := cmp.Diff(m, fromSDK(rm, 0).Message); diff != "" {
		t.Errorf("round trip (-sent +received):\n%s", diff)
	}
}

func TestExpiresAt(t *testing.T) {
	enq := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name          string
		ttl, queueTTL time.Duration
		want          time.Time
	}{
		{"own ttl shorter", time.Minute, time.Hour, enq.Add(time.Minute)},
		{"queue default shorter", 2 * time.Hour, time.Hour, enq.Add(time.Hour)},
		{"no own ttl: queue default", 0, time.Hour, enq.Add(time.Hour)},
		{"no queue default", time.Minute, 0, enq.Add(time.Minute)},
		{"neither: never", 0, 0, time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := expiresAt(enq, tt.ttl, tt.queueTTL); !got.Equal(tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
	if got := expiresAt(time.Time{}, time.Minute, 0); !got.IsZero() {
		t.Errorf("unknown enqueue time: got %v, want zero", got)
	}
}

func TestCheckMessage(t *testing.T) {
	long := strings.Repeat("x", 129)
	tests := []struct {
		name string
		m    bus.Message
		ok   bool
	}{
		{"fine", bus.Message{ID: "a", SessionID: "s"}, true},
		{"128-char ids", bus.Message{ID: long[:128], SessionID: long[:128]}, true},
		{"no id", bus.Message{SessionID: "s"}, false},
		{"long id", bus.Message{ID: long, SessionID: "s"}, false},
		{"no session", bus.Message{ID: "a"}, false},
		{"long session", bus.Message{ID: "a", SessionID: long}, false},
		{"negative ttl", bus.Message{ID: "a", SessionID: "s", TimeToLive: -time.Second}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := checkMessage(tt.m); (err == nil) != tt.ok {
				t.Errorf("got %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

func TestTruncate(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"exactly", 7, "exactly"},
		{"longer", 4, "long"},
		{"héllo", 2, "hé"}, // cut on characters, not bytes
	}
	for _, tt := range tests {
		if got := truncate(tt.in, tt.n); got != tt.want {
			t.Errorf("truncate(%q, %d): got %q, want %q", tt.in, tt.n, got, tt.want)
		}
	}
}

// A span context injected into a message's properties survives the mapping
// to the SDK's message and back from a received one: the worker extracts what
// the command API injected.
func TestTraceContextSurvivesTheMapping(t *testing.T) {
	tid, _ := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
	sid, _ := trace.SpanIDFromHex("00f067aa0ba902b7")
	ts, err := trace.ParseTraceState("congo=t61rcWkgMzE,rojo=00f067aa0ba902b7")
	if err != nil {
		t.Fatal(err)
	}
	want := trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled, TraceState: ts})
	m := bus.Message{ID: "op-1", SessionID: "ship-1", Properties: map[string]string{}}
	prop := propagation.TraceContext{}
	prop.Inject(trace.ContextWithSpanContext(context.Background(), want), propagation.MapCarrier(m.Properties))

	sent := toSDK(m)
	received := fromSDK(&azservicebus.ReceivedMessage{MessageID: "op-1", SessionID: sent.SessionID,
		ApplicationProperties: sent.ApplicationProperties}, 0)
	got := trace.SpanContextFromContext(prop.Extract(context.Background(), propagation.MapCarrier(received.Properties)))
	if !got.Equal(want.WithRemote(true)) {
		t.Errorf("extracted %+v, want %+v", got, want)
	}
}
