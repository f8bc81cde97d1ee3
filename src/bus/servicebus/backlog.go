package servicebus

import (
	"context"
	"errors"
	"fmt"

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus/admin"

	"github.com/dropoff-dev/dropoff/src/bus"
)

// runtimeGetter reads a queue's runtime properties: *admin.Client.
type runtimeGetter interface {
	GetQueueRuntimeProperties(ctx context.Context, queueName string, options *admin.GetQueueRuntimePropertiesOptions) (*admin.GetQueueRuntimePropertiesResponse, error)
}

var _ runtimeGetter = (*admin.Client)(nil)

var _ bus.BacklogReader = (*Bus)(nil)

// Backlog reads the queue's active message count from its runtime
// properties, through the management endpoint. The age of the oldest message
// is not among them, so OldestAge is zero.
//
// Reading runtime properties takes the Manage right (or a connection
// string's key, as with the emulator). Dropoff's deployed command API holds
// only Data Sender, so there it fails, and the command API does not shed
// load unless it is given that right (docs/bus.md, Backlog).
func (b *Bus) Backlog(ctx context.Context) (bus.Backlog, error) {
	if b.runtime == nil {
		return bus.Backlog{}, errors.New("servicebus: backlog: no management client")
	}
	g, err := b.runtime()
	if err != nil {
		return bus.Backlog{}, fmt.Errorf("servicebus: backlog: %w", err)
	}
	resp, err := g.GetQueueRuntimeProperties(ctx, b.queue, nil)
	if err != nil {
		return bus.Backlog{}, fmt.Errorf("servicebus: backlog of %s: %w", b.queue, err)
	}
	if resp == nil { // the SDK's answer for "no such queue"
		return bus.Backlog{}, fmt.Errorf("servicebus: backlog: queue %s does not exist", b.queue)
	}
	return bus.Backlog{Messages: int64(resp.ActiveMessageCount)}, nil
}
