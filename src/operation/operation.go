package operation

import (
	"errors"
	"time"

	"github.com/dropoff-dev/dropoff/src/shipment"
)

// Status is where an operation is. NotStarted → Running? → Succeeded | Failed.
type Status string

// The statuses of an operation.
const (
	NotStarted Status = "NotStarted"
	Running    Status = "Running"
	Succeeded  Status = "Succeeded"
	Failed     Status = "Failed"
)

// Terminal reports whether the operation has ended.
func (s Status) Terminal() bool { return s == Succeeded || s == Failed }

// ErrorCode says why an operation failed.
type ErrorCode string

// The error codes a failed operation may carry.
const (
	CodeNotFound             ErrorCode = "NotFound"
	CodeInvalidTransition    ErrorCode = "InvalidTransition"
	CodePreconditionFailed   ErrorCode = "PreconditionFailed"
	CodeIdempotencyKeyReused ErrorCode = "IdempotencyKeyReused"
	CodeDeadLettered         ErrorCode = "DeadLettered"
)

// Error is the reason an operation failed.
type Error struct {
	Code    ErrorCode `json:"code"`
	Message string    `json:"message"`
}

// Operation is the state of one accepted command.
type Operation struct {
	ID         string
	Kind       string // the command kind, e.g. "shipment.upsert"
	ShipmentID string
	Status     Status
	// ResourceVersion is the shipment version the command produced; 0 when it
	// produced none (failed).
	ResourceVersion int64
	Error           *Error
	CreatedAt       time.Time // when the command API accepted the command
	LastUpdatedAt   time.Time
}

// ResourceLocation is the URL path of the shipment the operation acts on.
func (o Operation) ResourceLocation() string { return "/v1/shipments/" + o.ShipmentID }

// ErrorFor maps a business failure of the shipment domain to an operation
// error. It returns false for anything that is not a business failure: those
// are infrastructure errors, to be retried, never recorded as results.
func ErrorFor(err error) (*Error, bool) {
	var code ErrorCode
	switch {
	case errors.Is(err, shipment.ErrNotFound):
		code = CodeNotFound
	case errors.Is(err, shipment.ErrInvalidTransition):
		code = CodeInvalidTransition
	case errors.Is(err, shipment.ErrPreconditionFailed):
		code = CodePreconditionFailed
	default:
		return nil, false
	}
	return &Error{Code: code, Message: err.Error()}, true
}
