package command

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/dropoff-dev/dropoff/src/bus"
	"github.com/dropoff-dev/dropoff/src/operation"
	"github.com/dropoff-dev/dropoff/src/shipment"
)

func ptr[T any](v T) *T { return &v }

func sample(t *testing.T, kind Kind) Command {
	t.Helper()
	id, err := operation.NewID()
	if err != nil {
		t.Fatal(err)
	}
	c := Command{OperationID: id, ShipmentID: "s-1", Kind: kind, IfMatch: 3,
		IdempotencyKey: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
		Traceparent:    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
		Tracestate:     "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7",
		AcceptedAt:     time.Date(2026, 11, 28, 9, 0, 0, 123456789, time.UTC)}
	switch kind {
	case KindUpsert:
		c.Payload = shipment.Fields{Recipient: "Ada", Destination: "x", WeightGrams: 5, Service: shipment.Express}
	case KindPatch:
		c.Payload = shipment.Patch{Status: ptr(shipment.InTransit)}
	}
	return c
}

func TestRoundTrip(t *testing.T) {
	for _, kind := range []Kind{KindUpsert, KindPatch, KindDelete} {
		t.Run(string(kind), func(t *testing.T) {
			c := sample(t, kind)
			m, err := c.Message()
			if err != nil {
				t.Fatal(err)
			}
			if m.ID != c.OperationID || m.SessionID != c.ShipmentID || m.Subject != string(kind) || m.ContentType != ContentType {
				t.Errorf("message envelope = %+v", m)
			}
			if m.Properties[PropTraceparent] != c.Traceparent || m.Properties[PropDiagnosticID] != c.Traceparent ||
				m.Properties[PropTracestate] != c.Tracestate {
				t.Errorf("trace context properties = %v", m.Properties)
			}
			got, err := Decode(m)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(c, got); diff != "" {
				t.Errorf("Decode(Message()) differs (-sent +decoded):\n%s", diff)
			}
		})
	}
}

func TestDigest(t *testing.T) {
	a, b := sample(t, KindUpsert), sample(t, KindUpsert)
	da, _ := a.Digest()
	db, _ := b.Digest()
	if da != db {
		t.Errorf("same request, different operation ids: digests %s and %s, want one", da, db)
	}
	f := b.Payload.(shipment.Fields)
	f.Recipient = "Bob"
	b.Payload = f
	if db, _ = b.Digest(); da == db {
		t.Error("a different body gives the same digest")
	}
	b = sample(t, KindUpsert)
	b.IfMatch = 4
	if db, _ = b.Digest(); da == db {
		t.Error("a different If-Match gives the same digest")
	}
}

func TestDecodeRejects(t *testing.T) {
	good, err := sample(t, KindUpsert).Message()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		edit   func(m *bus.Message)
		reason string
	}{
		{"unknown subject", func(m *bus.Message) { m.Subject = "shipment.explode" }, ReasonUnknownKind},
		{"no schema version", func(m *bus.Message) { delete(m.Properties, PropSchemaVersion) }, ReasonUnsupportedVersion},
		{"future schema version", func(m *bus.Message) { m.Properties[PropSchemaVersion] = "2" }, ReasonUnsupportedVersion},
		{"body not JSON", func(m *bus.Message) { m.Body = []byte("{not json") }, ReasonMalformed},
		{"body an array", func(m *bus.Message) { m.Body = []byte("[]") }, ReasonMalformed},
		{"unknown field", func(m *bus.Message) {
			m.Body = []byte(`{"recipient":"a","destination":"b","weightGrams":1,"service":"standard","colour":"red"}`)
		}, ReasonMalformed},
		{"invalid fields", func(m *bus.Message) {
			m.Body = []byte(`{"recipient":"","destination":"b","weightGrams":0,"service":"standard"}`)
		}, ReasonMalformed},
		{"trailing data", func(m *bus.Message) { m.Body = append(m.Body, []byte(" {}")...) }, ReasonMalformed},
		{"bad shipment id", func(m *bus.Message) { m.Properties[PropShipmentID] = "a b" }, ReasonMalformed},
		{"bad session id, no shipment id", func(m *bus.Message) { delete(m.Properties, PropShipmentID); m.SessionID = "a b" }, ReasonMalformed},
		{"bad operation id", func(m *bus.Message) { m.ID, m.Properties[PropOperationID] = "x", "x" }, ReasonMalformed},
		{"bad ifMatch", func(m *bus.Message) { m.Properties[PropIfMatch] = "-1" }, ReasonMalformed},
		{"bad acceptedAt", func(m *bus.Message) { m.Properties[PropAcceptedAt] = "yesterday" }, ReasonMalformed},
		{"bad idempotency key", func(m *bus.Message) { m.Properties[PropIdempotencyKey] = "short" }, ReasonMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := good
			m.Properties = make(map[string]string)
			for k, v := range good.Properties {
				m.Properties[k] = v
			}
			m.Body = append([]byte(nil), good.Body...)
			tt.edit(&m)
			var de *DecodeError
			if _, err := Decode(m); !errors.As(err, &de) || de.Reason != tt.reason || de.Description == "" {
				t.Errorf("Decode = %v, want a DecodeError with reason %s and a description", err, tt.reason)
			}
		})
	}
}

