package servicebus

import (
	"fmt"
	"math"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus"

	"github.com/dropoff-dev/dropoff/src/bus"
)

// Service Bus limits that Send checks itself, so a bad message fails with a
// clear error before it reaches the wire.
const (
	maxIDLength = 128 // MessageId and SessionId: at most 128 characters
	// maxTTL is the largest time to live an AMQP header can carry: a
	// uint32 count of milliseconds, about 49.7 days. Longer ones are capped.
	maxTTL = time.Duration(math.MaxUint32) * time.Millisecond
)

// The service keeps a dead-letter reason and description as application
// properties of the dead-lettered message; the SDK copies them into
// ReceivedMessage.DeadLetterReason and DeadLetterErrorDescription and leaves
// them among the properties too. They are not the sender's properties, so
// fromSDK drops them there (a resubmitted copy must not carry them).
const (
	propDeadLetterReason      = "DeadLetterReason"
	propDeadLetterDescription = "DeadLetterErrorDescription"
)

// checkMessage refuses what Service Bus would refuse or silently change.
func checkMessage(m bus.Message) error {
	switch {
	case m.ID == "":
		return fmt.Errorf("servicebus: message has no id")
	case len(m.ID) > maxIDLength:
		return fmt.Errorf("servicebus: message id %.16q…: longer than %d characters", m.ID, maxIDLength)
	case m.SessionID == "":
		// A session-enabled queue refuses a message without a session id.
		return fmt.Errorf("servicebus: message %s has no session id", m.ID)
	case len(m.SessionID) > maxIDLength:
		return fmt.Errorf("servicebus: message %s: session id longer than %d characters", m.ID, maxIDLength)
	case m.TimeToLive < 0:
		return fmt.Errorf("servicebus: message %s: negative time to live", m.ID)
	}
	return nil
}

// toSDK maps a bus message onto the SDK's. Every property travels as a string
// application property, among them the command package's traceparent and
// Diagnostic-Id, which tracing tools read.
func toSDK(m bus.Message) *azservicebus.Message {
	out := &azservicebus.Message{
		MessageID:   stringPtr(m.ID),
		SessionID:   stringPtr(m.SessionID),
		Subject:     stringPtr(m.Subject),
		ContentType: stringPtr(m.ContentType),
		Body:        m.Body,
	}
	if len(m.Properties) > 0 {
		out.ApplicationProperties = make(map[string]any, len(m.Properties))
		for k, v := range m.Properties {
			out.ApplicationProperties[k] = v
		}
	}
	if m.TimeToLive > 0 {
		ttl := min(m.TimeToLive, maxTTL)
		out.TimeToLive = &ttl
	}
	return out
}

// fromSDK maps a received message to the bus's. queueTTL is the queue's
// default time to live (0 if unknown), which caps a message's own.
func fromSDK(rm *azservicebus.ReceivedMessage, queueTTL time.Duration) *bus.ReceivedMessage {
	out := &bus.ReceivedMessage{
		Message: bus.Message{
			ID:          rm.MessageID,
			SessionID:   deref(rm.SessionID),
			Subject:     deref(rm.Subject),
			ContentType: deref(rm.ContentType),
			Properties:  properties(rm.ApplicationProperties),
			Body:        rm.Body,
		},
		SequenceNumber:        deref(rm.SequenceNumber),
		DeliveryCount:         int(rm.DeliveryCount),
		EnqueuedAt:            deref(rm.EnqueuedTime),
		DeadLetterReason:      deref(rm.DeadLetterReason),
		DeadLetterDescription: deref(rm.DeadLetterErrorDescription),
	}
	// The SDK reports a zero TimeToLive when the sender set none; that means
	// "the queue's default", not "expires at once". A longer one than the
	// queue's default is cut to it, as the service does on enqueue.
	if ttl := deref(rm.TimeToLive); ttl > 0 {
		out.TimeToLive = ttl
		if queueTTL > 0 {
			out.TimeToLive = min(ttl, queueTTL)
		}
	}
	out.ExpiresAt = expiresAt(out.EnqueuedAt, out.TimeToLive, queueTTL)
	return out
}

// expiresAt is when a message enqueued at enqueued runs out of time: the
// shorter of its own time to live and the queue's default applies. Zero
// when neither is known.
func expiresAt(enqueued time.Time, ttl, queueTTL time.Duration) time.Time {
	if queueTTL > 0 && (ttl == 0 || queueTTL < ttl) {
		ttl = queueTTL
	}
	if enqueued.IsZero() || ttl == 0 {
		return time.Time{}
	}
	return enqueued.Add(ttl)
}

// properties turns application properties back into strings. Dropoff only
// sends strings; a message from another sender may carry numbers or
// booleans, which are formatted rather than lost.
func properties(in map[string]any) map[string]string {
	var out map[string]string
	for k, v := range in {
		if k == propDeadLetterReason || k == propDeadLetterDescription {
			continue
		}
		if out == nil {
			out = make(map[string]string, len(in))
		}
		if s, ok := v.(string); ok {
			out[k] = s
		} else {
			out[k] = fmt.Sprint(v)
		}
	}
	return out
}

func stringPtr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
