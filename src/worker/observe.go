package worker

import (
	"github.com/dropoff-dev/dropoff/src/bus"
	"github.com/dropoff-dev/dropoff/src/command"
	"github.com/dropoff-dev/dropoff/src/operation"
)

// Outcome is what the worker did with one message, as Config.Observe hears
// it once the message is settled.
type Outcome struct {
	// Operation is the operation's recorded outcome (Succeeded or Failed),
	// or, for a message dead-lettered at once, what is known of it from the
	// envelope (ID, ShipmentID, Kind; Status Failed).
	Operation operation.Operation
	// DeadLettered: the message went to the dead-letter queue, for Reason
	// and Description. Its operation is recorded Failed/DeadLettered later,
	// by the dead-letter recorder, which reports that as an Outcome too.
	DeadLettered        bool
	Reason, Description string
}

// observe tells Config.Observe, when set, what happened. It runs on the
// goroutine that processed the message, so Observe must return at once
// (the live package's Hub never blocks).
func (w *Worker) observe(o Outcome) {
	if w.cfg.Observe != nil {
		w.cfg.Observe(o)
	}
}

// observeApplied reports a committed and completed transaction; a duplicate
// (found in the inbox) changed nothing and is not reported.
func (w *Worker) observeApplied(res result) {
	if res.op.ID != "" {
		w.observe(Outcome{Operation: res.op})
	}
}

// observeDeadLetter reports a message dead-lettered at once.
func (w *Worker) observeDeadLetter(m *bus.ReceivedMessage, de *command.DecodeError) {
	w.observe(Outcome{
		Operation: operation.Operation{ID: operationIDOf(m), ShipmentID: command.ShipmentOf(m.Message),
			Kind: knownKind(m.Subject), Status: operation.Failed},
		DeadLettered: true, Reason: de.Reason, Description: de.Description,
	})
}
