package shipment

import (
	"errors"
	"fmt"
	"strings"
)

// Business failures. They are outcomes of a command, not faults: the worker
// records them on the operation and completes the message.
var (
	// ErrNotFound: the command needs a shipment that does not exist (or was cancelled).
	ErrNotFound = errors.New("shipment not found")
	// ErrInvalidTransition: the command would move the status backwards, or
	// change a delivered shipment.
	ErrInvalidTransition = errors.New("invalid status transition")
	// ErrPreconditionFailed: the command named a version (If-Match) that is not
	// the shipment's current one.
	ErrPreconditionFailed = errors.New("precondition failed")
)

// FieldError names one offending input field and what is wrong with it.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// ValidationError lists every offending field of one input. It is returned by
// the Validate functions; the HTTP layer turns it into a 400 problem.
type ValidationError struct {
	Fields []FieldError
}

func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = f.Field + ": " + f.Message
	}
	return "invalid shipment: " + strings.Join(parts, "; ")
}

// add records a problem with field; it is how the validators collect errors.
func (e *ValidationError) add(field, format string, args ...any) {
	e.Fields = append(e.Fields, FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
}

// err returns e as an error, or nil when nothing was wrong.
func (e *ValidationError) err() error {
	if len(e.Fields) == 0 {
		return nil
	}
	return e
}
