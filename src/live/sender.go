package live

import (
	"context"

	"github.com/dropoff-dev/dropoff/src/bus"
	"github.com/dropoff-dev/dropoff/src/command"
	"github.com/dropoff-dev/dropoff/src/operation"
)

// Sender is the command API's sender with a publisher on it: once the bus
// has stored the messages (Send returned nil) each is published as Accepted.
// A send that fails publishes nothing: nothing was accepted.
type Sender struct {
	bus.Sender
	Hub *Hub
}

var _ bus.Sender = Sender{}

// Send sends msgs, then publishes them.
func (s Sender) Send(ctx context.Context, msgs ...bus.Message) error {
	if err := s.Sender.Send(ctx, msgs...); err != nil {
		return err
	}
	for _, m := range msgs {
		id := m.Properties[command.PropOperationID]
		if id == "" {
			id = m.ID
		}
		s.Hub.Publish(Event{Type: Accepted, OperationID: id, ShipmentID: command.ShipmentOf(m),
			Kind: m.Subject, Status: operation.NotStarted})
	}
	return nil
}
