package httpapi

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dropoff-dev/dropoff/src/auth"
	"github.com/dropoff-dev/dropoff/src/auth/authtest"
	"github.com/dropoff-dev/dropoff/src/command"
	"github.com/dropoff-dev/dropoff/src/live"
)

// fakeSwitch is a LabSwitch.
type fakeSwitch struct {
	mu     sync.Mutex
	paused bool
}

func (s *fakeSwitch) Pause()  { s.mu.Lock(); s.paused = true; s.mu.Unlock() }
func (s *fakeSwitch) Resume() { s.mu.Lock(); s.paused = false; s.mu.Unlock() }
func (s *fakeSwitch) Paused() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.paused
}

// fakeKnob is a LabKnob.
type fakeKnob struct{ d time.Duration }

func (k *fakeKnob) Set(d time.Duration) { k.d = d }
func (k *fakeKnob) Get() time.Duration  { return k.d }

const loopbackListener = "127.0.0.1:8080"

// labHarness has every control, and a hub for the lab's events, and
// listens on a loopback address.
func labHarness(t *testing.T) (*harness, *fakeSwitch, *fakeKnob, *int, *live.Hub) {
	return labHarnessOn(t, loopbackListener)
}

// labHarnessOn is labHarness listening on listen ("": no address known).
func labHarnessOn(t *testing.T, listen string) (*harness, *fakeSwitch, *fakeKnob, *int, *live.Hub) {
	t.Helper()
	hub, err := live.New(live.Config{})
	if err != nil {
		t.Fatal(err)
	}
	sw, knob, restarts := &fakeSwitch{}, &fakeKnob{}, new(int)
	h := newHarness(t, func(c *Config) {
		c.Live = hub
		c.Lab = LabControls{Worker: sw, WriteDelay: knob, RestartWorker: func(context.Context) error { *restarts++; return nil }}
		if listen != "" {
			c.ListenAddr = net.TCPAddrFromAddrPort(netip.MustParseAddrPort(listen))
		}
	})
	return h, sw, knob, restarts, hub
}

// TestLabAnswersOnlyOnLoopback: the lab answers when the server listens on
// a loopback address (and the admin rule lets the caller in), and refuses
// with 403 on any other listener, whoever asks.
func TestLabAnswersOnlyOnLoopback(t *testing.T) {
	for _, listen := range []string{"", "10.0.0.4:8080", "[::]:8080", "0.0.0.0:8080"} {
		h, _, _, _, _ := labHarnessOn(t, listen)
		// Even a loopback client: a listener on 0.0.0.0 takes connections
		// from anywhere, and the lab is off there.
		p := checkProblem(t, h.do(t, req{method: "GET", target: "/admin/lab", remote: "127.0.0.1:1"}), http.StatusForbidden, "")
		if !strings.Contains(p.Detail, "loopback") {
			t.Errorf("listening on %q: detail %q; want it to name the loopback rule", listen, p.Detail)
		}
	}
	for _, listen := range []string{loopbackListener, "[::1]:8080", "127.0.0.2:80"} {
		h, _, _, _, _ := labHarnessOn(t, listen)
		w := h.do(t, req{method: "GET", target: "/admin/lab", remote: "127.0.0.1:1"})
		if w.Code != http.StatusOK {
			t.Errorf("listening on %s: GET /admin/lab = %d %s, want 200", listen, w.Code, w.Body)
		}
		// The admin routes' rule comes first: a client from elsewhere is refused.
		checkProblem(t, h.do(t, req{method: "GET", target: "/admin/lab"}), http.StatusForbidden, "")
	}
}

