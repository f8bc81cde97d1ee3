package httpapi

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/dropoff-dev/dropoff/src/auth"
)

// TokenVerifier checks a bearer token and says who it speaks for
// (*auth.Verifier). Its errors should be *auth.Error.
type TokenVerifier interface {
	Verify(ctx context.Context, raw string) (auth.Principal, error)
}

// realm names the protection space in WWW-Authenticate (RFC 6750, 3).
const realm = `Bearer realm="dropoff"`

// principalKey is where guard leaves the caller's Principal in the gin context.
const principalKey = "dropoff.principal"

// guard is the middleware in front of a group of routes: with a verifier, a
// request passes only with a valid bearer token that holds role; without one
// (the open mode, which cmd/dropoff allows only on a loopback address or
// when told explicitly), every request passes.
//
// The answers follow RFC 6750: no token or a bad one is 401 with a
// WWW-Authenticate challenge (error="invalid_token" when a token was sent), a
// valid token without the role is 403 (error="insufficient_scope"). A token
// that cannot be checked because the issuer's keys are out of reach is 503:
// the caller did nothing wrong and may retry.
func guard(v TokenVerifier, role string) gin.HandlerFunc {
	return func(c *gin.Context) {
		if v == nil {
			return
		}
		p, err := authenticate(c, v)
		if err != nil {
			writeProblem(c, authProblem(err))
			return
		}
		if !p.Has(role) {
			writeProblem(c, newProblem(http.StatusForbidden, ProblemForbidden,
				"the token does not hold the app role "+role+", which this route needs").
				withHeader("WWW-Authenticate", realm+`, error="insufficient_scope", error_description="the app role `+role+` is needed"`))
			return
		}
		c.Set(principalKey, p)
	}
}

// errNoToken: the request has no bearer token at all.
var errNoToken = errors.New("httpapi: no bearer token")

func authenticate(c *gin.Context, v TokenVerifier) (auth.Principal, error) {
	h := c.Request.Header.Get("Authorization")
	if h == "" {
		return auth.Principal{}, errNoToken
	}
	scheme, raw, _ := strings.Cut(h, " ")
	raw = strings.TrimSpace(raw)
	if !strings.EqualFold(scheme, "Bearer") || raw == "" {
		return auth.Principal{}, &auth.Error{Reason: "the Authorization header must be Bearer <token>"}
	}
	return v.Verify(c.Request.Context(), raw)
}

func authProblem(err error) Problem {
	if errors.Is(err, errNoToken) {
		return newProblem(http.StatusUnauthorized, ProblemUnauthorized,
			"this route needs Authorization: Bearer <token>, an access token for this API").
			withHeader("WWW-Authenticate", realm)
	}
	var ae *auth.Error
	if !errors.As(err, &ae) {
		ae = &auth.Error{Reason: "the token cannot be verified"}
	}
	if ae.Unavailable {
		return newProblem(http.StatusServiceUnavailable, ProblemUnavailable,
			"the token cannot be checked now: "+ae.Reason).
			withHeader("Retry-After", "5")
	}
	return newProblem(http.StatusUnauthorized, ProblemUnauthorized, "the bearer token is refused: "+ae.Reason).
		withHeader("WWW-Authenticate", realm+`, error="invalid_token", error_description="`+ae.Reason+`"`)
}
