package servicebus

import (
	"context"
	"fmt"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus"
)

// The adapter reaches the SDK only through the small interfaces in this file.
// Each lists just the methods the adapter calls, with the SDK's own
// signatures, so the real types satisfy them as they are (the compile-time
// checks below say so) and the tests substitute hand-written fakes. Where an
// SDK method returns a concrete type that a test cannot build (a
// *SessionReceiver from AcceptNextSessionForQueue, a *MessageBatch from
// NewMessageBatch), a three-line adapter over the client stands in.

// sessionReceiver is the hold on one session: *azservicebus.SessionReceiver.
// ReceiveMessages must not run concurrently with itself; the settlement
// methods and RenewSessionLock may run alongside it.
type sessionReceiver interface {
	SessionID() string
	// LockedUntil is when the session lock ends, by the service's clock.
	// RenewSessionLock updates it, so only the renewal goroutine reads it.
	LockedUntil() time.Time
	ReceiveMessages(ctx context.Context, maxMessages int, options *azservicebus.ReceiveMessagesOptions) ([]*azservicebus.ReceivedMessage, error)
	CompleteMessage(ctx context.Context, message *azservicebus.ReceivedMessage, options *azservicebus.CompleteMessageOptions) error
	AbandonMessage(ctx context.Context, message *azservicebus.ReceivedMessage, options *azservicebus.AbandonMessageOptions) error
	DeadLetterMessage(ctx context.Context, message *azservicebus.ReceivedMessage, options *azservicebus.DeadLetterOptions) error
	RenewSessionLock(ctx context.Context, options *azservicebus.RenewSessionLockOptions) error
	Close(ctx context.Context) error
}

// sessionAcceptor locks the next session with messages on the queue.
type sessionAcceptor interface {
	acceptNextSession(ctx context.Context) (sessionReceiver, error)
}

// dlqReceiver reads the dead-letter queue: *azservicebus.Receiver opened with
// SubQueue: SubQueueDeadLetter. The dead-letter queue of a session queue is
// not itself session-enabled, so a plain receiver reads it.
type dlqReceiver interface {
	PeekMessages(ctx context.Context, maxMessageCount int, options *azservicebus.PeekMessagesOptions) ([]*azservicebus.ReceivedMessage, error)
	ReceiveMessages(ctx context.Context, maxMessages int, options *azservicebus.ReceiveMessagesOptions) ([]*azservicebus.ReceivedMessage, error)
	CompleteMessage(ctx context.Context, message *azservicebus.ReceivedMessage, options *azservicebus.CompleteMessageOptions) error
	AbandonMessage(ctx context.Context, message *azservicebus.ReceivedMessage, options *azservicebus.AbandonMessageOptions) error
	Close(ctx context.Context) error
}

// dlqOpener opens a receiver on the dead-letter queue in the given mode.
type dlqOpener interface {
	openDeadLetters(mode azservicebus.ReceiveMode) (dlqReceiver, error)
}

// messageBatch is what the adapter does with *azservicebus.MessageBatch.
type messageBatch interface {
	// AddMessage returns azservicebus.ErrMessageTooLarge when m does not fit.
	AddMessage(m *azservicebus.Message, options *azservicebus.AddMessageOptions) error
	NumMessages() int32
}

// sender puts messages on the queue: *azservicebus.Sender behind sdkSender.
// It is safe for concurrent use (the SDK pipelines concurrent sends on one
// AMQP link).
type sender interface {
	SendMessage(ctx context.Context, message *azservicebus.Message, options *azservicebus.SendMessageOptions) error
	newBatch(ctx context.Context) (messageBatch, error)
	sendBatch(ctx context.Context, batch messageBatch) error
	Close(ctx context.Context) error
}

// Compile-time checks: the SDK's types satisfy the interfaces above.
var (
	_ sessionReceiver = (*azservicebus.SessionReceiver)(nil)
	_ dlqReceiver     = (*azservicebus.Receiver)(nil)
	_ messageBatch    = (*azservicebus.MessageBatch)(nil)
	_ sender          = sdkSender{}
	_ sessionAcceptor = sdkClient{}
	_ dlqOpener       = sdkClient{}
)

// sdkClient adapts *azservicebus.Client to sessionAcceptor and dlqOpener.
type sdkClient struct {
	client *azservicebus.Client
	queue  string
}

// acceptNextSession passes ctx on: from v1.11.0 the SDK asks the service to
// wait for a session until ctx's deadline (earlier versions waited the
// service's default of about a minute, whatever the deadline).
func (c sdkClient) acceptNextSession(ctx context.Context) (sessionReceiver, error) {
	r, err := c.client.AcceptNextSessionForQueue(ctx, c.queue, nil)
	if err != nil {
		return nil, err // a nil *SessionReceiver must not become a non-nil interface
	}
	return r, nil
}

func (c sdkClient) openDeadLetters(mode azservicebus.ReceiveMode) (dlqReceiver, error) {
	r, err := c.client.NewReceiverForQueue(c.queue, &azservicebus.ReceiverOptions{
		SubQueue:    azservicebus.SubQueueDeadLetter,
		ReceiveMode: mode,
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// sdkSender adapts *azservicebus.Sender: batches are built and sent as the
// concrete *MessageBatch the SDK wants.
type sdkSender struct{ *azservicebus.Sender }

func (s sdkSender) newBatch(ctx context.Context) (messageBatch, error) {
	b, err := s.NewMessageBatch(ctx, nil)
	if err != nil {
		return nil, err
	}
	return b, nil
}

func (s sdkSender) sendBatch(ctx context.Context, b messageBatch) error {
	mb, ok := b.(*azservicebus.MessageBatch)
	if !ok {
		return fmt.Errorf("servicebus: send batch: %T is not a batch from this sender", b)
	}
	return s.SendMessageBatch(ctx, mb, nil)
}
