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

// TestAdminWithoutAuth: with no token verification configured, the admin
// routes answer loopback clients only, judged by the connection's address.
// (With a verifier they need the admin role: TestAuth.)
func TestAdminWithoutAuth(t *testing.T) {
	tests := []struct {
		name, remote, forwardedFor string
		want                       int
	}{
		{"IPv4 loopback", "127.0.0.1:5000", "", http.StatusOK},
		{"other 127/8", "127.1.2.3:5000", "", http.StatusOK},
		{"IPv6 loopback", "[::1]:5000", "", http.StatusOK},
		{"remote", "192.0.2.7:5000", "", http.StatusForbidden},
		{"remote claiming loopback", "192.0.2.7:5000", "127.0.0.1", http.StatusForbidden},
		{"unparseable address", "somewhere", "", http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			r := req{method: "GET", target: "/admin/v1/deadletters", remote: tt.remote, header: map[string]string{}}
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
			if !strings.Contains(p.Detail, "loopback") {
				t.Errorf("detail %q: want it to say why (loopback only)", p.Detail)
			}
		})
	}
}

func TestAdminDeadLetters(t *testing.T) {
	h := newHarness(t)
	h.dead.msgs = []*bus.ReceivedMessage{deadLetter(3, `{"a":1}`), deadLetter(5, "\x00\x01binary"), deadLetter(8, `{}`)}
	admin := func(method, target string) req {
		return req{method: method, target: target, remote: "127.0.0.1:1"}
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
