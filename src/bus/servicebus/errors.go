package servicebus

import (
	"context"
	"errors"
	"fmt"

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus"
	"github.com/Azure/go-amqp"

	"github.com/dropoff-dev/dropoff/src/bus"
)

// The SDK reports actionable failures as *azservicebus.Error with a stable
// Code (its message text is not part of its API, so nothing here reads it).
// These functions turn codes into the bus port's sentinels; the SDK error
// stays in the chain, so errors.As still finds it.

// codeOf returns err's Service Bus code, or "" if it has none.
func codeOf(err error) azservicebus.Code {
	var sbErr *azservicebus.Error
	if errors.As(err, &sbErr) {
		return sbErr.Code
	}
	return ""
}

// acceptError maps a failed AcceptNextSessionForQueue onto the port:
//   - ctx cancelled: ctx.Err(), so a shutting-down worker sees its own cancel;
//   - ctx's deadline passed, or the service's own wait ran out (CodeTimeout):
//     ErrNoSession, which means "no work", not a failure;
//   - the client closed under the call: ErrClosed;
//   - anything else (unauthorized, queue not found, connection down after the
//     SDK's retries) wrapped as is.
func acceptError(ctx context.Context, queue string, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		if errors.Is(ctxErr, context.DeadlineExceeded) {
			return bus.ErrNoSession
		}
		return ctxErr
	}
	switch codeOf(err) {
	case azservicebus.CodeTimeout:
		return bus.ErrNoSession
	case azservicebus.CodeClosed:
		return fmt.Errorf("accept next session on %s: %w: %w", queue, bus.ErrClosed, err)
	}
	return fmt.Errorf("accept next session on %s: %w", queue, err)
}

// sessionGone reports whether err means this receiver's hold on its session
// has ended, so the worker must accept a session afresh:
//
//   - CodeLockLost: the session lock expired or was taken over;
//
//   - CodeConnectionLost: the link or connection broke and the SDK's retries
//     did not mend it. The SDK would build a new link on the next call, but
//     whether that link gets the same session back is not promised, and the
//     messages already handed out cannot be settled on it;
//
//   - CodeClosed: the receiver was closed under us (the Bus is closing).
//
//   - the AMQP conditions com.microsoft:session-lock-lost and
//     com.microsoft:session-cannot-be-locked, which the SDK hands over as they
//     are, with no Code: after a link recovery it attaches a session receiver
//     again by the session's name, and these are the service's answer when
//     the session is no longer ours (its lock expired meanwhile, or another
//     receiver took it).
//
// A renewal that fails for any other reason is retried until the lock's time
// is up (see renew.go).
func sessionGone(err error) bool {
	switch codeOf(err) {
	case azservicebus.CodeLockLost, azservicebus.CodeConnectionLost, azservicebus.CodeClosed:
		return true
	}
	var amqpErr *amqp.Error
	if errors.As(err, &amqpErr) {
		switch amqpErr.Condition {
		case condSessionLockLost, condSessionCannotBeLocked:
			return true
		}
	}
	return false
}

// The service's AMQP conditions for a session that is no longer this
// receiver's; the SDK does not map them to a Code.
const (
	condSessionLockLost       amqp.ErrCond = "com.microsoft:session-lock-lost"
	condSessionCannotBeLocked amqp.ErrCond = "com.microsoft:session-cannot-be-locked"
)

// sendError wraps a failed send. A closed client is ErrClosed; an oversized
// message keeps azservicebus.ErrMessageTooLarge in the chain.
func sendError(id string, err error) error {
	if codeOf(err) == azservicebus.CodeClosed {
		return fmt.Errorf("send message %s: %w: %w", id, bus.ErrClosed, err)
	}
	return fmt.Errorf("send message %s: %w", id, err)
}