// TestLabForAdmins: beyond loopback the lab answers only when the process was
// told it may (LabForAdmins, with token checking on), and then only to a
// token holding the admin role.
func TestLabForAdmins(t *testing.T) {
	is := authtest.NewIssuer(t)
	v, err := auth.New(is.Config())
	if err != nil {
		t.Fatal(err)
	}
	deployed := net.TCPAddrFromAddrPort(netip.MustParseAddrPort("0.0.0.0:8080"))
	for _, tt := range []struct {
		name      string
		forAdmins bool
		token     string
		want      int
	}{
		{"off by default, even for an admin", false, is.Token(auth.RoleAdmin), http.StatusForbidden},
		{"on, an admin", true, is.Token(auth.RoleAdmin), http.StatusOK},
		{"on, a reader", true, is.Token(auth.RoleRead), http.StatusForbidden},
		{"on, no token", true, "", http.StatusUnauthorized},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, func(c *Config) {
				c.Auth, c.LabForAdmins, c.ListenAddr = v, tt.forAdmins, deployed
				c.Lab = LabControls{Worker: &fakeSwitch{}}
			})
			r := req{method: "GET", target: "/admin/lab", header: map[string]string{}}
			if tt.token != "" {
				r.header["Authorization"] = authtest.Bearer(tt.token)
			}
			if w := h.do(t, r); w.Code != tt.want {
				t.Errorf("GET /admin/lab = %d %s, want %d", w.Code, w.Body, tt.want)
			}
		})
	}
}

// labDo sends a lab request as a loopback client to a loopback listener.
func labDo(t *testing.T, h *harness, method, target, body string) *httptest.ResponseRecorder {
	t.Helper()
	return h.do(t, req{method: method, target: target, body: body, header: jsonHeader, remote: "127.0.0.1:1"})
}

// TestLabSwitches: pause, resume and restart reach their controls, publish
// a lab event and answer with the new state; a part the process does not
// run, or an action it does not have, is a 404.
func TestLabSwitches(t *testing.T) {
	h, sw, knob, restarts, hub := labHarness(t)
	if r := labDo(t, h, "POST", "/admin/lab/worker/pause", ""); r.Code != http.StatusOK || !sw.Paused() ||
		decode[LabState](t, r).Worker != "paused" {
		t.Errorf("pause: %d %s, paused %v; want 200, worker paused", r.Code, r.Body, sw.Paused())
	}
	if r := labDo(t, h, "POST", "/admin/lab/worker/resume", ""); r.Code != http.StatusOK || sw.Paused() {
		t.Errorf("resume: %d %s, paused %v; want 200, running", r.Code, r.Body, sw.Paused())
	}
	if r := labDo(t, h, "POST", "/admin/lab/worker/restart", ""); r.Code != http.StatusOK || *restarts != 1 {
		t.Errorf("restart: %d %s, %d restarts; want 200, 1", r.Code, r.Body, *restarts)
	}
	if r := labDo(t, h, "PUT", "/admin/lab/write-delay", `{"delay":"250ms"}`); r.Code != http.StatusOK || knob.d != 250*time.Millisecond ||
		decode[LabState](t, r).WriteDelay != "250ms" {
		t.Errorf("write delay: %d %s, knob %v; want 200, 250ms", r.Code, r.Body, knob.d)
	}
	var texts []string
	s, backlog, _, err := hub.Subscribe("")
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	for _, e := range backlog {
		texts = append(texts, e.Text)
	}
	if got := strings.Join(texts, "; "); got != "worker paused; worker resumed; worker restarted; write store delay set to 250ms" {
		t.Errorf("lab events %q", got)
	}
	for _, bad := range []struct{ method, target, body string }{
		{"POST", "/admin/lab/projector/pause", ""}, // no projector here
		{"POST", "/admin/lab/worker/explode", ""},
		{"POST", "/admin/lab/projector/restart", ""},
	} {
		if r := labDo(t, h, bad.method, bad.target, bad.body); r.Code != http.StatusNotFound {
			t.Errorf("%s %s = %d %s, want 404", bad.method, bad.target, r.Code, r.Body)
		}
	}
	for _, body := range []string{`{"delay":"-1s"}`, `{"delay":"11s"}`, `{"delay":"soon"}`, `{}`} {
		if r := labDo(t, h, "PUT", "/admin/lab/write-delay", body); r.Code != http.StatusBadRequest {
			t.Errorf("write delay %s = %d, want 400", body, r.Code)
		}
	}
}

