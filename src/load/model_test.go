package load

import (
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"

	"github.com/dropoff-dev/dropoff/src/command"
)

// TestModelNext checks the generator's rules: a shipment that is not live
// is (re-)created before anything else, and only commands meant to succeed
// advance the model.
func TestModelNext(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	m := &model{id: "s"}
	req := m.next(r, "delete")
	if req.method != http.MethodPut || !req.applies || req.next.version != 1 || !req.next.live {
		t.Fatalf("first command: got %s applies=%v v%d, want a PUT creating v1", req.method, req.applies, req.next.version)
	}
	*m = req.next
	for _, k := range []Kind{Fail, Invalid} {
		if req := m.next(r, k); req.applies {
			t.Errorf("%s: got applies=true, want false", k)
		}
	}
	req = m.next(r, "delete")
	if req.method != http.MethodDelete || req.next.live || req.next.version != 2 {
		t.Fatalf("delete: got %s live=%v v%d, want a DELETE to v2", req.method, req.next.live, req.next.version)
	}
	*m = req.next
	if req := m.next(r, "patch"); req.method != http.MethodPut || req.next.version != 3 {
		t.Errorf("after a delete: got %s v%d, want a re-PUT to v3", req.method, req.next.version)
	}
}

// TestModelSendsEveryKindToItsRoute: every command kind in a mix is sent to
// its own route, with its own media type.
func TestModelSendsEveryKindToItsRoute(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	m := &model{id: "s-1"}
	*m = m.next(r, "put").next // live, so that every kind can apply
	for _, s := range command.Specs() {
		req := m.next(r, Kind(s.Name))
		if want := strings.Replace(s.Path, ":id", "s-1", 1); req.method != s.Method || req.path != want {
			t.Errorf("%s: got %s %s, want %s %s", s.Name, req.method, req.path, s.Method, want)
		}
		if got := req.header.Get("Content-Type"); len(s.Media) > 0 && got != s.Media[0] {
			t.Errorf("%s: Content-Type %q, want %q", s.Name, got, s.Media[0])
		}
	}
}
