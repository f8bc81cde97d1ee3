package httpapi

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/dropoff-dev/dropoff/src/command"
	"github.com/dropoff-dev/dropoff/src/operation"
	"github.com/dropoff-dev/dropoff/src/shipment"
)

const validPut = `{"recipient":"Ada Lovelace","destination":"12 St James's Square, London","weightGrams":1200,"service":"express"}`

// TestCommandRejectsBadInput sends every kind of bad input and checks each
// gets the right 4xx problem, naming the field, with nothing sent to the bus.
func TestCommandRejectsBadInput(t *testing.T) {
	withType := func(ct string) map[string]string { return map[string]string{"Content-Type": ct} }
	withHeader := func(k, v string) map[string]string {
		return map[string]string{"Content-Type": "application/json", k: v}
	}
	put := func(body string) req {
		return req{method: "PUT", target: "/v1/shipments/s1", body: body, header: jsonHeader}
	}
	patch := func(body string) req {
		return req{method: "PATCH", target: "/v1/shipments/s1", body: body, header: jsonHeader}
	}
	putWith := func(h map[string]string) req {
		return req{method: "PUT", target: "/v1/shipments/s1", body: validPut, header: h}
	}
	replace := func(old, new string) string { return strings.Replace(validPut, old, new, 1) }
	big := `{"recipient":"` + strings.Repeat("x", MaxBodyBytes) + `"}`

	tests := []struct {
		name   string
		req    req
		status int
		field  string
	}{
		{"malformed JSON", put(`{"recipient":`), 400, "body"},
		{"not JSON at all", put(`recipient=Ada`), 400, "body"},
		{"array", put(`[]`), 400, "body"},
		{"string", put(`"hello"`), 400, "body"},
		{"null", put(`null`), 400, "body"},
		{"number", put(`42`), 400, "body"},
		{"empty body", put(``), 400, "body"},
		{"missing fields", put(`{}`), 400, "recipient"},
		{"recipient with a line break", put(replace(`"Ada Lovelace"`, `"Ada\nLovelace"`)), 400, "recipient"},
		{"recipient with NUL", put(replace(`"Ada Lovelace"`, `"Ada\u0000"`)), 400, "recipient"},
		{"recipient a lone surrogate", put(replace(`"Ada Lovelace"`, `"Ada \ud800"`)), 400, "recipient"},
		{"recipient only spaces", put(replace(`"Ada Lovelace"`, `"   "`)), 400, "recipient"},
		{"patch to a blank destination", patch(`{"destination":" "}`), 400, "destination"},
		{"missing weight", put(`{"recipient":"a","destination":"b","service":"standard"}`), 400, "weightGrams"},
		{"string for number", put(replace(`1200`, `"1200"`)), 400, "weightGrams"},
		{"number for string", put(replace(`"Ada Lovelace"`, `5`)), 400, "recipient"},
		{"object for string", put(replace(`"express"`, `{}`)), 400, "service"},
		{"fractional weight", put(replace(`1200`, `1.5`)), 400, "weightGrams"},
		{"zero weight", put(replace(`1200`, `0`)), 400, "weightGrams"},
		{"negative weight", put(replace(`1200`, `-1`)), 400, "weightGrams"},
		{"weight in exponent form", put(replace(`1200`, `1e7`)), 400, "weightGrams"},
		{"weight over the maximum", put(replace(`1200`, `1000001`)), 400, "weightGrams"},
		{"huge weight", put(replace(`1200`, `123456789012345678901234567890`)), 400, "weightGrams"},
		{"unknown field", put(replace(`{`, `{"colour":"red",`)), 400, "colour"},
		{"null field", put(replace(`"Ada Lovelace"`, `null`)), 400, "recipient"},
		{"duplicate field", put(replace(`{`, `{"recipient":"Bob",`)), 400, "recipient"},
		{"unknown service", put(replace(`express`, `overnight`)), 400, "service"},
		{"unknown status", put(replace(`{`, `{"status":"lost",`)), 400, "status"},
		{"empty status", put(replace(`{`, `{"status":"",`)), 400, "status"},
		{"empty recipient", put(replace(`Ada Lovelace`, ``)), 400, "recipient"},
		{"recipient too long", put(replace(`Ada Lovelace`, strings.Repeat("é", 201))), 400, "recipient"},
		{"trailing data", put(validPut + ` x`), 400, "body"},
		{"two objects", put(validPut + validPut), 400, "body"},
		{"invalid UTF-8", put(replace(`Ada`, "A\xffa")), 400, "body"},
		{"id with a space", req{method: "PUT", target: "/v1/shipments/a%20b", body: validPut, header: jsonHeader}, 400, "id"},
		{"id with a dot", req{method: "PUT", target: "/v1/shipments/a.b", body: validPut, header: jsonHeader}, 400, "id"},
		{"id with an encoded slash", req{method: "PUT", target: "/v1/shipments/a%2Fb", body: validPut, header: jsonHeader}, 400, "id"},
		{"id of 65 characters", req{method: "PUT", target: "/v1/shipments/" + strings.Repeat("a", 65), body: validPut, header: jsonHeader}, 400, "id"},
		{"body over 64 KiB", put(big), 413, ""},
		{"body over 64 KiB, no length", req{method: "PUT", target: "/v1/shipments/s1", body: big, header: jsonHeader, hideLength: true}, 413, ""},
		{"text/plain", putWith(withType("text/plain")), 415, ""},
		{"no Content-Type", putWith(nil), 415, ""},
		{"Content-Type garbage", putWith(withType(";;;")), 415, ""},
		{"charset latin1", putWith(withType("application/json; charset=iso-8859-1")), 415, ""},
		{"merge patch type on PUT", putWith(withType("application/merge-patch+json")), 415, ""},
		{"If-Match *", putWith(withHeader("If-Match", "*")), 400, "If-Match"},
		{"If-Match weak", putWith(withHeader("If-Match", `W/"1"`)), 400, "If-Match"},
		{"If-Match list", putWith(withHeader("If-Match", `"1", "2"`)), 400, "If-Match"},
		{"If-Match unquoted", putWith(withHeader("If-Match", `1`)), 400, "If-Match"},
		{"If-Match zero", putWith(withHeader("If-Match", `"0"`)), 400, "If-Match"},
		{"If-Match leading zero", putWith(withHeader("If-Match", `"01"`)), 400, "If-Match"},
		{"If-Match not a number", putWith(withHeader("If-Match", `"abc"`)), 400, "If-Match"},
		{"If-Match empty", putWith(withHeader("If-Match", ``)), 400, "If-Match"},
		{"Idempotency-Key too long", putWith(withHeader("Idempotency-Key", strings.Repeat("k", 256))), 400, "Idempotency-Key"},
		{"Idempotency-Key not ASCII", putWith(withHeader("Idempotency-Key", "clé")), 400, "Idempotency-Key"},
		{"Idempotency-Key empty", putWith(withHeader("Idempotency-Key", "")), 400, "Idempotency-Key"},
		{"patch of weight", patch(`{"weightGrams":5}`), 400, "weightGrams"},
		{"patch removing a field", patch(`{"recipient":null}`), 400, "recipient"},
		{"empty patch", patch(`{}`), 400, "body"},
		{"patch of unknown field", patch(`{"status":"picked_up","id":"x"}`), 400, "id"},
		{"patch with number for string", patch(`{"service":7}`), 400, "service"},
		{"patch with unknown status", patch(`{"status":"returned"}`), 400, "status"},
		{"patch as array", patch(`[{"op":"replace"}]`), 400, "body"},
		{"patch as JSON Patch type", req{method: "PATCH", target: "/v1/shipments/s1", body: `{"status":"picked_up"}`,
			header: withType("application/json-patch+json")}, 415, ""},
		{"delete with bad id", req{method: "DELETE", target: "/v1/shipments/a$b"}, 400, "id"},
		{"delete with bad If-Match", req{method: "DELETE", target: "/v1/shipments/s1", header: map[string]string{"If-Match": "*"}}, 400, "If-Match"},
		{"POST to a shipment", req{method: "POST", target: "/v1/shipments/s1", body: validPut, header: jsonHeader}, 405, ""},
		{"PUT without id", req{method: "PUT", target: "/v1/shipments/", body: validPut, header: jsonHeader}, 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			w := h.do(t, tt.req)
			checkProblem(t, w, tt.status, tt.field)
			if sent := h.sender.sent(); len(sent) != 0 {
				t.Errorf("sent: got %d messages, want none", len(sent))
			}
		})
	}
}

