package httpapi

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/dropoff-dev/dropoff/src/operation"
)

func TestGetRecordedOperation(t *testing.T) {
	h := newHarness(t)
	created := testNow.Add(-time.Minute)
	succeeded := v7At(created)
	h.queries.ops[succeeded] = operation.Operation{ID: succeeded, Kind: "shipment.upsert", ShipmentID: "s1",
		Status: operation.Succeeded, ResourceVersion: 4, CreatedAt: created, LastUpdatedAt: created.Add(time.Second)}
	failed := operation.KeyedID(strings.Repeat("a", 64), strings.Repeat("b", 64))
	h.queries.ops[failed] = operation.Operation{ID: failed, Kind: "shipment.patch", ShipmentID: "s2",
		Status: operation.Failed, Error: &operation.Error{Code: operation.CodeInvalidTransition, Message: "no going back"},
		CreatedAt: created, LastUpdatedAt: created}
	running := v7At(created)
	h.queries.ops[running] = operation.Operation{ID: running, Kind: "shipment.delete", ShipmentID: "s3",
		Status: operation.Running, CreatedAt: created, LastUpdatedAt: created}

	tests := []struct {
		id         string
		want       Operation
		retryAfter string
	}{
		{succeeded, Operation{ID: succeeded, Status: operation.Succeeded, Kind: "shipment.upsert",
			ResourceLocation: "/v1/shipments/s1", ResourceVersion: 4, CreatedAt: created, LastUpdatedAt: created.Add(time.Second)}, ""},
		{failed, Operation{ID: failed, Status: operation.Failed, Kind: "shipment.patch", ResourceLocation: "/v1/shipments/s2",
			Error:     &operation.Error{Code: operation.CodeInvalidTransition, Message: "no going back"},
			CreatedAt: created, LastUpdatedAt: created}, ""},
		{running, Operation{ID: running, Status: operation.Running, Kind: "shipment.delete",
			ResourceLocation: "/v1/shipments/s3", CreatedAt: created, LastUpdatedAt: created}, "1"},
	}
	for _, tt := range tests {
		w := h.do(t, req{method: "GET", target: "/v1/operations/" + tt.id})
		if w.Code != http.StatusOK {
			t.Fatalf("GET %s: got %d, want 200 (body %s)", tt.id, w.Code, w.Body)
		}
		if diff := cmp.Diff(tt.want, decode[Operation](t, w)); diff != "" {
			t.Errorf("GET %s: body (-want +got):\n%s", tt.id, diff)
		}
		if got := w.Header().Get("Retry-After"); got != tt.retryAfter {
			t.Errorf("GET %s: Retry-After: got %q, want %q", tt.id, got, tt.retryAfter)
		}
	}
}

// TestGetUnrecordedOperation checks how an id the projection does not have
// is answered from the id alone.
func TestGetUnrecordedOperation(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.OperationTTL = time.Hour })
	fresh := testNow.Add(-30 * time.Minute).Truncate(time.Millisecond)
	keyed := operation.KeyedID(strings.Repeat("c", 64), strings.Repeat("d", 64))
	tests := []struct {
		name string
		id   string
		want *Operation // nil: 404
	}{
		{"fresh v7", v7At(fresh), &Operation{Status: operation.NotStarted, CreatedAt: fresh}},
		{"v7 within TTL plus skew", v7At(testNow.Add(-time.Hour - 30*time.Second)),
			&Operation{Status: operation.NotStarted, CreatedAt: testNow.Add(-time.Hour - 30*time.Second)}},
		{"v7 slightly in the future", v7At(testNow.Add(30 * time.Second)),
			&Operation{Status: operation.NotStarted, CreatedAt: testNow.Add(30 * time.Second)}},
		{"keyed v8", keyed, &Operation{Status: operation.NotStarted}},
		{"v7 older than TTL", v7At(testNow.Add(-2 * time.Hour)), nil},
		{"v7 far in the future", v7At(testNow.Add(2 * time.Minute)), nil},
		{"random v4", uuid.NewString(), nil},
		{"upper-case v7", strings.ToUpper(v7At(fresh)), nil},
		{"garbage", "not-an-operation", nil},
		{"empty-ish", "-", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := h.do(t, req{method: "GET", target: "/v1/operations/" + tt.id})
			if tt.want == nil {
				checkProblem(t, w, http.StatusNotFound, "")
				return
			}
			if w.Code != http.StatusOK {
				t.Fatalf("status: got %d, want 200 (body %s)", w.Code, w.Body)
			}
			want := *tt.want
			want.ID = tt.id
			if diff := cmp.Diff(want, decode[Operation](t, w)); diff != "" {
				t.Errorf("body (-want +got):\n%s", diff)
			}
			if got := w.Header().Get("Retry-After"); got != "1" {
				t.Errorf("Retry-After: got %q, want 1", got)
			}
			if strings.Contains(w.Body.String(), "resourceLocation") {
				t.Errorf("body %s: want no resourceLocation for an unrecorded operation", w.Body)
			}
		})
	}
}

// TestAcceptedThenPolled follows the 202's Operation-Location before the
// worker has recorded anything: the operation is NotStarted, not 404.
func TestAcceptedThenPolled(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.NewID = operation.NewID; c.Now = time.Now })
	for _, key := range []string{"", "retry-me"} {
		r := req{method: "DELETE", target: "/v1/shipments/s1"}
		if key != "" {
			r.header = map[string]string{"Idempotency-Key": key}
		}
		w := h.do(t, r)
		if w.Code != http.StatusAccepted {
			t.Fatalf("key %q: status: got %d, want 202 (body %s)", key, w.Code, w.Body)
		}
		poll := h.do(t, req{method: "GET", target: w.Header().Get("Operation-Location")})
		if poll.Code != http.StatusOK || decode[Operation](t, poll).Status != operation.NotStarted {
			t.Errorf("key %q: poll: got %d %s, want 200 NotStarted", key, poll.Code, poll.Body)
		}
	}
}
