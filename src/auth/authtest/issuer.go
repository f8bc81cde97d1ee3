// Package authtest is a token issuer for tests: an RSA key, its JWKS served
// over HTTP as Entra ID serves its keys, and real signed tokens, good and bad,
// to check that the API accepts the first and refuses the others.
package authtest

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/dropoff-dev/dropoff/src/auth"
)

// Audience is the audience the issuer's Config expects.
const Audience = "api://dropoff-test"

// Issuer signs tokens with its key and serves the public half at its JWKS URL.
type Issuer struct {
	t     testing.TB
	URL   string // the issuer's identifier (its iss claim)
	JWKS  string // where its keys are served
	key   *rsa.PrivateKey
	kid   string
	other *rsa.PrivateKey // a key the JWKS does not hold, under the same kid

	fetches atomic.Int64 // requests for the JWKS
}

// NewIssuer starts an issuer; the test's cleanup stops it.
func NewIssuer(t testing.TB) *Issuer {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	is := &Issuer{t: t, key: key, other: other, kid: "test-key-1"}
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: is.kid, Algorithm: "RS256", Use: "sig"}}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		is.fetches.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(set)
	}))
	t.Cleanup(srv.Close)
	is.URL = srv.URL + "/tenant/v2.0"
	is.JWKS = srv.URL + "/keys"
	return is
}

// Fetches is how many times its keys have been asked for.
func (is *Issuer) Fetches() int64 { return is.fetches.Load() }

// Config is the auth.Config that trusts this issuer for Audience.
func (is *Issuer) Config() auth.Config {
	return auth.Config{Issuer: is.URL, Audience: Audience, JWKSURL: is.JWKS}
}

// Claims of a token; Token fills what is left zero with good values.
type Claims struct {
	Issuer    string
	Audience  string
	Subject   string
	Roles     []string
	Expiry    time.Time
	NotBefore time.Time
}

// Token is a token signed by the issuer for roles, valid for an hour.
func (is *Issuer) Token(roles ...string) string {
	return is.Sign(Claims{Roles: roles})
}

// Sign signs c with the issuer's key.
func (is *Issuer) Sign(c Claims) string { return is.sign(is.key, c) }

// SignWithOtherKey signs c with a key the JWKS does not hold, under the kid
// of one it does: a forged token whose signature must not verify.
func (is *Issuer) SignWithOtherKey(c Claims) string { return is.sign(is.other, c) }

// Unsigned is c as a token with "alg": "none" and no signature.
func (is *Issuer) Unsigned(c Claims) string {
	enc := base64.RawURLEncoding.EncodeToString
	payload, err := json.Marshal(is.claims(c))
	if err != nil {
		is.t.Fatal(err)
	}
	return enc([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + enc(payload) + "."
}

func (is *Issuer) sign(key *rsa.PrivateKey, c Claims) string {
	is.t.Helper()
	opts := (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", is.kid)
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key}, opts)
	if err != nil {
		is.t.Fatal(err)
	}
	raw, err := jwt.Signed(signer).Claims(is.claims(c)).Serialize()
	if err != nil {
		is.t.Fatal(err)
	}
	return raw
}

type wireClaims struct {
	jwt.Claims
	Roles []string `json:"roles,omitempty"`
}

func (is *Issuer) claims(c Claims) wireClaims {
	now := time.Now()
	if c.Issuer == "" {
		c.Issuer = is.URL
	}
	if c.Audience == "" {
		c.Audience = Audience
	}
	if c.Subject == "" {
		c.Subject = "test-caller"
	}
	if c.Expiry.IsZero() {
		c.Expiry = now.Add(time.Hour)
	}
	if c.NotBefore.IsZero() {
		c.NotBefore = now.Add(-time.Minute)
	}
	return wireClaims{
		Claims: jwt.Claims{
			Issuer: c.Issuer, Audience: jwt.Audience{c.Audience}, Subject: c.Subject,
			Expiry: jwt.NewNumericDate(c.Expiry), NotBefore: jwt.NewNumericDate(c.NotBefore),
			IssuedAt: jwt.NewNumericDate(now.Add(-time.Minute)),
		},
		Roles: c.Roles,
	}
}

// Bearer is the Authorization header value for tok.
func Bearer(tok string) string { return "Bearer " + strings.TrimSpace(tok) }