// TestCommandAccepted checks a good command of each kind: 202, its headers
// and body, and the message sent, which must decode to the same command.
func TestCommandAccepted(t *testing.T) {
	const trace = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	upsert := shipment.Fields{Recipient: "Ada Lovelace", Destination: "12 St James's Square, London",
		WeightGrams: 1200, Service: shipment.Express}
	tests := []struct {
		name string
		req  req
		want command.Command
	}{
		{"put", req{method: "PUT", target: "/v1/shipments/s-1", body: validPut,
			header: map[string]string{"Content-Type": "application/json; charset=UTF-8", "Traceparent": trace}},
			command.Command{ShipmentID: "s-1", Kind: command.KindUpsert, Payload: upsert, Traceparent: trace}},
		{"patch", req{method: "PATCH", target: "/v1/shipments/s_2", body: " {\"status\": \"in_transit\"}\n",
			header: map[string]string{"Content-Type": "application/merge-patch+json", "If-Match": `"7"`, "Traceparent": trace}},
			command.Command{ShipmentID: "s_2", Kind: command.KindPatch, IfMatch: 7, Traceparent: trace,
				Payload: shipment.Patch{Status: new(shipment.InTransit)}}},
		{"delete", req{method: "DELETE", target: "/v1/shipments/S3", header: map[string]string{"Traceparent": trace}},
			command.Command{ShipmentID: "S3", Kind: command.KindDelete, Traceparent: trace}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			w := h.do(t, tt.req)
			if w.Code != http.StatusAccepted {
				t.Fatalf("status: got %d, want 202 (body %s)", w.Code, w.Body)
			}
			sent := h.sender.sent()
			if len(sent) != 1 {
				t.Fatalf("sent: got %d messages, want 1", len(sent))
			}
			got, err := command.Decode(sent[0])
			if err != nil {
				t.Fatalf("decode sent message: %v", err)
			}
			want := tt.want
			want.OperationID, want.AcceptedAt = got.OperationID, testNow
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("sent command (-want +got):\n%s", diff)
			}
			if kind, _ := operation.ParseID(got.OperationID); kind != operation.IDTimed {
				t.Errorf("operation id %q: got kind %v, want a UUIDv7", got.OperationID, kind)
			}
			if sent[0].TimeToLive != DefaultOperationTTL {
				t.Errorf("message TimeToLive: got %v, want %v", sent[0].TimeToLive, DefaultOperationTTL)
			}
			loc := "/v1/operations/" + got.OperationID
			for k, v := range map[string]string{"Location": loc, "Operation-Location": loc, "Retry-After": "1", "Content-Type": "application/json"} {
				if g := w.Header().Get(k); g != v {
					t.Errorf("header %s: got %q, want %q", k, g, v)
				}
			}
			wantBody := Operation{ID: got.OperationID, Status: operation.NotStarted, Kind: string(want.Kind),
				ResourceLocation: "/v1/shipments/" + want.ShipmentID, CreatedAt: testNow, LastUpdatedAt: testNow}
			if diff := cmp.Diff(wantBody, decode[Operation](t, w)); diff != "" {
				t.Errorf("body (-want +got):\n%s", diff)
			}
		})
	}
}

