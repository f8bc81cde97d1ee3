package httpapi

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dropoff-dev/dropoff/src/auth"
	"github.com/dropoff-dev/dropoff/src/auth/authtest"
)

// TestAuth sends each kind of route every kind of token, minted by a test
// issuer whose keys are served over HTTP, and checks the status, the problem,
// the challenge, and that a refused command is never sent.
func TestAuth(t *testing.T) {
	is := authtest.NewIssuer(t)
	v, err := auth.New(is.Config())
	if err != nil {
		t.Fatal(err)
	}
	past := time.Now().Add(-2 * time.Hour)
	all := []string{auth.RoleSend, auth.RoleRead, auth.RoleAdmin}
	tokens := []struct {
		name, authorization string
		roles               []string // the roles of a good token; nil: refused as invalid
		challenge           string   // the WWW-Authenticate a 401 carries
	}{
		{"no token", "", nil, `Bearer realm="dropoff"`},
		{"not bearer", "Basic dXNlcjpwYXNz", nil, `error="invalid_token"`},
		{"empty bearer", "Bearer ", nil, `error="invalid_token"`},
		{"expired", authtest.Bearer(is.Sign(authtest.Claims{Roles: all, Expiry: past, NotBefore: past.Add(-time.Hour)})), nil, `error_description="the token has expired"`},
		{"wrong audience", authtest.Bearer(is.Sign(authtest.Claims{Roles: all, Audience: "api://other"})), nil, `error_description="the token's audience is not this API"`},
		{"wrong issuer", authtest.Bearer(is.Sign(authtest.Claims{Roles: all, Issuer: "https://evil.example/v2.0"})), nil, `error="invalid_token"`},
		{"wrong signature", authtest.Bearer(is.SignWithOtherKey(authtest.Claims{Roles: all})), nil, `error_description="the token's signature does not verify"`},
		{"alg none", authtest.Bearer(is.Unsigned(authtest.Claims{Roles: all})), nil, `error="invalid_token"`},
		{"no roles", authtest.Bearer(is.Token()), []string{}, ""},
		{"send", authtest.Bearer(is.Token(auth.RoleSend)), []string{auth.RoleSend}, ""},
		{"read", authtest.Bearer(is.Token(auth.RoleRead)), []string{auth.RoleRead}, ""},
		{"admin", authtest.Bearer(is.Token(auth.RoleAdmin)), []string{auth.RoleAdmin}, ""},
		{"all", authtest.Bearer(is.Token(all...)), all, ""},
	}
	routes := []struct {
		name string
		r    req
		role string
		ok   int
	}{
		{"command", req{method: "PUT", target: "/v1/shipments/s1", body: validPut,
			header: map[string]string{"Content-Type": "application/json"}}, auth.RoleSend, http.StatusAccepted},
		{"patch", req{method: "PATCH", target: "/v1/shipments/s1", body: `{"status":"picked_up"}`,
			header: map[string]string{"Content-Type": "application/merge-patch+json"}}, auth.RoleSend, http.StatusAccepted},
		{"delete", req{method: "DELETE", target: "/v1/shipments/s1"}, auth.RoleSend, http.StatusAccepted},
		{"query", req{method: "GET", target: "/v1/shipments"}, auth.RoleRead, http.StatusOK},
		{"stats", req{method: "GET", target: "/v1/stats"}, auth.RoleRead, http.StatusOK},
		{"admin", req{method: "GET", target: "/admin/v1/deadletters", remote: "127.0.0.1:1"}, auth.RoleAdmin, http.StatusOK},
	}
	for _, rt := range routes {
		for _, tok := range tokens {
			t.Run(rt.name+"/"+tok.name, func(t *testing.T) {
				h := newHarness(t, func(c *Config) { c.Auth = v })
				r := rt.r
				r.header = map[string]string{}
				for k, v := range rt.r.header {
					r.header[k] = v
				}
				if tok.authorization != "" {
					r.header["Authorization"] = tok.authorization
				}
				w := h.do(t, r)
				switch {
				case tok.roles == nil:
					checkProblem(t, w, http.StatusUnauthorized, "")
					if got := w.Header().Get("WWW-Authenticate"); !strings.HasPrefix(got, `Bearer realm="dropoff"`) || !strings.Contains(got, tok.challenge) {
						t.Errorf("WWW-Authenticate = %q, want it to contain %q", got, tok.challenge)
					}
				case !slices.Contains(tok.roles, rt.role):
					p := checkProblem(t, w, http.StatusForbidden, "")
					if !strings.Contains(p.Detail, rt.role) {
						t.Errorf("detail %q: want it to name the role %s", p.Detail, rt.role)
					}
					if got := w.Header().Get("WWW-Authenticate"); !strings.Contains(got, `error="insufficient_scope"`) {
						t.Errorf("WWW-Authenticate = %q, want insufficient_scope", got)
					}
				default:
					if w.Code != rt.ok {
						t.Fatalf("status %d, want %d (body %s)", w.Code, rt.ok, w.Body)
					}
				}
				sent := len(h.sender.sent())
				if wantSent := w.Code == http.StatusAccepted; (sent == 1) != wantSent || sent > 1 {
					t.Errorf("%d commands sent for a %d answer", sent, w.Code)
				}
			})
		}
	}
}

// TestAuthLeavesProbesOpen: liveness, readiness and metrics need no token.
func TestAuthLeavesProbesOpen(t *testing.T) {
	is := authtest.NewIssuer(t)
	v, err := auth.New(is.Config())
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, func(c *Config) { c.Auth = v })
	for _, target := range []string{"/healthz", "/readyz", "/metrics"} {
		if w := h.do(t, req{method: "GET", target: target}); w.Code != http.StatusOK {
			t.Errorf("GET %s: %d, want 200", target, w.Code)
		}
	}
}

// TestAuthRoleNames: the role each group needs can be renamed.
func TestAuthRoleNames(t *testing.T) {
	is := authtest.NewIssuer(t)
	v, err := auth.New(is.Config())
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, func(c *Config) { c.Auth, c.Roles = v, Roles{Read: "Shipments.Read"} })
	get := func(roles ...string) int {
		return h.do(t, req{method: "GET", target: "/v1/stats",
			header: map[string]string{"Authorization": authtest.Bearer(is.Token(roles...))}}).Code
	}
	if got := get(auth.RoleRead); got != http.StatusForbidden {
		t.Errorf("default role name after renaming: %d, want 403", got)
	}
	if got := get("Shipments.Read"); got != http.StatusOK {
		t.Errorf("renamed role: %d, want 200", got)
	}
}
