package load

import (
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// A server that is down refuses every connection: nothing was accepted, the
// senders back off instead of hammering it, and nothing counts as an error.
func TestDownServerIsNotAccepted(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	target := "http://" + ln.Addr().String()
	ln.Close() // nothing listens there now
	rep, err := Run(t.Context(), Config{Target: target, Duration: 500 * time.Millisecond, SkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Errors != 0 || rep.NotAccepted == 0 || rep.UnknownFate != 0 || rep.Accepted != 0 {
		t.Errorf("against a down server: errors %d, not accepted %d, unknown fate %d, accepted %d; want only not accepted",
			rep.Errors, rep.NotAccepted, rep.UnknownFate, rep.Accepted)
	}
	// 32 senders backing off from 10ms doubling send about 7 requests each in
	// half a second; without backing off they send thousands.
	if rep.Sent > 32*10 {
		t.Errorf("sent %d requests to a down server in 0.5s: the senders do not back off", rep.Sent)
	}
}

// A 503 is not accepted either, and not an error.
func TestRefusalIsNotAccepted(t *testing.T) {
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	rep, err := Run(t.Context(), Config{Target: srv.URL, Duration: 300 * time.Millisecond, SkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Errors != 0 || rep.NotAccepted == 0 || rep.NotAccepted != calls.Load() {
		t.Errorf("against a server answering 503: errors %d, not accepted %d of %d calls; want every call not accepted",
			rep.Errors, rep.NotAccepted, calls.Load())
	}
}