// FuzzDecode feeds the decoder arbitrary messages: it must never panic, and
// whatever it accepts must encode back to a message it decodes the same way.
func FuzzDecode(f *testing.F) {
	payloads := map[Kind]Payload{
		KindUpsert: shipment.Fields{Recipient: "a", Destination: "b", WeightGrams: 1, Service: shipment.Standard},
		KindPatch:  shipment.Patch{Recipient: ptr("c")},
	}
	for _, kind := range []Kind{KindUpsert, KindPatch, KindDelete} {
		c := Command{OperationID: "01a2203f-824c-776e-8e5c-708e9ecd5aa1", ShipmentID: "s-1", Kind: kind,
			Payload: payloads[kind]}
		m, err := c.Message()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(m.Subject, m.SessionID, m.ID, m.Properties[PropIfMatch], m.Body)
	}
	f.Fuzz(func(t *testing.T, subject, session, id, ifMatch string, body []byte) {
		props := map[string]string{PropSchemaVersion: SchemaVersion, PropOperationID: id}
		if ifMatch != "" {
			props[PropIfMatch] = ifMatch
		}
		c, err := Decode(bus.Message{ID: id, SessionID: session, Subject: subject, Properties: props, Body: body})
		if err != nil {
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("Decode returned %T %v, want *DecodeError", err, err)
			}
			return
		}
		m, err := c.Message()
		if err != nil {
			t.Fatalf("an accepted command does not encode: %v", err)
		}
		again, err := Decode(m)
		if err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		if diff := cmp.Diff(c, again, cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })); diff != "" {
			t.Fatalf("re-decoded command differs:\n%s", diff)
		}
	})
}

func TestKeyScopeIsPerShipment(t *testing.T) {
	const key = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
	a := Command{ShipmentID: "a", IdempotencyKey: key}
	b := Command{ShipmentID: "b", IdempotencyKey: key}
	if a.KeyScope() == b.KeyScope() || a.KeyScope() == key || len(a.KeyScope()) != 64 {
		t.Errorf("KeyScope: a %q, b %q: want two different 64-digit digests, neither the key's own", a.KeyScope(), b.KeyScope())
	}
	if again := (Command{ShipmentID: "a", IdempotencyKey: key, Kind: KindDelete}); again.KeyScope() != a.KeyScope() {
		t.Error("KeyScope depends on more than the shipment and the key")
	}
	if (Command{ShipmentID: "a"}).KeyScope() != "" {
		t.Error("KeyScope without a key is not empty")
	}
}

// A message names its shipment in a property, so that its session may be a
// lane; one sent before lanes existed names it by its session.
func TestShipmentOf(t *testing.T) {
	m, err := sample(t, KindUpsert).Message()
	if err != nil {
		t.Fatal(err)
	}
	id := m.SessionID
	m.SessionID = Lane(id, 64)
	if got := ShipmentOf(m); got != id {
		t.Errorf("in a lane: ShipmentOf = %q, want %q", got, id)
	}
	c, err := Decode(m)
	if err != nil || c.ShipmentID != id {
		t.Errorf("Decode in a lane: %q, %v; want shipment %q", c.ShipmentID, err, id)
	}
	delete(m.Properties, PropShipmentID)
	m.SessionID = id
	if got := ShipmentOf(m); got != id {
		t.Errorf("without the property: ShipmentOf = %q, want the session %q", got, id)
	}
}

// Lane is stable, within range, and spreads shipments over the lanes.
func TestLane(t *testing.T) {
	seen := map[string]int{}
	for i := range 6400 {
		id := fmt.Sprintf("ship-%d", i)
		l := Lane(id, 64)
		if l != Lane(id, 64) {
			t.Fatalf("Lane(%s) is not stable", id)
		}
		seen[l]++
	}
	if len(seen) != 64 {
		t.Fatalf("6,400 shipments fell on %d lanes, want all 64", len(seen))
	}
	for l, n := range seen {
		if n < 50 || n > 150 {
			t.Errorf("lane %s got %d of 6,400 shipments, want about 100", l, n)
		}
	}
}
