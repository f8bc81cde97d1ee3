package apitest

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

const (
	opID     = "019ca945-0a00-7ba7-b712-0cf692983a85"
	shipment = `{"id":"s1","recipient":"Ada","destination":"1 Main St","weightGrams":1200,"service":"express",` +
		`"status":"registered","version":1,"createdAt":"2026-03-01T12:00:00Z","updatedAt":"2026-03-01T12:00:00Z"}`
	accepted = `{"id":"` + opID + `","status":"NotStarted","kind":"shipment.upsert","resourceLocation":"/v1/shipments/s1",` +
		`"createdAt":"2026-03-01T12:00:00Z","lastUpdatedAt":"2026-03-01T12:00:00Z"}`
	succeeded = `{"id":"` + opID + `","status":"Succeeded","kind":"shipment.upsert","resourceLocation":"/v1/shipments/s1",` +
		`"resourceVersion":1,"createdAt":"2026-03-01T12:00:00Z","lastUpdatedAt":"2026-03-01T12:00:01Z"}`
	notFound    = `{"type":"https://dropoff.dev/problems/not-found","title":"Not found","status":404,"detail":"no shipment s1"}`
	unavailable = `{"type":"https://dropoff.dev/problems/unavailable","title":"Service unavailable","status":503,"detail":"the queue is unavailable; retry later"}`
	validation  = `{"type":"https://dropoff.dev/problems/validation","title":"The request is invalid","status":400,` +
		`"detail":"the request has invalid fields; see errors","errors":[{"field":"limit","message":"must be an integer from 1 to 200"}]}`
)

// response is one response to check, with the request it answers.
type response struct {
	method, target string
	status         int
	header         map[string]string
	body           string
}

var (
	jsonHeader    = map[string]string{"Content-Type": "application/json"}
	problemHeader = map[string]string{"Content-Type": "application/problem+json"}
)

