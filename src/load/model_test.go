package load

import (
	"math/rand/v2"
	"net/http"
	"testing"
)

// TestModelNext checks the generator's rules: a shipment that is not live
// is (re-)created before anything else, and only commands meant to succeed
// advance the model.
func TestModelNext(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	m := &model{id: "s"}
	req := m.next(r, Delete)
	if req.method != http.MethodPut || !req.applies || req.next.version != 1 || !req.next.live {
		t.Fatalf("first command: got %s applies=%v v%d, want a PUT creating v1", req.method, req.applies, req.next.version)
	}
	*m = req.next
	for _, k := range []Kind{Fail, Invalid} {
		if req := m.next(r, k); req.applies {
			t.Errorf("%s: got applies=true, want false", k)
		}
	}
	req = m.next(r, Delete)
	if req.method != http.MethodDelete || req.next.live || req.next.version != 2 {
		t.Fatalf("delete: got %s live=%v v%d, want a DELETE to v2", req.method, req.next.live, req.next.version)
	}
	*m = req.next
	if req := m.next(r, Patch); req.method != http.MethodPut || req.next.version != 3 {
		t.Errorf("after a delete: got %s v%d, want a re-PUT to v3", req.method, req.next.version)
	}
}
