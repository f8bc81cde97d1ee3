package httpapi

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestHealthz(t *testing.T) {
	// Liveness touches no dependency: it answers even when all are down.
	h := newHarness(t, func(c *Config) {
		c.Ready = []ReadyCheck{{Name: "db", Check: func(context.Context) error { return errors.New("down") }}}
	})
	h.queries.setErr(errors.New("down"))
	w := h.do(t, req{method: "GET", target: "/healthz"})
	if w.Code != http.StatusOK || w.Body.String() != `{"status":"ok"}` {
		t.Errorf("healthz: got %d %s, want 200 {\"status\":\"ok\"}", w.Code, w.Body)
	}
}

func TestReadyz(t *testing.T) {
	ok := func(context.Context) error { return nil }
	down := func(context.Context) error { return errors.New("connection refused") }
	hangs := func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }
	tests := []struct {
		name   string
		checks []ReadyCheck
		failed []string // nil: ready
	}{
		{"no checks", nil, nil},
		{"all pass", []ReadyCheck{{"queue", ok}, {"read-db", ok}}, nil},
		{"one fails", []ReadyCheck{{"queue", ok}, {"read-db", down}}, []string{"read-db"}},
		{"one hangs past the timeout", []ReadyCheck{{"queue", hangs}, {"read-db", ok}}, []string{"queue"}},
		{"all fail", []ReadyCheck{{"queue", down}, {"read-db", hangs}}, []string{"queue", "read-db"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, func(c *Config) { c.Ready, c.ReadyTimeout = tt.checks, 50*time.Millisecond })
			w := h.do(t, req{method: "GET", target: "/readyz"})
			if tt.failed == nil {
				if w.Code != http.StatusOK {
					t.Errorf("status: got %d, want 200 (body %s)", w.Code, w.Body)
				}
				return
			}
			p := checkProblem(t, w, http.StatusServiceUnavailable, "")
			if diff := cmp.Diff(tt.failed, p.FailedChecks); diff != "" {
				t.Errorf("failedChecks (-want +got):\n%s", diff)
			}
			if p.Type != ProblemNotReady {
				t.Errorf("type: got %q, want %q", p.Type, ProblemNotReady)
			}
		})
	}
}