func with(h map[string]string, kv ...string) map[string]string {
	out := map[string]string{}
	for k, v := range h {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

func check(t *testing.T, r response) error {
	t.Helper()
	c, err := Dropoff()
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{}
	for k, v := range r.header {
		h.Set(k, v)
	}
	return c.Check(httptest.NewRequest(r.method, r.target, nil), r.status, h, []byte(r.body))
}

// TestCheckAcceptsConformingResponses is the control of the test below: the
// responses it spoils pass as they are.
func TestCheckAcceptsConformingResponses(t *testing.T) {
	for _, r := range []response{
		{"GET", "/v1/shipments/s1", 200, with(jsonHeader, "ETag", `"1"`), shipment},
		{"HEAD", "/v1/shipments/s1", 200, with(jsonHeader, "ETag", `"1"`), ""},
		{"GET", "/v1/shipments/s1", 404, problemHeader, notFound},
		{"PUT", "/v1/shipments/s1", 202, with(jsonHeader, "Location", "/v1/operations/"+opID,
			"Operation-Location", "/v1/operations/"+opID, "Retry-After", "1"), accepted},
		{"GET", "/v1/operations/" + opID, 200, jsonHeader, succeeded},
		{"GET", "/v1/shipments?limit=0", 400, problemHeader, validation},
		{"PUT", "/v1/shipments/s1", 503, with(problemHeader, "Retry-After", "5"), unavailable},
		{"POST", "/admin/v1/deadletters/3/resubmit", 204, nil, ""},
		{"GET", "/nowhere", 404, problemHeader, notFound},
		{"GET", "/v1/stats", 404, problemHeader, notFound}, // a process without the query API
	} {
		if err := check(t, r); err != nil {
			t.Errorf("%s %s %d: %v", r.method, r.target, r.status, err)
		}
	}
}

// TestCheckRejectsWrongResponses spoils conforming responses one way each,
// and requires the checker to refuse every one: the checker is what keeps the
// document honest, so it is tested too.
func TestCheckRejectsWrongResponses(t *testing.T) {
	replace := func(s, old, new string) string {
		if !strings.Contains(s, old) {
			t.Fatalf("%q is not in %s", old, s)
		}
		return strings.Replace(s, old, new, 1)
	}
	shipmentHeader := with(jsonHeader, "ETag", `"1"`)
	acceptedHeader := with(jsonHeader, "Location", "/v1/operations/"+opID,
		"Operation-Location", "/v1/operations/"+opID, "Retry-After", "1")
	tests := []struct {
		name string
		r    response
		want string // in the error
	}{
		{"a status the operation does not list",
			response{"GET", "/v1/shipments/s1", 418, problemHeader, notFound}, "status is not supported"},
		{"a required header missing",
			response{"GET", "/v1/shipments/s1", 200, jsonHeader, shipment}, `"ETag" missing`},
		{"a header of the wrong form",
			response{"GET", "/v1/shipments/s1", 200, with(jsonHeader, "ETag", `W/"1"`), shipment}, "ETag"},
		{"a HEAD without a required header",
			response{"HEAD", "/v1/shipments/s1", 200, jsonHeader, ""}, `"ETag" missing`},
		{"another media type",
			response{"GET", "/v1/shipments/s1", 200, with(shipmentHeader, "Content-Type", "text/plain"), shipment}, "Content-Type"},
		{"a member the schema does not have",
			response{"GET", "/v1/shipments/s1", 200, shipmentHeader, replace(shipment, `"id"`, `"colour":"red","id"`)}, "colour"},
		{"a required member missing",
			response{"GET", "/v1/shipments/s1", 200, shipmentHeader, replace(shipment, `"version":1,`, ``)}, "version"},
		{"a value outside its enum",
			response{"GET", "/v1/shipments/s1", 200, shipmentHeader, replace(shipment, `"express"`, `"overnight"`)}, "service"},
		{"a number outside its range",
			response{"GET", "/v1/shipments/s1", 200, shipmentHeader, replace(shipment, `1200`, `0`)}, "weightGrams"},
		{"a string over its length",
			response{"GET", "/v1/shipments/s1", 200, shipmentHeader, replace(shipment, `"Ada"`, `"`+strings.Repeat("a", 201)+`"`)}, "recipient"},
		{"text with a control character",
			response{"GET", "/v1/shipments/s1", 200, shipmentHeader, replace(shipment, `"Ada"`, `"Ada\nLovelace"`)}, "recipient"},
		{"blank text",
			response{"GET", "/v1/shipments/s1", 200, shipmentHeader, replace(shipment, `"Ada"`, `" \u00a0 "`)}, "recipient"},
		{"a time that is not RFC 3339",
			response{"GET", "/v1/shipments/s1", 200, shipmentHeader, replace(shipment, `"2026-03-01T12:00:00Z","updatedAt"`, `"yesterday","updatedAt"`)}, "createdAt"},
		{"a const broken (an accepted operation that succeeded)",
			response{"PUT", "/v1/shipments/s1", 202, acceptedHeader, replace(accepted, `NotStarted`, `Succeeded`)}, "status"},
		{"a conditional requirement broken (succeeded without a version)",
			response{"GET", "/v1/operations/" + opID, 200, jsonHeader, replace(succeeded, `"resourceVersion":1,`, ``)}, "resourceVersion"},
		{"a member a schema forbids (a validation problem with failedChecks)",
			response{"GET", "/v1/shipments?limit=0", 400, problemHeader, replace(validation, `"errors"`, `"failedChecks":["db"],"errors"`)}, "failedChecks"},
		{"a problem of the wrong type",
			response{"GET", "/v1/shipments/s1", 404, problemHeader, replace(notFound, `not-found`, `validation`)}, "type"},
		{"a problem sent as plain JSON",
			response{"GET", "/v1/shipments/s1", 404, jsonHeader, notFound}, "Content-Type"},
		{"a 503 without Retry-After",
			response{"PUT", "/v1/shipments/s1", 503, problemHeader, unavailable}, `"Retry-After" missing`},
		{"a body where none is described",
			response{"POST", "/admin/v1/deadletters/3/resubmit", 204, jsonHeader, `{}`}, "describes none"},
		{"a success on a path the document does not have",
			response{"GET", "/nowhere", 200, jsonHeader, `{}`}, "no operation"},
		{"a 405 without Allow",
			response{"DELETE", "/v1/stats", 405, problemHeader, replace(notFound, `not-found`, `method-not-allowed`)}, "Allow"},
		{"a route this process does not serve answered with another problem",
			response{"GET", "/v1/stats", 404, problemHeader, replace(notFound, `not-found`, `validation`)}, "type"},
		{"an unknown path answered with a problem without a detail",
			response{"GET", "/nowhere", 404, problemHeader, replace(notFound, `"detail":"no shipment s1"`, `"detail":""`)}, "detail"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := check(t, tt.r)
			if err == nil {
				t.Fatalf("%s %s %d: the checker accepted it", tt.r.method, tt.r.target, tt.r.status)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q: want it to mention %q", err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.r.method+" "+tt.r.target) {
				t.Errorf("error %q: want it to name the request %s %s", err, tt.r.method, tt.r.target)
			}
		})
	}
}

// TestTransport checks the client side: a response that does not match the
// document is an error of the request, and one that does is passed on whole.
func TestTransport(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/healthz" {
			io.WriteString(w, `{"status":"ok"}`)
			return
		}
		io.WriteString(w, `{"status":"fine"}`) // /readyz says "ready"
	}))
	defer srv.Close()
	c, err := Dropoff()
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Transport: c.Transport(nil)}

	resp, err := client.Get(srv.URL + "/healthz")
	if err != nil {
		t.Fatalf("GET /healthz: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != `{"status":"ok"}` {
		t.Errorf("GET /healthz body: got %q, want it passed on whole", b)
	}

	_, err = client.Get(srv.URL + "/readyz")
	var mismatch *MismatchError
	if !errors.As(err, &mismatch) || !strings.Contains(err.Error(), "GET /readyz") {
		t.Errorf("GET /readyz answering a wrong body: got error %v, want a MismatchError naming the request", err)
	}
}