// TestLabBurst: a burst sends N commands spread over M shipments, as the
// command API sends them (decodable, with the queue's time to live), each
// shipment's in order; bad sizes are 400s.
func TestLabBurst(t *testing.T) {
	h, _, _, _, _ := labHarness(t)
	r := labDo(t, h, "POST", "/admin/lab/burst", `{"commands":250,"shipments":3,"prefix":"b"}`)
	if r.Code != http.StatusAccepted {
		t.Fatalf("burst = %d %s, want 202", r.Code, r.Body)
	}
	res := decode[BurstResult](t, r)
	if res.Accepted != 250 || strings.Join(res.Shipments, ",") != "b-000,b-001,b-002" {
		t.Errorf("burst result %+v; want 250 accepted over b-000..b-002", res)
	}
	sent := h.sender.sent()
	perShipment := map[string]int{}
	for _, m := range sent {
		cmd, err := command.Decode(m)
		if err != nil {
			t.Fatalf("a burst message does not decode: %v", err)
		}
		perShipment[cmd.ShipmentID]++
		if m.SessionID != cmd.ShipmentID || m.TimeToLive != DefaultOperationTTL {
			t.Errorf("message of %s: session %q, ttl %v; want its shipment's session and the operation TTL", cmd.ShipmentID, m.SessionID, m.TimeToLive)
		}
	}
	if len(sent) != 250 || perShipment["b-000"] != 84 || perShipment["b-001"] != 83 || perShipment["b-002"] != 83 {
		t.Errorf("sent %d messages, per shipment %v; want 250 as 84, 83, 83", len(sent), perShipment)
	}
	for _, body := range []string{`{"commands":0,"shipments":1}`, `{"commands":10001,"shipments":1}`,
		`{"commands":5,"shipments":6}`, `{"commands":5,"shipments":0}`, `{"commands":5,"shipments":1,"prefix":"a/b"}`} {
		if r := labDo(t, h, "POST", "/admin/lab/burst", body); r.Code != http.StatusBadRequest {
			t.Errorf("burst %s = %d, want 400", body, r.Code)
		}
	}
	if r := labDo(t, h, "POST", "/admin/lab/burst", `not json`); r.Code != http.StatusBadRequest {
		t.Errorf("burst of a body that is not JSON = %d, want 400", r.Code)
	}
	h.sender.err = errors.New("fake: queue down")
	if r := labDo(t, h, "POST", "/admin/lab/burst", `{"commands":1,"shipments":1}`); r.Code != http.StatusServiceUnavailable {
		t.Errorf("burst with the queue down = %d, want 503", r.Code)
	}
}

// TestLabPoison: a poison message goes to the chosen shipment's session and
// is one the worker cannot decode (dead-lettered at once, MalformedCommand),
// while its envelope names the operation and the shipment (so the
// dead-letter recorder can record its outcome).
func TestLabPoison(t *testing.T) {
	h, _, _, _, _ := labHarness(t)
	r := labDo(t, h, "POST", "/admin/lab/poison", `{"shipmentId":"parcel-1"}`)
	if r.Code != http.StatusAccepted {
		t.Fatalf("poison = %d %s, want 202", r.Code, r.Body)
	}
	res := decode[PoisonResult](t, r)
	if got := r.Header().Get("Location"); got != "/v1/operations/"+res.OperationID {
		t.Errorf("Location %q; want the operation's", got)
	}
	sent := h.sender.sent()
	if len(sent) != 1 || sent[0].SessionID != "parcel-1" || command.ShipmentOf(sent[0]) != "parcel-1" ||
		sent[0].Properties[command.PropOperationID] != res.OperationID {
		t.Fatalf("sent %+v; want one message in session parcel-1 for operation %s", sent, res.OperationID)
	}
	var de *command.DecodeError
	if _, err := command.Decode(sent[0]); !errors.As(err, &de) || de.Reason != command.ReasonMalformed {
		t.Errorf("Decode(poison) = %v; want a MalformedCommand decode error", err)
	}
	for _, body := range []string{`{"shipmentId":""}`, `{"shipmentId":"a b"}`, `{}`} {
		if r := labDo(t, h, "POST", "/admin/lab/poison", body); r.Code != http.StatusBadRequest {
			t.Errorf("poison %s = %d, want 400", body, r.Code)
		}
	}
}
