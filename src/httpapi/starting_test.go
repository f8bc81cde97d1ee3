package httpapi

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestStartingIsAliveButNotReady(t *testing.T) {
	h := Starting(func() string { return "waiting for the write database" })
	tests := []struct {
		method, path string
		status       int
		problem      string
		detail       string
	}{
		{http.MethodGet, "/healthz", http.StatusOK, "", ""},
		{http.MethodHead, "/healthz", http.StatusOK, "", ""},
		{http.MethodGet, "/readyz", http.StatusServiceUnavailable, ProblemNotReady, "starting: waiting for the write database"},
		{http.MethodPut, "/v1/shipments/parcel-1", http.StatusServiceUnavailable, ProblemUnavailable, "the service is starting; retry later"},
		{http.MethodGet, "/v1/shipments/parcel-1", http.StatusServiceUnavailable, ProblemUnavailable, "the service is starting; retry later"},
	}
	for _, tt := range tests {
		rec := serve(t, h, httptest.NewRequest(tt.method, tt.path, strings.NewReader("")))
		if rec.Code != tt.status {
			t.Errorf("%s %s: status %d, want %d", tt.method, tt.path, rec.Code, tt.status)
			continue
		}
		if tt.problem == "" {
			continue
		}
		var p Problem
		if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
			t.Errorf("%s %s: body %q is not a problem: %v", tt.method, tt.path, rec.Body, err)
			continue
		}
		if ct := rec.Header().Get("Content-Type"); ct != ProblemContentType {
			t.Errorf("%s %s: Content-Type %q, want %q", tt.method, tt.path, ct, ProblemContentType)
		}
		if p.Type != tt.problem || p.Detail != tt.detail || rec.Header().Get("Retry-After") == "" {
			t.Errorf("%s %s: problem %s %q (Retry-After %q), want %s %q with Retry-After",
				tt.method, tt.path, p.Type, p.Detail, rec.Header().Get("Retry-After"), tt.problem, tt.detail)
		}
	}
}
