package httpapi

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/dropoff-dev/dropoff/src/shipment"
)

// HEAD works wherever GET does, with GET's status and headers and no body
// (RFC 9110, 9.3.2), over a real server, which drops the body.
func TestHeadWhereGetWorks(t *testing.T) {
	h := newHarness(t)
	h.queries.shipments["s1"] = sampleShipment("s1", shipment.InTransit, 3)
	srv := httptest.NewServer(h.handler)
	defer srv.Close()
	for _, tc := range []struct {
		path   string
		status int
	}{{"/healthz", 200}, {"/readyz", 200}, {"/v1/shipments/s1", 200}, {"/v1/shipments", 200}, {"/v1/shipments/nobody", 404}} {
		get := fetch(t, http.MethodGet, srv.URL+tc.path)
		head := fetch(t, http.MethodHead, srv.URL+tc.path)
		if head.status != tc.status || get.status != tc.status {
			t.Errorf("%s: HEAD %d, GET %d; want %d for both", tc.path, head.status, get.status, tc.status)
		}
		if head.body != "" {
			t.Errorf("HEAD %s sent a body: %q", tc.path, head.body)
		}
		for _, k := range []string{"Content-Type", "ETag"} {
			if head.header.Get(k) != get.header.Get(k) {
				t.Errorf("%s: HEAD %s %q, GET %q", tc.path, k, head.header.Get(k), get.header.Get(k))
			}
		}
	}
	// HEAD is no way around a method's absence: the lab's burst has no GET.
	if r := fetch(t, http.MethodHead, srv.URL+"/admin/lab/burst"); r.status != http.StatusMethodNotAllowed {
		t.Errorf("HEAD of a path without GET: %d, want 405", r.status)
	}
}

type fetched struct {
	status int
	header http.Header
	body   string
}

func fetch(t *testing.T, method, url string) fetched {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := contractClient(t).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return fetched{resp.StatusCode, resp.Header, string(b)}
}

// A HEAD is counted as a HEAD, not as the GET it is served as.
func TestHeadIsMeasuredAsHead(t *testing.T) {
	h := newHarness(t)
	srv := httptest.NewServer(h.handler)
	defer srv.Close()
	fetch(t, http.MethodHead, srv.URL+"/v1/shipments")
	fetch(t, http.MethodHead, srv.URL+"/v1/shipments")
	fetch(t, http.MethodGet, srv.URL+"/v1/shipments")
	got := map[string]float64{}
	mfs, err := h.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "dropoff_http_request_duration_seconds" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["route"] == "/v1/shipments" {
				got[labels["method"]] += float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	if got["HEAD"] != 2 || got["GET"] != 1 {
		t.Errorf("requests by method = %v; want HEAD 2, GET 1", got)
	}
}
