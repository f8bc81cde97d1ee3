package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/dropoff-dev/dropoff/src/bus"
	"github.com/dropoff-dev/dropoff/src/command"
	"github.com/dropoff-dev/dropoff/src/shipment"
)

// Problem types: stable URIs, listed in the package doc. A client switches on
// Type; Title and Detail are for people and may change.
const (
	problemBase                 = "https://dropoff.dev/problems/"
	ProblemValidation           = problemBase + "validation"
	ProblemMalformedBody        = problemBase + "malformed-body"
	ProblemUnauthorized         = problemBase + "unauthorized"
	ProblemForbidden            = problemBase + "forbidden"
	ProblemNotFound             = problemBase + "not-found"
	ProblemMethodNotAllowed     = problemBase + "method-not-allowed"
	ProblemPayloadTooLarge      = problemBase + "payload-too-large"
	ProblemUnsupportedMediaType = problemBase + "unsupported-media-type"
	ProblemInternal             = problemBase + "internal"
	ProblemUnavailable          = problemBase + "unavailable"
	ProblemNotReady             = problemBase + "not-ready"
	ProblemBadRequest           = problemBase + "bad-request"
	ProblemHeadersTooLarge      = problemBase + "headers-too-large"
	ProblemNotImplemented       = problemBase + "not-implemented"
	ProblemOverloaded           = problemBase + "overloaded"
)

// ProblemContentType is the media type of every error response (RFC 9457).
const ProblemContentType = "application/problem+json"

// Problem is an RFC 9457 problem details object.
type Problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail,omitempty"`
	// Errors lists the offending fields of a validation problem.
	Errors []shipment.FieldError `json:"errors,omitempty"`
	// FailedChecks names the readiness checks that failed (not-ready only).
	FailedChecks []string `json:"failedChecks,omitempty"`

	// header holds response headers that belong to the problem, such as
	// Retry-After on a 503 or Accept-Patch on a 415.
	header http.Header
}

// Slug is the last part of the type URI ("validation"); it labels metrics.
func (p Problem) Slug() string { return strings.TrimPrefix(p.Type, problemBase) }

// titles gives each problem type its fixed human-readable summary.
var titles = map[string]string{
	ProblemValidation:           "The request is invalid",
	ProblemMalformedBody:        "The request body is not a JSON object",
	ProblemUnauthorized:         "Authentication required",
	ProblemForbidden:            "Forbidden",
	ProblemNotFound:             "Not found",
	ProblemMethodNotAllowed:     "Method not allowed",
	ProblemPayloadTooLarge:      "The request body is too large",
	ProblemUnsupportedMediaType: "Unsupported media type",
	ProblemInternal:             "Internal server error",
	ProblemUnavailable:          "Service unavailable",
	ProblemOverloaded:           "Too much work waiting",
	ProblemNotReady:             "Not ready",
	ProblemBadRequest:           "The request could not be read",
	ProblemHeadersTooLarge:      "The request's headers are too large",
	ProblemNotImplemented:       "Not implemented",
}

// newProblem fills in the title from the type.
func newProblem(status int, typ, detail string) Problem {
	return Problem{Type: typ, Title: titles[typ], Status: status, Detail: detail}
}

// withHeader returns p with a response header set.
func (p Problem) withHeader(key, value string) Problem {
	h := p.header.Clone()
	if h == nil {
		h = http.Header{}
	}
	h.Set(key, value)
	p.header = h
	return p
}

// problemError is a client mistake found by a handler; it carries the
// problem it becomes. Handlers return it like any error.
type problemError struct{ p Problem }

func (e *problemError) Error() string {
	if len(e.p.Errors) > 0 {
		return e.p.Detail + ": " + e.p.Errors[0].Field + ": " + e.p.Errors[0].Message
	}
	return e.p.Detail
}

// invalid reports one offending field, parameter or header (400 validation).
func invalid(field, format string, args ...any) error {
	p := newProblem(http.StatusBadRequest, ProblemValidation, "the request has invalid fields; see errors")
	p.Errors = []shipment.FieldError{{Field: field, Message: fmt.Sprintf(format, args...)}}
	return &problemError{p}
}

