package httpapi

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/dropoff-dev/dropoff/src/bus"
)

func deadLetter(seq int64, body string) *bus.ReceivedMessage {
	return &bus.ReceivedMessage{
		Message: bus.Message{ID: "m" + strconv.FormatInt(seq, 10), SessionID: "s1", Subject: "shipment.upsert",
			ContentType: "application/json", Properties: map[string]string{"schemaVersion": "9"}, Body: []byte(body)},
		SequenceNumber: seq, DeliveryCount: 1, EnqueuedAt: testNow,
		DeadLetterReason: "UnsupportedSchemaVersion", DeadLetterDescription: "schemaVersion 9",
	}
}

func TestAdminAuth(t *testing.T) {
	tests := []struct {
		name, token, remote, authorization, forwardedFor string
		want                                             int
	}{
		{"token: none given", "s3cret", "127.0.0.1:1", "", "", http.StatusUnauthorized},
		{"token: wrong", "s3cret", "127.0.0.1:1", "Bearer s3cre", "", http.StatusUnauthorized},
		{"token: wrong scheme", "s3cret", "127.0.0.1:1", "Basic s3cret", "", http.StatusUnauthorized},
		{"token: right", "s3cret", "192.0.2.7:1", "Bearer s3cret", "", http.StatusOK},
		{"token: right, scheme in lower case", "s3cret", "192.0.2.7:1", "bearer s3cret", "", http.StatusOK},
		{"no token: IPv4 loopback", "", "127.0.0.1:5000", "", "", http.StatusOK},
		{"no token: other 127/8", "", "127.1.2.3:5000", "", "", http.StatusOK},
		{"no token: IPv6 loopback", "", "[::1]:5000", "", "", http.StatusOK},
		{"no token: remote", "", "192.0.2.7:5000", "", "", http.StatusForbidden},
		{"no token: remote claiming loopback", "", "192.0.2.7:5000", "", "127.0.0.1", http.StatusForbidden},
		{"no token: unparseable address", "", "somewhere", "", "", http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, func(c *Config) { c.AdminToken = tt.token })
			r := req{method: "GET", target: "/admin/v1/deadletters", remote: tt.remote, header: map[string]string{}}
			if tt.authorization != "" {
				r.header["Authorization"] = tt.authorization
			}
			if tt.forwardedFor != "" {
				r.header["X-Forwarded-For"] = tt.forwardedFor
			}
			w := h.do(t, r)
			if tt.want == http.StatusOK {
				if w.Code != http.StatusOK {
					t.Fatalf("status: got %d, want 200 (body %s)", w.Code, w.Body)
				}
				return
			}
			p := checkProblem(t, w, tt.want, "")
			if tt.want == http.StatusForbidden && !strings.Contains(p.Detail, "DROPOFF_ADMIN_TOKEN") {
				t.Errorf("detail %q: want it to name DROPOFF_ADMIN_TOKEN", p.Detail)
			}
			if tt.want == http.StatusUnauthorized && w.Header().Get("WWW-Authenticate") == "" {
				t.Errorf("401 without WWW-Authenticate")
			}
		})
	}
}

func TestAdminDeadLetters(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.AdminToken = "tok" })
	h.dead.msgs = []*bus.ReceivedMessage{deadLetter(3, `{"a":1}`), deadLetter(5, "\x00\x01binary"), deadLetter(8, `{}`)}
	admin := func(method, target string) req {
		return req{method: method, target: target, header: map[string]string{"Authorization": "Bearer tok"}}
	}

	w := h.do(t, admin("GET", "/admin/v1/deadletters?from=4&limit=1"))
	if w.Code != http.StatusOK {
		t.Fatalf("list: got %d, want 200 (body %s)", w.Code, w.Body)
	}
	page := decode[DeadLetterPage](t, w)
	want := DeadLetterPage{NextFrom: 8, Items: []DeadLetter{{SequenceNumber: 5, MessageID: "m5", SessionID: "s1",
		Subject: "shipment.upsert", ContentType: "application/json", Properties: map[string]string{"schemaVersion": "9"},
		BodyBase64: []byte("\x00\x01binary"), DeliveryCount: 1, EnqueuedAt: testNow,
		DeadLetterReason: "UnsupportedSchemaVersion", DeadLetterDescription: "schemaVersion 9"}}}
	if diff := cmp.Diff(want, page); diff != "" {
		t.Errorf("list (-want +got):\n%s", diff)
	}

	w = h.do(t, admin("GET", "/admin/v1/deadletters/3"))
	if w.Code != http.StatusOK {
		t.Fatalf("show: got %d, want 200 (body %s)", w.Code, w.Body)
	}
	if got := decode[DeadLetter](t, w); string(got.Body) != `{"a":1}` || got.SequenceNumber != 3 {
		t.Errorf("show: got seq %d body %s, want 3 {\"a\":1}", got.SequenceNumber, got.Body)
	}
	checkProblem(t, h.do(t, admin("GET", "/admin/v1/deadletters/4")), http.StatusNotFound, "")
	checkProblem(t, h.do(t, admin("GET", "/admin/v1/deadletters/x")), http.StatusBadRequest, "seq")
	checkProblem(t, h.do(t, admin("GET", "/admin/v1/deadletters?limit=0")), http.StatusBadRequest, "limit")
	checkProblem(t, h.do(t, admin("GET", "/admin/v1/deadletters?from=-1")), http.StatusBadRequest, "from")

	if w := h.do(t, admin("POST", "/admin/v1/deadletters/5/resubmit")); w.Code != http.StatusNoContent {
		t.Fatalf("resubmit: got %d, want 204 (body %s)", w.Code, w.Body)
	}
	if diff := cmp.Diff([]int64{5}, h.dead.resubmitted); diff != "" {
		t.Errorf("resubmitted (-want +got):\n%s", diff)
	}
	checkProblem(t, h.do(t, admin("POST", "/admin/v1/deadletters/5/resubmit")), http.StatusNotFound, "")

	w = h.do(t, admin("DELETE", "/admin/v1/deadletters"))
	if w.Code != http.StatusOK || w.Body.String() != `{"purged":2}` {
		t.Errorf("purge: got %d %s, want 200 {\"purged\":2}", w.Code, w.Body)
	}

	h.dead.err = errors.New("bus down")
	for _, r := range []req{admin("GET", "/admin/v1/deadletters"), admin("GET", "/admin/v1/deadletters/3"),
		admin("POST", "/admin/v1/deadletters/3/resubmit"), admin("DELETE", "/admin/v1/deadletters")} {
		checkProblem(t, h.do(t, r), http.StatusServiceUnavailable, "")
	}
}
