// Package auth checks the bearer tokens of Dropoff's HTTP API: JSON Web
// Tokens issued by Microsoft Entra ID (or any OpenID Connect issuer). A token
// is accepted only if its signature verifies against the issuer's published
// keys (its JWKS), its issuer and audience are the expected ones, and it has
// not expired; the app roles it carries then decide what it may do.
//
// The checks are go-oidc's (github.com/coreos/go-oidc); this package chooses
// the settings and turns its answers into a Principal or an Error that says,
// without echoing the token, why the token was refused.
package auth

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
)

// The app roles Dropoff knows. An app registration defines them (docs/deploy.md),
// and Entra ID puts those assigned to the caller in the token's roles claim.
const (
	// RoleSend may send commands (PUT, PATCH, DELETE /v1/shipments/{id}).
	RoleSend = "Commands.Send"
	// RoleRead may read shipments, operations and stats (GET /v1/...).
	RoleRead = "Data.Read"
	// RoleAdmin may manage dead letters (/admin/...).
	RoleAdmin = "DeadLetters.Manage"
)

// Config says which tokens to accept.
type Config struct {
	// Issuer must equal the token's iss claim exactly.
	Issuer string
	// Audience must be one of the token's aud claims: for Entra ID v2.0
	// tokens, the API's application (client) id.
	Audience string
	// JWKSURL is where the issuer publishes its signing keys. They are
	// fetched on the first token and again when a token's signature does not
	// verify against them (keys rotate), at most once per KeyRefetchInterval,
	// never on start-up: a start does not depend on the issuer being
	// reachable.
	JWKSURL string
	// Algorithms are the signature algorithms accepted (default RS256, the
	// one Entra ID uses). "none" is never accepted.
	Algorithms []string
	// HTTPClient fetches the keys (default http.DefaultClient with a 10s timeout).
	HTTPClient *http.Client
	// KeyRefetchInterval is the least time between two fetches of the keys
	// (default 1 minute). go-oidc fetches them again whenever a signature
	// does not verify against the keys it holds: a token naming a key not yet
	// seen, but also any forged token, which anybody can send. Unspaced, each
	// would cost a request to the issuer, and enough of them could get this
	// API's requests throttled there. In between, the last answer (keys or
	// failure) is used again, so a key published just after a fetch is seen
	// at most this late.
	KeyRefetchInterval time.Duration
	// Now is the clock expiry is checked against, and key fetches are
	// spaced by (default time.Now).
	Now func() time.Time
}

// Entra returns the Config for access tokens that Microsoft Entra ID's v2.0
// endpoint issues in tenantID for the API whose application (client) id is
// audience. The API's app registration must ask for v2.0 access tokens
// (manifest: "requestedAccessTokenVersion": 2); v1.0 tokens have another
// issuer (https://sts.windows.net/<tenant>/) and are refused.
func Entra(tenantID, audience string) Config {
	t := url.PathEscape(tenantID)
	return Config{
		Issuer:   "https://login.microsoftonline.com/" + t + "/v2.0",
		Audience: audience,
		JWKSURL:  "https://login.microsoftonline.com/" + t + "/discovery/v2.0/keys",
	}
}

// Principal is who a verified token speaks for, and what it may do.
type Principal struct {
	// Subject is the token's sub claim; ObjectID its oid (Entra ID's id of
	// the user or service principal, the same across applications).
	Subject  string
	ObjectID string
	Roles    []string
}

// Has reports whether p holds role.
func (p Principal) Has(role string) bool { return slices.Contains(p.Roles, role) }

// Error is why a token was refused. Its Error text is safe to show the
// caller: it never contains the token.
type Error struct {
	// Reason is a short phrase: "the token has expired", "the token's
	// audience is not this API", ...
	Reason string
	// Unavailable: the token could not be checked because the issuer's keys
	// could not be fetched. That is the server's trouble, not the caller's
	// (HTTP 503, not 401).
	Unavailable bool
	err         error
}

func (e *Error) Error() string { return e.Reason }
func (e *Error) Unwrap() error { return e.err }

// Verifier checks tokens. It is safe for concurrent use.
type Verifier struct {
	v   *oidc.IDTokenVerifier
	cfg Config
}