// malformed reports a body that is not one well-formed JSON object (400).
func malformed(format string, args ...any) error {
	p := newProblem(http.StatusBadRequest, ProblemMalformedBody, fmt.Sprintf(format, args...))
	p.Errors = []shipment.FieldError{{Field: "body", Message: p.Detail}}
	return &problemError{p}
}

// notFound reports a resource that does not exist (404).
func notFound(format string, args ...any) error {
	return &problemError{newProblem(http.StatusNotFound, ProblemNotFound, fmt.Sprintf(format, args...))}
}

// dependencyError is a failure of the queue or a database: not the client's
// fault, and likely to pass, so it becomes 503 with Retry-After.
type dependencyError struct {
	what string
	err  error
}

func (e *dependencyError) Error() string { return e.what + ": " + e.err.Error() }
func (e *dependencyError) Unwrap() error { return e.err }

// unavailable marks err as a failure of the dependency named by what.
func unavailable(what string, err error) error { return &dependencyError{what: what, err: err} }

// retryAfterUnavailable is how long a client should wait after a 503.
const retryAfterUnavailable = 5

// problemFor is the one place that maps an error to a problem. Anything it
// does not recognise is a bug: 500, with a detail that leaks nothing.
func problemFor(err error) Problem {
	var (
		pe  *problemError
		ve  *shipment.ValidationError
		de  *dependencyError
		mbe *http.MaxBytesError
		be  *command.BodyError
	)
	switch {
	case errors.As(err, &pe):
		return pe.p
	case errors.As(err, &be):
		return malformed("%s", be.Detail).(*problemError).p
	case errors.As(err, &ve):
		p := newProblem(http.StatusBadRequest, ProblemValidation, "the request has invalid fields; see errors")
		p.Errors = ve.Fields
		return p
	case errors.As(err, &mbe):
		return newProblem(http.StatusRequestEntityTooLarge, ProblemPayloadTooLarge,
			fmt.Sprintf("the request body must be at most %d bytes", mbe.Limit))
	case errors.Is(err, bus.ErrNotFound):
		return newProblem(http.StatusNotFound, ProblemNotFound, "no dead-lettered message with that sequence number")
	case errors.As(err, &de):
		return newProblem(http.StatusServiceUnavailable, ProblemUnavailable,
			fmt.Sprintf("the %s is unavailable; retry later", de.what)).
			withHeader("Retry-After", strconv.Itoa(retryAfterUnavailable))
	}
	return newProblem(http.StatusInternalServerError, ProblemInternal, "an unexpected error occurred; it has been logged")
}

// fail answers the request with the problem err maps to. A 5xx is the
// server's fault: its cause is attached to the request (c.Error) and logged
// once, with the request, by the logging middleware.
func fail(c *gin.Context, err error) Problem {
	p := problemFor(err)
	if p.Status >= http.StatusInternalServerError {
		_ = c.Error(err)
	}
	writeProblem(c, p)
	return p
}

// writeProblem sends p and stops the handler chain.
func writeProblem(c *gin.Context, p Problem) {
	for k, vs := range p.header {
		for _, v := range vs {
			c.Writer.Header().Add(k, v)
		}
	}
	writeJSON(c, p.Status, ProblemContentType, p)
	c.Abort()
}

// writeJSON sends v as JSON with the given status and media type.
func writeJSON(c *gin.Context, status int, contentType string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		// Only a bug gets here: every type this package sends marshals.
		_ = c.Error(fmt.Errorf("encode response: %w", err))
		status, contentType = http.StatusInternalServerError, ProblemContentType
		b, _ = json.Marshal(newProblem(status, ProblemInternal, "the response could not be encoded"))
	}
	c.Data(status, contentType, b)
}

// routeNotFound answers requests that match no route.
func routeNotFound(c *gin.Context) {
	writeProblem(c, newProblem(http.StatusNotFound, ProblemNotFound,
		fmt.Sprintf("no route for %s %s", c.Request.Method, c.Request.URL.Path)))
}

// methodNotAllowed answers a known path with the wrong method; gin has
// already set the Allow header.
func methodNotAllowed(c *gin.Context) {
	writeProblem(c, newProblem(http.StatusMethodNotAllowed, ProblemMethodNotAllowed,
		fmt.Sprintf("%s is not allowed here; allowed: %s", c.Request.Method, c.Writer.Header().Get("Allow"))))
}
