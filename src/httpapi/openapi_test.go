package httpapi

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/google/go-cmp/cmp"

	"github.com/dropoff-dev/dropoff/docs"
	"github.com/dropoff-dev/dropoff/src/command"
	"github.com/dropoff-dev/dropoff/src/httpapi/apitest"
	"github.com/dropoff-dev/dropoff/src/shipment"
)

// contract is the checker of docs/openapi.yaml.
func contract(t testing.TB) *apitest.Checker {
	t.Helper()
	c, err := apitest.Dropoff()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// serve answers r with h and checks the response against docs/openapi.yaml:
// every request the tests of this package make goes through here, so a
// response the document does not describe fails the test that got it.
func serve(t testing.TB, h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	t.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if err := contract(t).Check(r, w.Code, w.Header(), w.Body.Bytes()); err != nil {
		t.Errorf("the response does not match docs/openapi.yaml: %v", err)
	}
	return w
}

// contractClient is an HTTP client whose every response is checked against
// docs/openapi.yaml, for the tests that talk to a real server.
func contractClient(t testing.TB) *http.Client {
	return &http.Client{Transport: contract(t).Transport(nil)}
}

// TestOpenAPIServed checks /openapi.yaml is the document built into the
// binary, as YAML, on GET and HEAD.
func TestOpenAPIServed(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Sender, c.Queries, c.DeadLetters, c.Registry = nil, nil, nil, nil })
	w := h.do(t, req{method: "GET", target: "/openapi.yaml"})
	if w.Code != http.StatusOK || w.Header().Get("Content-Type") != "application/yaml" {
		t.Fatalf("GET /openapi.yaml: %d %q, want 200 application/yaml", w.Code, w.Header().Get("Content-Type"))
	}
	if !bytes.Equal(w.Body.Bytes(), docs.OpenAPI) {
		t.Errorf("GET /openapi.yaml: got %d bytes, want docs/openapi.yaml (%d bytes)", w.Body.Len(), len(docs.OpenAPI))
	}
	if w := h.do(t, req{method: "HEAD", target: "/openapi.yaml"}); w.Code != http.StatusOK {
		t.Errorf("HEAD /openapi.yaml: %d, want 200", w.Code)
	}
}

// TestOpenAPIDescribesEveryRoute checks the document and the router agree:
// every route New serves with every part enabled, and every route Starting
// serves, is an operation of the document, and every operation of the
// document is served. A route added without its contract fails here.
func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	h := newHarness(t)
	served := map[string]bool{}
	for _, rt := range h.handler.(traced).next.(headAsGet).h.(*gin.Engine).Routes() {
		served[rt.Method+" "+openAPIPath(rt.Path)] = true
		if rt.Method == http.MethodGet {
			served["HEAD "+openAPIPath(rt.Path)] = true // headAsGet
		}
	}
	documented := map[string]bool{}
	for _, op := range contract(t).Operations() {
		documented[op] = true
		if !served[op] {
			t.Errorf("docs/openapi.yaml describes %s, which the router does not serve", op)
		}
	}
	for op := range served {
		if !documented[op] {
			t.Errorf("the router serves %s, which docs/openapi.yaml does not describe", op)
		}
	}
	for _, rt := range Starting(func() string { return "" }).(*gin.Engine).Routes() {
		if op := rt.Method + " " + openAPIPath(rt.Path); !documented[op] {
			t.Errorf("Starting serves %s, which docs/openapi.yaml does not describe", op)
		}
	}
}

// openAPIPath writes a gin route in OpenAPI's form: /v1/shipments/:id is
// /v1/shipments/{id}.
func openAPIPath(route string) string {
	parts := strings.Split(route, "/")
	for i, p := range parts {
		if strings.HasPrefix(p, ":") || strings.HasPrefix(p, "*") {
			parts[i] = "{" + p[1:] + "}"
		}
	}
	return strings.Join(parts, "/")
}

// TestOpenAPIEnums checks the document's closed sets are the code's: the
// command kinds, the shipment statuses and the problem types.
func TestOpenAPIEnums(t *testing.T) {
	var kinds, statuses, types []string
	for _, s := range command.Specs() {
		kinds = append(kinds, string(s.Kind))
	}
	for _, s := range shipment.Statuses {
		statuses = append(statuses, string(s))
	}
	for typ := range titles {
		types = append(types, typ)
	}
	for _, tt := range []struct {
		schema string
		code   []string
	}{{"CommandKind", kinds}, {"ShipmentStatus", statuses}, {"ProblemType", types}} {
		got := contract(t).Enum(tt.schema)
		slices.Sort(got)
		slices.Sort(tt.code)
		if diff := cmp.Diff(tt.code, got); diff != "" {
			t.Errorf("schema %s of docs/openapi.yaml (-code +document):\n%s", tt.schema, diff)
		}
	}
}
