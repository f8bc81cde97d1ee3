package auth_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
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
		func(c *auth.Config) { c.KeyRefetchInterval = -time.Second },
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

// TestKeyFetchesAreSpaced: a forged token makes go-oidc fetch the keys again
// (its signature fails against those it holds), so a stream of them would be
// a stream of requests to the issuer. Within KeyRefetchInterval the last
// answer is used again; after it, the next miss asks the issuer once more.
// A failed fetch is spaced the same way.
func TestKeyFetchesAreSpaced(t *testing.T) {
	is := authtest.NewIssuer(t)
	now := time.Now()
	cfg := is.Config()
	cfg.KeyRefetchInterval = time.Minute
	cfg.Now = func() time.Time { return now }
	v, err := auth.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(t.Context(), is.Token(auth.RoleRead)); err != nil {
		t.Fatalf("Verify(good token) = %v", err)
	}
	if n := is.Fetches(); n != 1 {
		t.Fatalf("keys fetched %d times for the first token; want 1", n)
	}
	forged := is.SignWithOtherKey(authtest.Claims{Roles: []string{auth.RoleRead}})
	for range 20 {
		var ae *auth.Error
		if _, err := v.Verify(t.Context(), forged); !errors.As(err, &ae) || ae.Unavailable {
			t.Fatalf("Verify(forged token) = %v; want it refused", err)
		}
	}
	if n := is.Fetches(); n != 1 {
		t.Errorf("keys fetched %d times after 20 forged tokens within the interval; want still 1", n)
	}
	if _, err := v.Verify(t.Context(), is.Token(auth.RoleRead)); err != nil {
		t.Errorf("Verify(good token) after the forged ones = %v", err)
	}

	now = now.Add(time.Minute)
	if _, err := v.Verify(t.Context(), forged); err == nil {
		t.Fatal("Verify(forged token) succeeded")
	}
	if n := is.Fetches(); n != 2 {
		t.Errorf("keys fetched %d times after the interval passed; want 2", n)
	}

	// A JWKS URL that redirects: each URL's answer is kept on its own, so the
	// redirect is followed to the keys.
	moved := httptest.NewServer(http.RedirectHandler(is.JWKS, http.StatusFound))
	defer moved.Close()
	cfg.JWKSURL = moved.URL
	v, err = auth.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := v.Verify(t.Context(), is.Token(auth.RoleRead)); err != nil {
			t.Fatalf("Verify through a redirecting JWKS URL = %v", err)
		}
	}
	if n := is.Fetches(); n != 3 {
		t.Errorf("keys fetched %d times in all; want 3 (one more, through the redirect)", n)
	}

	var downHits atomic.Int64
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		downHits.Add(1)
		http.Error(w, "down", http.StatusServiceUnavailable)
	}))
	defer down.Close()
	cfg.JWKSURL = down.URL
	v, err = auth.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		var ae *auth.Error
		if _, err := v.Verify(t.Context(), is.Token(auth.RoleRead)); !errors.As(err, &ae) || !ae.Unavailable {
			t.Fatalf("Verify with the keys unreachable = %v; want an unavailable *auth.Error", err)
		}
	}
	if n := downHits.Load(); n != 1 {
		t.Errorf("an unreachable issuer was asked %d times within the interval; want 1", n)
	}
}