// TestCommandIdempotencyKey checks the same key and request give the same
// operation, and the same key with another request a different one.
func TestCommandIdempotencyKey(t *testing.T) {
	h := newHarness(t)
	send := func(body, key string) string {
		t.Helper()
		w := h.do(t, req{method: "PUT", target: "/v1/shipments/s1", body: body,
			header: map[string]string{"Content-Type": "application/json", "Idempotency-Key": key}})
		if w.Code != http.StatusAccepted {
			t.Fatalf("status: got %d, want 202 (body %s)", w.Code, w.Body)
		}
		return decode[Operation](t, w).ID
	}
	first := send(validPut, "order-42")
	again := send(validPut, "order-42")
	other := send(strings.Replace(validPut, "1200", "1300", 1), "order-42")
	otherKey := send(validPut, "order-43")
	if first != again {
		t.Errorf("same key, same request: got ids %s and %s, want equal", first, again)
	}
	if first == other || first == otherKey {
		t.Errorf("different request or key: got ids %s, %s, %s, want all different", first, other, otherKey)
	}
	if kind, _ := operation.ParseID(first); kind != operation.IDKeyed {
		t.Errorf("keyed id %s: got kind %v, want IDKeyed", first, kind)
	}
	sum := sha256.Sum256([]byte("order-42"))
	for i, m := range h.sender.sent()[:3] {
		if got, want := m.Properties[command.PropIdempotencyKey], hex.EncodeToString(sum[:]); got != want {
			t.Errorf("message %d key digest: got %q, want %q", i, got, want)
		}
		if strings.Contains(m.Properties[command.PropIdempotencyKey], "order-42") {
			t.Errorf("message %d carries the key itself, want only its digest", i)
		}
	}
}

// TestCommandSendFails checks a failing queue gets 503 with Retry-After and
// never a 202.
func TestCommandSendFails(t *testing.T) {
	h := newHarness(t)
	h.sender.err = errors.New("queue down")
	w := h.do(t, req{method: "PUT", target: "/v1/shipments/s1", body: validPut, header: jsonHeader})
	p := checkProblem(t, w, http.StatusServiceUnavailable, "")
	if p.Type != ProblemUnavailable {
		t.Errorf("type: got %q, want %q", p.Type, ProblemUnavailable)
	}
	if got := w.Header().Get("Retry-After"); got != "5" {
		t.Errorf("Retry-After: got %q, want 5", got)
	}
	if got := w.Header().Get("Location"); got != "" {
		t.Errorf("Location: got %q, want none", got)
	}
	if strings.Contains(w.Body.String(), "queue down") {
		t.Errorf("body %s leaks the cause, want it logged only", w.Body)
	}
}

// TestCommandOperationTTL checks messages are sent with the configured TTL.
func TestCommandOperationTTL(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.OperationTTL = time.Hour })
	if w := h.do(t, req{method: "DELETE", target: "/v1/shipments/s1"}); w.Code != http.StatusAccepted {
		t.Fatalf("status: got %d, want 202", w.Code)
	}
	if got := h.sender.sent()[0].TimeToLive; got != time.Hour {
		t.Errorf("TimeToLive: got %v, want 1h", got)
	}
}
