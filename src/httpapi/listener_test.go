package httpapi

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// The errors net/http answers before any handler runs are problem
// documents too.
func TestErrorsBeforeRoutingAreProblems(t *testing.T) {
	h := newHarness(t)
	srv := httptest.NewUnstartedServer(h.handler)
	srv.Listener = ProblemListener(srv.Listener)
	srv.Start()
	defer srv.Close()
	tests := []struct {
		name, request string
		status        int
		typ, detail   string
	}{
		{"malformed percent-escape", "GET /v1/shipments/%zz HTTP/1.1\r\nHost: x\r\n\r\n", 400, ProblemBadRequest, "percent-escape"},
		{"no Host", "GET /healthz HTTP/1.1\r\n\r\n", 400, ProblemBadRequest, "missing required Host header"},
		{"headers over 1 MiB", "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 2<<20) + "\r\n\r\n",
			431, ProblemHeadersTooLarge, "headers"},
		{"unknown transfer encoding", "POST /v1/shipments/a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: teleport\r\n\r\n",
			501, ProblemNotImplemented, "transfer encoding"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", srv.Listener.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			go io.WriteString(conn, tt.request) // a 431 may come while the request is still being written
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var p Problem
			if err := json.NewDecoder(resp.Body).Decode(&p); err != nil {
				t.Fatalf("body: %v", err)
			}
			if resp.StatusCode != tt.status || resp.Header.Get("Content-Type") != ProblemContentType ||
				p.Status != tt.status || p.Type != tt.typ || !strings.Contains(p.Detail, tt.detail) {
				t.Errorf("got %d %s %+v; want %d, a problem of type %s saying %q", resp.StatusCode,
					resp.Header.Get("Content-Type"), p, tt.status, tt.typ, tt.detail)
			}
		})
	}
	// And a request net/http reads goes through untouched.
	resp, err := http.Get(srv.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("/healthz through the listener: %d", resp.StatusCode)
	}
}
