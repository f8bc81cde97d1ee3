package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
)

// MaxBodyBytes is the largest request body accepted (64 KiB).
const MaxBodyBytes = 64 << 10

// Media types a command body may have. PATCH also takes the merge-patch type
// (RFC 7396), which says exactly what the body is.
const (
	mediaJSON       = "application/json"
	mediaMergePatch = "application/merge-patch+json"
)

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
	if slices.Contains(accepted, mediaMergePatch) {
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

// member is one name/value pair of a JSON object, its value still undecoded.
type member struct {
	name  string
	value json.RawMessage
}

// decodeObject reads body as exactly one JSON object and returns its members
// in order. It refuses invalid UTF-8 (which encoding/json would silently
// replace), anything but an object, a name given twice, and anything after
// the object but white space.
func decodeObject(body []byte) ([]member, error) {
	if !utf8.Valid(body) {
		return nil, malformed("the body is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber() // so that a top-level 1e400 is "a number", not an overflow
	tok, err := dec.Token()
	if errors.Is(err, io.EOF) {
		return nil, malformed("the body is empty; a JSON object is required")
	}
	if err != nil {
		return nil, syntaxError(err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, malformed("the body must be a JSON object, not %s", jsonKind(tok))
	}
	var members []member
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, syntaxError(err)
		}
		name, _ := tok.(string) // inside an object the decoder yields only string names
		var value json.RawMessage
		if err := dec.Decode(&value); err != nil {
			return nil, syntaxError(err)
		}
		if seen[name] {
			return nil, invalid(fieldName(name), "appears more than once")
		}
		seen[name] = true
		members = append(members, member{name: name, value: value})
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, syntaxError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, malformed("the body has data after the JSON object")
	}
	return members, nil
}

// syntaxError explains why the body is not JSON, with where when known.
func syntaxError(err error) error {
	var se *json.SyntaxError
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return malformed("the body ends before its JSON object does")
	case errors.As(err, &se):
		return malformed("the body is not valid JSON: %v (at byte %d)", se, se.Offset)
	}
	return malformed("the body is not valid JSON: %v", err)
}

// jsonKind names what a JSON token is, for messages.
func jsonKind(tok json.Token) string {
	switch t := tok.(type) {
	case json.Delim:
		if t == '[' {
			return "an array"
		}
		return "an object"
	case string:
		return "a string"
	case float64, json.Number:
		return "a number"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	}
	return "something else"
}

// rawKind names what a raw JSON value is, from its first byte.
func rawKind(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '"':
		return "a string"
	case '{':
		return "an object"
	case '[':
		return "an array"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

// maxFieldName bounds how much of an unknown name is echoed in a problem.
const maxFieldName = 64

// fieldName is name as it may appear in a problem: not absurdly long.
func fieldName(name string) string {
	if utf8.RuneCountInString(name) <= maxFieldName {
		return name
	}
	return string([]rune(name)[:maxFieldName]) + "…"
}
