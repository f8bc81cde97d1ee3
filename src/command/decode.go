package command

import (
	"fmt"
	"strconv"
	"time"

	"github.com/dropoff-dev/dropoff/src/bus"
	"github.com/dropoff-dev/dropoff/src/operation"
	"github.com/dropoff-dev/dropoff/src/shipment"
)

// Dead-letter reasons for messages the worker cannot process.
const (
	ReasonUnknownKind        = "UnknownKind"
	ReasonUnsupportedVersion = "UnsupportedSchemaVersion"
	ReasonMalformed          = "MalformedCommand"
)

// DecodeError says why a message is not a command this worker can process.
// Such a message is dead-lettered at once: delivering it again cannot help.
type DecodeError struct {
	Reason      string // a dead-letter reason: one of the Reason constants
	Description string
}

func (e *DecodeError) Error() string { return "decode command: " + e.Reason + ": " + e.Description }

func malformed(format string, args ...any) *DecodeError {
	return &DecodeError{Reason: ReasonMalformed, Description: fmt.Sprintf(format, args...)}
}

// Decode reads a command from a bus message, checking it as strictly as the
// command API checked the request: a message put on the queue by anything
// else gets no benefit of the doubt. Errors are *DecodeError.
func Decode(m bus.Message) (Command, error) {
	if v := m.Properties[PropSchemaVersion]; v != SchemaVersion {
		return Command{}, &DecodeError{Reason: ReasonUnsupportedVersion,
			Description: fmt.Sprintf("schemaVersion %q, this worker reads %q", v, SchemaVersion)}
	}
	c := Command{Kind: Kind(m.Subject), ShipmentID: ShipmentOf(m)}
	c.OperationID = m.Properties[PropOperationID]
	if c.OperationID == "" {
		c.OperationID = m.ID
	}
	if kind, _ := operation.ParseID(c.OperationID); kind == operation.IDInvalid {
		return Command{}, malformed("operation id %q is not one Dropoff issues", c.OperationID)
	}
	if err := shipment.ValidateID(c.ShipmentID); err != nil {
		return Command{}, malformed("shipment id: %v", err)
	}
	if err := decodeProperties(&c, m.Properties); err != nil {
		return Command{}, err
	}
	if err := decodeBody(&c, m.Body); err != nil {
		return Command{}, err
	}
	return c, nil
}

// ShipmentOf is the shipment a message is for: its shipmentId property, or,
// for a message sent before there were lanes, its session id.
func ShipmentOf(m bus.Message) string {
	if id, ok := m.Properties[PropShipmentID]; ok {
		return id
	}
	return m.SessionID
}

func decodeProperties(c *Command, props map[string]string) error {
	if v, ok := props[PropAcceptedAt]; ok {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return malformed("acceptedAt %q: not an RFC 3339 time", v)
		}
		c.AcceptedAt = t
	}
	if v, ok := props[PropIfMatch]; ok {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			return malformed("ifMatch %q: not a positive version", v)
		}
		c.IfMatch = n
	}
	if v, ok := props[PropIdempotencyKey]; ok {
		if len(v) != 64 {
			return malformed("idempotencyKey: not a hex SHA-256")
		}
		c.IdempotencyKey = v
	}
	c.Traceparent, c.Tracestate = props[PropTraceparent], props[PropTracestate]
	return nil
}

func decodeBody(c *Command, body []byte) error {
	spec, ok := SpecOf(c.Kind)
	if !ok {
		return &DecodeError{Reason: ReasonUnknownKind, Description: fmt.Sprintf("subject %q is not a command kind", c.Kind)}
	}
	p, err := spec.Decode(body)
	if err != nil {
		return malformed("body: %v", err)
	}
	c.Payload = p
	return nil
}
