package servicebus

import (
	"context"
	"errors"
	"fmt"

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus"

	"github.com/dropoff-dev/dropoff/src/bus"
)

// Send puts msgs on the queue and returns nil once Service Bus has accepted
// every one of them. One message goes out on its own; several go out in
// batches, one run of consecutive same-session messages at a time, each
// batch as large as the link allows, in order.
//
// Why no batcher that gathers the messages of concurrent Send calls (see
// docs/bus.md): the SDK already pipelines concurrent sends on the sender's
// one link, so the command API's parallel requests share the connection
// without waiting for each other; a gathering window would add latency to
// every request; a batch is all-or-nothing, so one caller's bad message would
// fail the others; and on a partitioned entity (every entity of a Premium
// namespace created with partitions) a batch may only hold messages for one
// partition, that is, one session.
func (b *Bus) Send(ctx context.Context, msgs ...bus.Message) error {
	if b.isClosed() {
		return bus.ErrClosed
	}
	out := make([]*azservicebus.Message, len(msgs))
	for i, m := range msgs {
		if err := checkMessage(m); err != nil {
			return fmt.Errorf("send: %w", err)
		}
		out[i] = toSDK(m)
	}
	var err error
	switch len(out) {
	case 0:
		return nil
	case 1:
		if err = b.sender.SendMessage(ctx, out[0], nil); err != nil {
			err = sendError(msgs[0].ID, err)
		}
	default:
		err = b.sendBatches(ctx, msgs, out)
	}
	b.metrics.sent.WithLabelValues(result(err)).Add(float64(len(msgs)))
	return err
}

// sendBatches sends out, grouped into runs of one session each, every run
// split into as few batches as fit. A message too large for an empty batch
// fails the call with azservicebus.ErrMessageTooLarge in the chain; batches
// sent before it stay sent (a retry of the whole call is safe: duplicates are
// dropped by id).
func (b *Bus) sendBatches(ctx context.Context, msgs []bus.Message, out []*azservicebus.Message) error {
	for start := 0; start < len(out); {
		end := start + 1
		for end < len(out) && msgs[end].SessionID == msgs[start].SessionID {
			end++
		}
		if err := b.sendRun(ctx, msgs[start:end], out[start:end]); err != nil {
			return err
		}
		start = end
	}
	return nil
}

// sendRun sends the messages of one session in order, in as few batches as
// the link's size limit allows.
func (b *Bus) sendRun(ctx context.Context, msgs []bus.Message, out []*azservicebus.Message) error {
	batch, err := b.sender.newBatch(ctx)
	if err != nil {
		return sendError(msgs[0].ID, err)
	}
	for i := 0; i < len(out); {
		err := batch.AddMessage(out[i], nil)
		switch {
		case err == nil:
			i++
		case errors.Is(err, azservicebus.ErrMessageTooLarge) && batch.NumMessages() > 0:
			// Full: send it, then try out[i] again in a fresh batch.
			if err := b.sender.sendBatch(ctx, batch); err != nil {
				return sendError(msgs[i-1].ID, err)
			}
			if batch, err = b.sender.newBatch(ctx); err != nil {
				return sendError(msgs[i].ID, err)
			}
		default:
			return sendError(msgs[i].ID, err) // too large even alone, or worse
		}
	}
	if err := b.sender.sendBatch(ctx, batch); err != nil {
		return sendError(msgs[len(msgs)-1].ID, err)
	}
	return nil
}
