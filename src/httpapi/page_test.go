package httpapi

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/dropoff-dev/dropoff/src/operation"
)

// TestLivePageIsServed: the page and its two assets come from the binary,
// each with its media type and a policy that lets the page load nothing
// from elsewhere; a process with no projection to read serves no page.
func TestLivePageIsServed(t *testing.T) {
	h := newHarness(t)
	for _, tc := range []struct{ path, media, has string }{
		{"/", "text/html; charset=utf-8", `<script src="/live.js"`},
		{"/live.js", "text/javascript; charset=utf-8", "new EventSource(\"/v1/events\")"},
		{"/live.css", "text/css; charset=utf-8", "font-size: 20px"},
	} {
		w := h.do(t, req{method: "GET", target: tc.path})
		if w.Code != http.StatusOK || w.Header().Get("Content-Type") != tc.media || !strings.Contains(w.Body.String(), tc.has) {
			t.Errorf("GET %s = %d %q; want 200 %q with %q", tc.path, w.Code, w.Header().Get("Content-Type"), tc.media, tc.has)
		}
		if csp := w.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
			t.Errorf("GET %s: Content-Security-Policy %q, want default-src 'self'", tc.path, csp)
		}
	}
	h = newHarness(t, func(c *Config) { c.Queries = nil })
	checkProblem(t, h.do(t, req{method: "GET", target: "/"}), http.StatusNotFound, "")
}

// TestRecentOperations: GET /v1/operations lists the operations updated
// last, newest first, as many as limit asks (50 by default, at most 200).
func TestRecentOperations(t *testing.T) {
	h := newHarness(t)
	var ids []string
	for i := range 3 {
		id := v7At(testNow.Add(time.Duration(i) * time.Millisecond))
		ids = append(ids, id)
		h.queries.ops[id] = operation.Operation{ID: id, Kind: "shipment.upsert", ShipmentID: "s1", Status: operation.Succeeded,
			ResourceVersion: int64(i + 1), CreatedAt: testNow, LastUpdatedAt: testNow.Add(time.Duration(i) * time.Second)}
	}
	w := h.do(t, req{method: "GET", target: "/v1/operations?limit=2"})
	if w.Code != http.StatusOK {
		t.Fatalf("GET /v1/operations?limit=2 = %d %s", w.Code, w.Body)
	}
	page := decode[OperationPage](t, w)
	if len(page.Items) != 2 || page.Items[0].ID != ids[2] || page.Items[1].ID != ids[1] || page.Items[0].ResourceLocation != "/v1/shipments/s1" {
		t.Errorf("GET /v1/operations?limit=2 = %+v; want the third then the second, newest first", page.Items)
	}
	if got := decode[OperationPage](t, h.do(t, req{method: "GET", target: "/v1/operations"})); len(got.Items) != 3 {
		t.Errorf("GET /v1/operations = %d items, want all 3", len(got.Items))
	}
	for _, bad := range []string{"0", "201", "x", "-1"} {
		checkProblem(t, h.do(t, req{method: "GET", target: "/v1/operations?limit=" + bad}), http.StatusBadRequest, "limit")
	}
	h.queries.err = errors.New("fake: database down")
	checkProblem(t, h.do(t, req{method: "GET", target: "/v1/operations"}), http.StatusServiceUnavailable, "")
}
