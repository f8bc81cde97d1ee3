package baseline

import (
	"context"
	"fmt"
	"time"

	"github.com/dropoff-dev/dropoff/src/command"
	"github.com/dropoff-dev/dropoff/src/httpapi"
	"github.com/dropoff-dev/dropoff/src/operation"
	"github.com/dropoff-dev/dropoff/src/store"
)

// Sink is the command API's sink (httpapi.Config.Sink) that applies each
// command at once, with Apply.
type Sink struct {
	Store store.WriteStore
	Now   func() time.Time // nil: time.Now
}

var _ httpapi.CommandSink = Sink{}

// Accept applies cmd and returns its outcome; a failure of the store is
// httpapi.Unavailable, so the client gets 503 and nothing was kept.
func (s Sink) Accept(ctx context.Context, cmd command.Command) (operation.Operation, error) {
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	op, err := Apply(ctx, s.Store, cmd, now())
	if err != nil {
		return operation.Operation{}, httpapi.Unavailable("write database", fmt.Errorf("apply %s %s: %w", cmd.Kind, cmd.OperationID, err))
	}
	return op, nil
}
