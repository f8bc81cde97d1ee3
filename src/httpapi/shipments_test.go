package httpapi

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/dropoff-dev/dropoff/src/shipment"
	"github.com/dropoff-dev/dropoff/src/store"
)

func sampleShipment(id string, status shipment.Status, version int64) shipment.Shipment {
	at := time.Date(2026, 2, 1, 9, 30, 0, 0, time.FixedZone("CET", 3600))
	return shipment.Shipment{ID: id, Recipient: "Grace Hopper", Destination: "Arlington, VA",
		WeightGrams: 800, Service: shipment.Standard, Status: status, Version: version,
		CreatedAt: at, UpdatedAt: at.Add(time.Hour)}
}

func TestGetShipment(t *testing.T) {
	h := newHarness(t)
	h.queries.shipments["s1"] = sampleShipment("s1", shipment.InTransit, 3)

	w := h.do(t, req{method: "GET", target: "/v1/shipments/s1"})
	if w.Code != http.StatusOK {
		t.Fatalf("status: got %d, want 200 (body %s)", w.Code, w.Body)
	}
	if got := w.Header().Get("ETag"); got != `"3"` {
		t.Errorf("ETag: got %q, want %q", got, `"3"`)
	}
	want := Shipment{ID: "s1", Recipient: "Grace Hopper", Destination: "Arlington, VA", WeightGrams: 800,
		Service: shipment.Standard, Status: shipment.InTransit, Version: 3,
		CreatedAt: time.Date(2026, 2, 1, 8, 30, 0, 0, time.UTC), UpdatedAt: time.Date(2026, 2, 1, 9, 30, 0, 0, time.UTC)}
	if diff := cmp.Diff(want, decode[Shipment](t, w)); diff != "" {
		t.Errorf("body (-want +got):\n%s", diff)
	}
	if got, want := w.Body.String(), `"createdAt":"2026-02-01T08:30:00Z"`; !strings.Contains(got, want) {
		t.Errorf("body %s: want UTC times like %s", got, want)
	}
}

func TestGetShipmentConditional(t *testing.T) {
	h := newHarness(t)
	h.queries.shipments["s1"] = sampleShipment("s1", shipment.Registered, 3)
	tests := []struct {
		ifNoneMatch string
		want        int
	}{
		{`"3"`, http.StatusNotModified},
		{`W/"3"`, http.StatusNotModified},
		{`"1", "3"`, http.StatusNotModified},
		{`*`, http.StatusNotModified},
		{`"2"`, http.StatusOK},
		{`3`, http.StatusOK},
		{`garbage`, http.StatusOK},
	}
	for _, tt := range tests {
		w := h.do(t, req{method: "GET", target: "/v1/shipments/s1", header: map[string]string{"If-None-Match": tt.ifNoneMatch}})
		if w.Code != tt.want {
			t.Errorf("If-None-Match %s: got %d, want %d", tt.ifNoneMatch, w.Code, tt.want)
		}
		if got := w.Header().Get("ETag"); got != `"3"` {
			t.Errorf("If-None-Match %s: ETag: got %q, want %q", tt.ifNoneMatch, got, `"3"`)
		}
		if w.Code == http.StatusNotModified && w.Body.Len() != 0 {
			t.Errorf("If-None-Match %s: 304 with body %q, want none", tt.ifNoneMatch, w.Body)
		}
	}
}

func TestGetShipmentErrors(t *testing.T) {
	h := newHarness(t)
	checkProblem(t, h.do(t, req{method: "GET", target: "/v1/shipments/unknown"}), http.StatusNotFound, "")
	checkProblem(t, h.do(t, req{method: "GET", target: "/v1/shipments/bad%20id"}), http.StatusBadRequest, "id")
	checkProblem(t, h.do(t, req{method: "GET", target: "/v1/shipments/unknown/history"}), http.StatusNotFound, "")

	h.queries.setErr(errors.New("database down"))
	for _, target := range []string{"/v1/shipments/s1", "/v1/shipments", "/v1/shipments/s1/history", "/v1/stats",
		"/v1/operations/" + v7At(testNow)} {
		w := h.do(t, req{method: "GET", target: target})
		checkProblem(t, w, http.StatusServiceUnavailable, "")
		if w.Header().Get("Retry-After") == "" {
			t.Errorf("GET %s: no Retry-After on 503", target)
		}
	}
}

// TestListShipmentsWalk pages through every shipment with the cursor.
func TestListShipmentsWalk(t *testing.T) {
	h := newHarness(t)
	var want []string
	for i := range 7 {
		id := fmt.Sprintf("s%02d", i)
		h.queries.shipments[id] = sampleShipment(id, shipment.Registered, 1)
		want = append(want, id)
	}
	var got []string
	target, pages := "/v1/shipments?limit=3", 0
	for {
		w := h.do(t, req{method: "GET", target: target})
		if w.Code != http.StatusOK {
			t.Fatalf("GET %s: got %d, want 200 (body %s)", target, w.Code, w.Body)
		}
		page := decode[ShipmentPage](t, w)
		for _, s := range page.Items {
			got = append(got, s.ID)
		}
		if pages++; page.NextCursor == "" || pages > 10 {
			break
		}
		target = "/v1/shipments?limit=3&cursor=" + url.QueryEscape(page.NextCursor)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ids over all pages (-want +got):\n%s", diff)
	}
	if pages != 3 {
		t.Errorf("pages: got %d, want 3", pages)
	}
}

