package httpapi

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/dropoff-dev/dropoff/src/command"
)

// MaxBodyBytes is the largest request body accepted (64 KiB).
const MaxBodyBytes = 64 << 10

// mediaJSON is the media type of every response but a problem.
const mediaJSON = command.MediaJSON

// readBody checks the request's media type against accepted and reads the
// whole body, at most MaxBodyBytes of it.
func readBody(c *gin.Context, accepted ...string) ([]byte, error) {
	if err := checkMediaType(c.Request.Header.Get("Content-Type"), accepted); err != nil {
		return nil, err
	}
	if c.Request.ContentLength > MaxBodyBytes {
		// Refuse at once rather than read what will be thrown away.
		return nil, &http.MaxBytesError{Limit: MaxBodyBytes}
	}
	b, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, MaxBodyBytes))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return nil, tooLarge
	}
	if err != nil {
		return nil, malformed("the body could not be read: %v", err)
	}
	return b, nil
}

// checkMediaType accepts one of the accepted media types, with parameters;
// a charset, if given, must be UTF-8 (RFC 8259 allows nothing else).
func checkMediaType(header string, accepted []string) error {
	p := newProblem(http.StatusUnsupportedMediaType, ProblemUnsupportedMediaType,
		"Content-Type must be "+strings.Join(accepted, " or "))
	if slices.Contains(accepted, command.MediaMergePatch) {
		p = p.withHeader("Accept-Patch", strings.Join(accepted, ", "))
	}
	if header == "" {
		return &problemError{p}
	}
	mt, params, err := mime.ParseMediaType(header)
	if err != nil || !slices.Contains(accepted, mt) {
		return &problemError{p}
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		p.Detail = "the body must be UTF-8; charset " + cs + " is not supported"
		return &problemError{p}
	}
	return nil
}
