package command

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strconv"
	"unicode/utf8"

	"github.com/dropoff-dev/dropoff/src/shipment"
)

// Media types a command body may have.
const (
	MediaJSON       = "application/json"
	MediaMergePatch = "application/merge-patch+json" // RFC 7396
)

// BodyError says a body is not one well-formed JSON object; the command API
// answers it with a malformed-body problem, the worker dead-letters it.
type BodyError struct{ Detail string }

func (e *BodyError) Error() string { return e.Detail }

func badBody(format string, args ...any) error {
	return &BodyError{Detail: fmt.Sprintf(format, args...)}
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
		return nil, badBody("the body is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber() // so that a top-level 1e400 is "a number", not an overflow
	tok, err := dec.Token()
	if errors.Is(err, io.EOF) {
		return nil, badBody("the body is empty; a JSON object is required")
	}
	if err != nil {
		return nil, syntaxError(err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, badBody("the body must be a JSON object, not %s", jsonKind(tok))
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
			return nil, &shipment.ValidationError{Fields: []shipment.FieldError{{Field: fieldName(name), Message: "appears more than once"}}}
		}
		seen[name] = true
		members = append(members, member{name: name, value: value})
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, syntaxError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, badBody("the body has data after the JSON object")
	}
	return members, nil
}

// syntaxError explains why the body is not JSON, with where when known.
func syntaxError(err error) error {
	var se *json.SyntaxError
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return badBody("the body ends before its JSON object does")
	case errors.As(err, &se):
		return badBody("the body is not valid JSON: %v (at byte %d)", se, se.Offset)
	}
	return badBody("the body is not valid JSON: %v", err)
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

// fieldErrors collects the problems with a body's members, at most
// maxFieldErrors of them so that a body of many bad members gets a short answer.
type fieldErrors struct {
	list []shipment.FieldError
}

const maxFieldErrors = 20

func (e *fieldErrors) add(field, message string) {
	if len(e.list) < maxFieldErrors {
		e.list = append(e.list, shipment.FieldError{Field: field, Message: message})
	}
}

// has reports whether field already has a problem.
func (e *fieldErrors) has(field string) bool {
	return slices.ContainsFunc(e.list, func(f shipment.FieldError) bool { return f.Field == field })
}

// with adds the problems the domain's Validate found, except for fields whose
// JSON type was already wrong (a number given for recipient would otherwise
// also be reported as "required"), and returns them all as one error.
func (e *fieldErrors) with(validateErr error) error {
	if ve, ok := validateErr.(*shipment.ValidationError); ok {
		for _, f := range ve.Fields {
			if !e.has(f.Field) {
				e.add(f.Field, f.Message)
			}
		}
	}
	if len(e.list) == 0 {
		return nil
	}
	return &shipment.ValidationError{Fields: e.list}
}

// str decodes a JSON string member, recording a problem (and returning
// "") when it is anything else.
func (e *fieldErrors) str(m member) string {
	var s string
	if !isString(m.value) || json.Unmarshal(m.value, &s) != nil {
		e.add(m.name, "must be a string, not "+rawKind(m.value))
		return ""
	}
	return s
}

// weight decodes weightGrams: a JSON number written as a plain integer. 1.5,
// 1e3 and numbers beyond 32 bits are refused here; the range is Validate's.
func (e *fieldErrors) weight(m member, dst *int) {
	raw := string(bytes.TrimSpace(m.value))
	n, err := strconv.ParseInt(raw, 10, 32)
	switch {
	case err == nil:
		*dst = int(n)
	case rawKind(m.value) != "a number":
		e.add(m.name, "must be a number, not "+rawKind(m.value))
	default:
		e.add(m.name, "must be a whole number of grams from "+strconv.Itoa(shipment.MinWeightGrams)+
			" to "+strconv.Itoa(shipment.MaxWeightGrams)+", without fraction or exponent")
	}
}

func isString(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) > 0 && raw[0] == '"'
}

func isNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }

// Values Sample draws from.
var (
	sampleRecipients   = []string{"Ada Lovelace", "Grace Hopper", "Alan Turing", "Edsger Dijkstra", "Barbara Liskov"}
	sampleDestinations = []string{"12 St James's Square, London", "1 Main St, Springfield", "Rue de Rivoli 5, Paris", "Unter den Linden 1, Berlin"}
	sampleServices     = []shipment.Service{shipment.Standard, shipment.Express}
)

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }
