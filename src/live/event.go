package live

import (
	"time"

	"github.com/dropoff-dev/dropoff/src/operation"
	"github.com/dropoff-dev/dropoff/src/shipment"
	"github.com/dropoff-dev/dropoff/src/store"
)

// Type is what happened.
type Type string

// The events of a command's life, in the order they happen to it, and the
// lab's.
const (
	// Accepted: the command API's queue stored the command (it answered 202).
	// It now waits in its shipment's session.
	Accepted Type = "accepted"
	// Applied: the worker committed the command's transaction and completed
	// the message; the operation Succeeded.
	Applied Type = "applied"
	// Failed: the operation was recorded Failed: a business failure
	// (NotFound, InvalidTransition, …) or, for a dead letter, DeadLettered.
	Failed Type = "failed"
	// DeadLettered: the message went to the dead-letter queue (a message the
	// worker cannot decode goes there at once, with a reason).
	DeadLettered Type = "deadlettered"
	// Visible: the projector applied the operation's feed entry: the query
	// API now shows it (and, with a shipment, the shipment's new state).
	Visible Type = "visible"
	// Lab: a lab control was switched (the worker paused, the store slowed).
	Lab Type = "lab"
)

// Event is one thing that happened in the pipeline, as the page receives
// it (JSON, one per Server-Sent Event).
type Event struct {
	// ID is set by the Hub: the stream's event id, for Last-Event-ID.
	ID   string    `json:"id"`
	Type Type      `json:"type"`
	At   time.Time `json:"at"`

	OperationID string           `json:"operationId,omitempty"`
	ShipmentID  string           `json:"shipmentId,omitempty"`
	Kind        string           `json:"kind,omitempty"`
	Status      operation.Status `json:"status,omitempty"`
	Error       *operation.Error `json:"error,omitempty"`
	// Version is the shipment version the operation produced (0: none).
	Version int64 `json:"version,omitempty"`
	// ShipmentStatus and Deleted are the shipment's state in the projection
	// (Visible events from the projector only).
	ShipmentStatus shipment.Status `json:"shipmentStatus,omitempty"`
	Deleted        bool            `json:"deleted,omitempty"`
	// Reason and Description say why a message was dead-lettered.
	Reason      string `json:"reason,omitempty"`
	Description string `json:"description,omitempty"`
	// Text is a lab event's message, for people.
	Text string `json:"text,omitempty"`
}

// OperationEvent is the event of a recorded operation: Applied when it
// succeeded, Failed otherwise.
func OperationEvent(op operation.Operation, at time.Time) Event {
	e := Event{Type: Applied, At: at, OperationID: op.ID, ShipmentID: op.ShipmentID, Kind: op.Kind,
		Status: op.Status, Error: op.Error, Version: op.ResourceVersion}
	if op.Status == operation.Failed {
		e.Type = Failed
	}
	return e
}

// VisibleEvent is the event of a feed entry the projector applied.
func VisibleEvent(c store.Change, at time.Time) Event {
	e := OperationEvent(c.Operation, at)
	e.Type = Visible
	if c.Shipment != nil {
		e.ShipmentStatus, e.Deleted = c.Shipment.Status, c.Shipment.Deleted
	}
	return e
}
