package auth_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/dropoff-dev/dropoff/src/auth"
	"github.com/dropoff-dev/dropoff/src/auth/authtest"
)

// TestVerify checks each way a token can be wrong against real signed tokens
// and a JWKS served over HTTP, and that a good one yields its roles.
func TestVerify(t *testing.T) {
	is := authtest.NewIssuer(t)
	v, err := auth.New(is.Config())
	if err != nil {
		t.Fatal(err)
	}
	past := time.Now().Add(-time.Hour)
	for _, tt := range []struct {
		name, token, reason string
	}{
		{"good", is.Sign(authtest.Claims{Subject: "alice", Roles: []string{auth.RoleSend, auth.RoleRead}}), ""},
		{"expired", is.Sign(authtest.Claims{Expiry: past, NotBefore: past.Add(-time.Hour)}), "the token has expired"},
		{"not yet valid", is.Sign(authtest.Claims{NotBefore: time.Now().Add(time.Hour)}), "the token is not valid yet"},
		{"wrong audience", is.Sign(authtest.Claims{Audience: "api://someone-else"}), "the token's audience is not this API"},
		{"wrong issuer", is.Sign(authtest.Claims{Issuer: "https://login.example/other/v2.0"}), "the token's issuer is not the one this API trusts"},
		{"wrong signature", is.SignWithOtherKey(authtest.Claims{}), "the token's signature does not verify"},
		{"alg none", is.Unsigned(authtest.Claims{Roles: []string{auth.RoleAdmin}}), "the token is not a JWT signed with an accepted algorithm"},
		{"not a jwt", "not-a-token", "the token is not a JWT signed with an accepted algorithm"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p, err := v.Verify(context.Background(), tt.token)
			if tt.reason == "" {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				if p.Subject != "alice" || !p.Has(auth.RoleSend) || !p.Has(auth.RoleRead) || p.Has(auth.RoleAdmin) {
					t.Errorf("principal = %+v", p)
				}
				return
			}
			var ae *auth.Error
			if !errors.As(err, &ae) {
				t.Fatalf("Verify = %+v, %v; want an *auth.Error", p, err)
			}
			if ae.Reason != tt.reason || ae.Unavailable {
				t.Errorf("reason = %q (unavailable %v), want %q; cause: %v", ae.Reason, ae.Unavailable, tt.reason, errors.Unwrap(ae))
			}
		})
	}
}

// TestKeysUnreachable: when the JWKS cannot be fetched, the token is not
// refused as bad but reported unavailable (the caller may retry).
func TestKeysUnreachable(t *testing.T) {
	is := authtest.NewIssuer(t)
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down", http.StatusServiceUnavailable)
	}))
	defer down.Close()
	cfg := is.Config()
	cfg.JWKSURL = down.URL
	v, err := auth.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, err = v.Verify(context.Background(), is.Token(auth.RoleRead))
	var ae *auth.Error
	if !errors.As(err, &ae) || !ae.Unavailable {
		t.Fatalf("Verify = %v; want an unavailable *auth.Error", err)
	}
}

func TestNewRefusesIncompleteConfig(t *testing.T) {
	good := auth.Config{Issuer: "https://i", Audience: "a", JWKSURL: "https://i/keys"}
	for _, bad := range []func(*auth.Config){
		func(c *auth.Config) { c.Issuer = "" },
		func(c *auth.Config) { c.Audience = "" },
		func(c *auth.Config) { c.JWKSURL = "" },
		func(c *auth.Config) { c.JWKSURL = "file:///etc/keys" },
		func(c *auth.Config) { c.Algorithms = []string{"RS256", "none"} },
	} {
		c := good
		bad(&c)
		if _, err := auth.New(c); err == nil {
			t.Errorf("New(%+v) = nil error", c)
		}
	}
	if _, err := auth.New(good); err != nil {
		t.Errorf("New(%+v): %v", good, err)
	}
}

func TestEntra(t *testing.T) {
	c := auth.Entra("contoso-tenant-id", "0000-client")
	if c.Issuer != "https://login.microsoftonline.com/contoso-tenant-id/v2.0" ||
		c.JWKSURL != "https://login.microsoftonline.com/contoso-tenant-id/discovery/v2.0/keys" || c.Audience != "0000-client" {
		t.Errorf("Entra = %+v", c)
	}
}
