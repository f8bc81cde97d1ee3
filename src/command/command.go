package command

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"strconv"
	"time"

	"github.com/dropoff-dev/dropoff/src/bus"
)

// SchemaVersion is the version of the message contract this code writes and reads.
const SchemaVersion = "1"

// ContentType of every command body.
const ContentType = MediaJSON

// Application property names.
const (
	PropSchemaVersion  = "schemaVersion"
	PropOperationID    = "operationId"
	PropAcceptedAt     = "acceptedAt"
	PropTraceparent    = "traceparent"
	PropTracestate     = "tracestate"
	PropDiagnosticID   = "Diagnostic-Id"
	PropIfMatch        = "ifMatch"
	PropIdempotencyKey = "idempotencyKey"
	PropShipmentID     = "shipmentId"
)

// Lane is the session of shipment id when commands are spread over lanes
// sessions instead of one per shipment (docs/adr/0002-lanes.md): a stable
// hash of the id, so that one shipment's commands always share a session
// and apply in order.
func Lane(id string, lanes int) string {
	h := fnv.New32a()
	h.Write([]byte(id))
	return fmt.Sprintf("lane-%04d", h.Sum32()%uint32(lanes))
}

// Command is one client request, accepted and on its way to the worker.
type Command struct {
	OperationID string
	ShipmentID  string
	Kind        Kind
	Payload     Payload // what the kind's Spec.Decode returns
	// IfMatch is the version the client requires (0: any).
	IfMatch int64
	// IdempotencyKey is the hex SHA-256 of the client's Idempotency-Key, or "".
	IdempotencyKey string
	// Traceparent and Tracestate are the W3C trace context of the send
	// (https://www.w3.org/TR/trace-context/): the worker's span is its child.
	Traceparent string
	Tracestate  string
	AcceptedAt  time.Time
}

// body returns the JSON payload of c: "{}" for a kind without one.
func (c Command) body() ([]byte, error) {
	spec, ok := SpecOf(c.Kind)
	if !ok {
		return nil, fmt.Errorf("encode: unknown kind %q", c.Kind)
	}
	if c.Payload == nil {
		if len(spec.Media) > 0 {
			return nil, fmt.Errorf("encode %s: no payload", c.Kind)
		}
		return []byte("{}"), nil
	}
	return json.Marshal(c.Payload)
}

// Digest identifies the request a command carries: kind, shipment, If-Match
// and payload. Two requests with the same digest have the same effect; it is
// what an Idempotency-Key is checked against.
func (c Command) Digest() (string, error) {
	b, err := c.body()
	if err != nil {
		return "", err
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%s\n%d\n", c.Kind, c.ShipmentID, c.IfMatch)
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil)), nil
}

// KeyScope is what the worker remembers an Idempotency-Key under: the key's
// digest scoped to the shipment, so that one key sent for two shipments is
// two keys (docs/api.md). Commands of one shipment are processed in the
// order they were accepted, so the first request accepted with a key is the
// one that binds it; across shipments there is no such order. "" without a
// key.
func (c Command) KeyScope() string {
	if c.IdempotencyKey == "" {
		return ""
	}
	sum := sha256.Sum256([]byte("dropoff/idempotency-key\x00" + c.ShipmentID + "\x00" + c.IdempotencyKey))
	return hex.EncodeToString(sum[:])
}

// Message encodes c as a bus message.
func (c Command) Message() (bus.Message, error) {
	b, err := c.body()
	if err != nil {
		return bus.Message{}, err
	}
	props := map[string]string{
		PropSchemaVersion: SchemaVersion,
		PropOperationID:   c.OperationID,
		PropAcceptedAt:    c.AcceptedAt.UTC().Format(time.RFC3339Nano),
		PropShipmentID:    c.ShipmentID,
	}
	if c.Traceparent != "" {
		props[PropTraceparent] = c.Traceparent
		props[PropDiagnosticID] = c.Traceparent // the Service Bus SDKs' name for it
	}
	if c.Tracestate != "" {
		props[PropTracestate] = c.Tracestate
	}
	if c.IfMatch != 0 {
		props[PropIfMatch] = strconv.FormatInt(c.IfMatch, 10)
	}
	if c.IdempotencyKey != "" {
		props[PropIdempotencyKey] = c.IdempotencyKey
	}
	return bus.Message{
		ID:          c.OperationID,
		SessionID:   c.ShipmentID,
		Subject:     string(c.Kind),
		ContentType: ContentType,
		Properties:  props,
		Body:        b,
	}, nil
}
