package httpapi

import (
	"context"
	"fmt"
	"time"

	"github.com/dropoff-dev/dropoff/src/command"
	"github.com/dropoff-dev/dropoff/src/operation"
)

// CommandSink is where the command routes put each command they have checked
// (its operation id and acceptance time set). Accept returns once the command
// is safe: with its operation NotStarted when it was stored to be applied
// later, and the client gets 202 and the operation to watch; or with the
// operation as it ended when it was applied at once, and the client gets 200
// and the result. An error wrapped by Unavailable is a dependency that
// failed (503 with Retry-After); any other is a bug (500). Either way nothing
// was accepted.
type CommandSink interface {
	Accept(ctx context.Context, cmd command.Command) (operation.Operation, error)
}

// Unavailable marks err as a failure of the dependency named by what (a
// queue, a database): not the client's fault, and likely to pass, so the
// answer is 503 with Retry-After.
func Unavailable(what string, err error) error { return unavailable(what, err) }

// queueSink is Dropoff's command path: the command goes on the queue, for
// the worker to apply; Accept returns once the queue has stored it.
type queueSink struct {
	sender CommandSender
	ttl    time.Duration
}

func (s queueSink) Accept(ctx context.Context, cmd command.Command) (operation.Operation, error) {
	msg, err := cmd.Message()
	if err != nil {
		return operation.Operation{}, fmt.Errorf("encode command: %w", err)
	}
	// The message may wait on the queue no longer than the operation TTL, so
	// that an unrecorded operation older than that is surely gone (operations.go).
	msg.TimeToLive = s.ttl
	if err := s.sender.Send(ctx, msg); err != nil {
		return operation.Operation{}, unavailable("queue", fmt.Errorf("send %s %s: %w", cmd.Kind, cmd.OperationID, err))
	}
	return operation.Operation{ID: cmd.OperationID, Kind: string(cmd.Kind), ShipmentID: cmd.ShipmentID,
		Status: operation.NotStarted, CreatedAt: cmd.AcceptedAt, LastUpdatedAt: cmd.AcceptedAt}, nil
}

// operationJSON is op as the API shows it.
func operationJSON(op operation.Operation) Operation {
	return Operation{
		ID: op.ID, Status: op.Status, Kind: op.Kind, ResourceLocation: op.ResourceLocation(),
		ResourceVersion: op.ResourceVersion, Error: op.Error,
		CreatedAt: op.CreatedAt.UTC(), LastUpdatedAt: op.LastUpdatedAt.UTC(),
	}
}