func TestListShipmentsQuery(t *testing.T) {
	h := newHarness(t)
	h.queries.shipments["a"] = sampleShipment("a", shipment.Delivered, 2)
	h.queries.shipments["b"] = sampleShipment("b", shipment.Registered, 1)

	w := h.do(t, req{method: "GET", target: "/v1/shipments?status=delivered"})
	if w.Code != http.StatusOK {
		t.Fatalf("status: got %d, want 200", w.Code)
	}
	page := decode[ShipmentPage](t, w)
	if len(page.Items) != 1 || page.Items[0].ID != "a" || page.NextCursor != "" {
		t.Errorf("page: got %+v, want only a, no cursor", page)
	}
	if got, want := h.queries.lastList, (store.ListQuery{Status: shipment.Delivered, Limit: defaultLimit}); got != want {
		t.Errorf("query: got %+v, want %+v", got, want)
	}

	h.queries.shipments = map[string]shipment.Shipment{}
	w = h.do(t, req{method: "GET", target: "/v1/shipments"})
	if got := w.Body.String(); got != `{"items":[]}` {
		t.Errorf("empty list: got %s, want {\"items\":[]}", got)
	}
}

func TestListShipmentsBadQuery(t *testing.T) {
	h := newHarness(t)
	badID := base64.RawURLEncoding.EncodeToString([]byte("not an id"))
	tests := []struct{ query, field string }{
		{"limit=0", "limit"},
		{"limit=201", "limit"},
		{"limit=-1", "limit"},
		{"limit=ten", "limit"},
		{"limit=", "limit"},
		{"limit=99999999999999999999", "limit"},
		{"cursor=!!!", "cursor"},
		{"cursor=", "cursor"},
		{"cursor=" + badID, "cursor"},
		{"status=lost", "status"},
		{"status=", "status"},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			checkProblem(t, h.do(t, req{method: "GET", target: "/v1/shipments?" + tt.query}), http.StatusBadRequest, tt.field)
		})
	}
}

func TestHistory(t *testing.T) {
	h := newHarness(t)
	at := time.Date(2026, 2, 1, 10, 0, 0, 0, time.FixedZone("X", -7200))
	op1, op2 := v7At(at), v7At(at.Add(time.Minute))
	h.queries.history["s1"] = []store.HistoryEntry{
		{Version: 1, Type: shipment.Created, Status: shipment.Registered, At: at, OperationID: op1},
		{Version: 2, Type: shipment.Cancelled, Status: shipment.Registered, At: at.Add(time.Minute), OperationID: op2},
	}
	w := h.do(t, req{method: "GET", target: "/v1/shipments/s1/history"})
	if w.Code != http.StatusOK {
		t.Fatalf("status: got %d, want 200 (body %s)", w.Code, w.Body)
	}
	want := History{Items: []HistoryItem{
		{Version: 1, Type: shipment.Created, Status: shipment.Registered, At: at.UTC(), OperationID: op1},
		{Version: 2, Type: shipment.Cancelled, Status: shipment.Registered, At: at.Add(time.Minute).UTC(), OperationID: op2},
	}}
	if diff := cmp.Diff(want, decode[History](t, w)); diff != "" {
		t.Errorf("body (-want +got):\n%s", diff)
	}
}

func TestStats(t *testing.T) {
	h := newHarness(t)
	committed := time.Date(2026, 3, 1, 11, 59, 0, 0, time.UTC)
	h.queries.setStats(store.Stats{
		ByStatus:   map[shipment.Status]int64{shipment.Registered: 4, shipment.Delivered: 2},
		Checkpoint: 10, FeedHead: 13,
		LastCommittedAt: committed, LastAppliedAt: committed.Add(250 * time.Millisecond),
	})
	w := h.do(t, req{method: "GET", target: "/v1/stats"})
	if w.Code != http.StatusOK {
		t.Fatalf("status: got %d, want 200 (body %s)", w.Code, w.Body)
	}
	want := Stats{
		ByStatus: map[shipment.Status]int64{shipment.Registered: 4, shipment.PickedUp: 0, shipment.InTransit: 0,
			shipment.OutForDelivery: 0, shipment.Delivered: 2},
		Total: 6, Checkpoint: 10, FeedHead: 13, LagSource: "projector", LagEntries: 3, LagMillis: 250,
		LastAppliedAt: committed.Add(250 * time.Millisecond),
	}
	if diff := cmp.Diff(want, decode[Stats](t, w)); diff != "" {
		t.Errorf("body (-want +got):\n%s", diff)
	}

	h.queries.setStats(store.Stats{})
	empty := decode[Stats](t, h.do(t, req{method: "GET", target: "/v1/stats"}))
	if len(empty.ByStatus) != len(shipment.Statuses) || empty.Total != 0 || !empty.LastAppliedAt.IsZero() {
		t.Errorf("empty projection: got %+v, want every status at 0 and no lastAppliedAt", empty)
	}
}