// New returns a Verifier for cfg. It makes no network call.
func New(cfg Config) (*Verifier, error) {
	if cfg.Issuer == "" || cfg.Audience == "" || cfg.JWKSURL == "" {
		return nil, errors.New("auth: Issuer, Audience and JWKSURL must all be set")
	}
	if u, err := url.Parse(cfg.JWKSURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("auth: JWKSURL %q is not an http(s) URL", cfg.JWKSURL)
	}
	if len(cfg.Algorithms) == 0 {
		cfg.Algorithms = []string{oidc.RS256}
	}
	for _, a := range cfg.Algorithms {
		if strings.EqualFold(a, "none") {
			return nil, errors.New(`auth: the algorithm "none" cannot be accepted`)
		}
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.KeyRefetchInterval < 0 {
		return nil, fmt.Errorf("auth: KeyRefetchInterval %v is negative", cfg.KeyRefetchInterval)
	}
	if cfg.KeyRefetchInterval == 0 {
		cfg.KeyRefetchInterval = time.Minute
	}
	client := *cfg.HTTPClient
	client.Transport = &spacedFetches{next: client.Transport, interval: cfg.KeyRefetchInterval, now: cfg.Now}
	// go-oidc takes its HTTP client from a context; it keeps the context for
	// later key fetches and ignores its cancellation.
	keys := oidc.NewRemoteKeySet(oidc.ClientContext(context.Background(), &client), cfg.JWKSURL)
	v := oidc.NewVerifier(cfg.Issuer, keys, &oidc.Config{
		ClientID:             cfg.Audience,
		SupportedSigningAlgs: cfg.Algorithms,
		Now:                  cfg.Now,
	})
	return &Verifier{v: v, cfg: cfg}, nil
}

// Verify checks raw, a compact JWT, and returns its Principal, or an *Error.
func (v *Verifier) Verify(ctx context.Context, raw string) (Principal, error) {
	tok, err := v.v.Verify(ctx, raw)
	if err != nil {
		// go-oidc formats the key fetch's error with %v: only its text is left.
		if msg := err.Error(); strings.Contains(msg, "fetching keys") || strings.Contains(msg, "get keys failed") {
			return Principal{}, &Error{Reason: "the issuer's signing keys cannot be fetched", Unavailable: true, err: err}
		}
		return Principal{}, &Error{Reason: reason(err), err: err}
	}
	var claims struct {
		OID   string   `json:"oid"`
		Roles []string `json:"roles"`
	}
	if err := tok.Claims(&claims); err != nil {
		return Principal{}, &Error{Reason: "the token's claims cannot be read", err: err}
	}
	return Principal{Subject: tok.Subject, ObjectID: claims.OID, Roles: claims.Roles}, nil
}

// reason turns go-oidc's error into a phrase for the caller. go-oidc has a
// type only for expiry; the rest are told apart by their text, and anything
// unrecognised gets the generic phrase.
func reason(err error) string {
	var expired *oidc.TokenExpiredError
	msg := err.Error()
	switch {
	case errors.As(err, &expired):
		return "the token has expired"
	case strings.Contains(msg, "nbf"):
		return "the token is not valid yet"
	case strings.Contains(msg, "audience"):
		return "the token's audience is not this API"
	case strings.Contains(msg, "issued by a different provider"):
		return "the token's issuer is not the one this API trusts"
	case strings.Contains(msg, "signing algorithm"), strings.Contains(msg, "malformed"), strings.Contains(msg, "parse"):
		return "the token is not a JWT signed with an accepted algorithm"
	case strings.Contains(msg, "signature"):
		return "the token's signature does not verify"
	default:
		return "the token cannot be verified"
	}
}

// spacedFetches is the key fetches' transport: at most one request to the
// issuer per URL and interval; in between, the last answer is given again.
// go-oidc already makes concurrent fetches share one request; this spaces
// the sequential ones (Config.KeyRefetchInterval). Answers are kept by URL,
// so that a redirect is followed to where it points.
type spacedFetches struct {
	next     http.RoundTripper // nil: http.DefaultTransport
	interval time.Duration
	now      func() time.Time

	mu   sync.Mutex // held through a fetch: a second caller waits for its answer
	last map[string]*fetched
}

// fetched is one answer of the issuer, kept to be given again.
type fetched struct {
	at     time.Time
	status int
	header http.Header
	body   []byte
	err    error
}

// maxKeysBody bounds the JWKS kept; Entra ID's is a few kilobytes.
const maxKeysBody = 1 << 20

func (s *spacedFetches) RoundTrip(req *http.Request) (*http.Response, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := req.URL.String()
	f := s.last[key]
	if f == nil || s.now().Sub(f.at) >= s.interval {
		f = s.fetch(req)
		f.at = s.now()
		if s.last == nil {
			s.last = map[string]*fetched{}
		}
		s.last[key] = f
	}
	if f.err != nil {
		return nil, f.err
	}
	return &http.Response{
		Status:     fmt.Sprintf("%d %s", f.status, http.StatusText(f.status)),
		StatusCode: f.status, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: f.header.Clone(), Body: io.NopCloser(bytes.NewReader(f.body)),
		ContentLength: int64(len(f.body)), Request: req,
	}, nil
}

// fetch asks the issuer, and reads its whole answer.
func (s *spacedFetches) fetch(req *http.Request) *fetched {
	next := s.next
	if next == nil {
		next = http.DefaultTransport
	}
	resp, err := next.RoundTrip(req)
	if err != nil {
		return &fetched{err: err}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxKeysBody+1))
	switch {
	case err != nil:
		return &fetched{err: fmt.Errorf("read the issuer's keys: %w", err)}
	case len(body) > maxKeysBody:
		return &fetched{err: fmt.Errorf("the issuer's keys are over %d bytes", maxKeysBody)}
	}
	return &fetched{status: resp.StatusCode, header: resp.Header, body: body}
}
