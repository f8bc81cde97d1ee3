package simulate

import (
	"context"
	"time"

	"github.com/dropoff-dev/dropoff/src/bus"
)

// Remote makes a local bus behave, in time, like one across a network: every
// operation waits the round trips it would take to a broker such as Service
// Bus before it is done. The capacity model (docs/capacity.md) runs the real
// worker over it, on the embedded queue, to see what round trips do to
// throughput, which a bus on the same machine would hide.
//
// The round trips per operation are Service Bus's over AMQP, as the
// azservicebus SDK makes them: accepting a session attaches a receiver link
// (and authorizes it) and waits for the broker to lock a session; a receive's
// first message costs a flow and a transfer; a settlement, a send and a
// close (the link's detach) one each.
type Remote struct {
	RTT time.Duration // one network round trip
}

// Round trips of each operation (see Remote).
const (
	AcceptRoundTrips  = 2
	ReceiveRoundTrips = 1
	SettleRoundTrips  = 1
	SendRoundTrips    = 1
	CloseRoundTrips   = 1
)

// wait sleeps n round trips, or until ctx is done.
func (r Remote) wait(ctx context.Context, n int) error {
	d := time.Duration(n) * r.RTT
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Sender wraps s: each Send waits a round trip first.
func (r Remote) Sender(s bus.Sender) bus.Sender { return remoteSender{s, r} }

// Receiver wraps rc: its sessions and their operations wait their round trips.
func (r Remote) Receiver(rc bus.Receiver) bus.Receiver { return remoteReceiver{rc, r} }

type remoteSender struct {
	bus.Sender
	r Remote
}

func (s remoteSender) Send(ctx context.Context, msgs ...bus.Message) error {
	if err := s.r.wait(ctx, SendRoundTrips); err != nil {
		return err
	}
	return s.Sender.Send(ctx, msgs...)
}

type remoteReceiver struct {
	bus.Receiver
	r Remote
}

func (rc remoteReceiver) AcceptNextSession(ctx context.Context) (bus.Session, error) {
	s, err := rc.Receiver.AcceptNextSession(ctx)
	if err != nil {
		return nil, err
	}
	// The attach and the broker's answer come after the session exists: a
	// waiting accept costs nothing more than its wait.
	if err := rc.r.wait(ctx, AcceptRoundTrips); err != nil {
		_ = s.Close(context.WithoutCancel(ctx))
		return nil, err
	}
	return remoteSession{s, rc.r}, nil
}

type remoteSession struct {
	bus.Session
	r Remote
}

// Receive costs a round trip for the messages it returns; an idle receive
// costs only its wait.
func (s remoteSession) Receive(ctx context.Context, max int) ([]*bus.ReceivedMessage, error) {
	msgs, err := s.Session.Receive(ctx, max)
	if err == nil && len(msgs) > 0 {
		_ = s.r.wait(context.WithoutCancel(ctx), ReceiveRoundTrips) // they are delivered: hand them over
	}
	return msgs, err
}

func (s remoteSession) Complete(ctx context.Context, m *bus.ReceivedMessage) error {
	if err := s.r.wait(ctx, SettleRoundTrips); err != nil {
		return err
	}
	return s.Session.Complete(ctx, m)
}

func (s remoteSession) Abandon(ctx context.Context, m *bus.ReceivedMessage) error {
	if err := s.r.wait(ctx, SettleRoundTrips); err != nil {
		return err
	}
	return s.Session.Abandon(ctx, m)
}

func (s remoteSession) DeadLetter(ctx context.Context, m *bus.ReceivedMessage, reason, description string) error {
	if err := s.r.wait(ctx, SettleRoundTrips); err != nil {
		return err
	}
	return s.Session.DeadLetter(ctx, m, reason, description)
}

func (s remoteSession) Close(ctx context.Context) error {
	_ = s.r.wait(context.WithoutCancel(ctx), CloseRoundTrips) // a close is owed even when the caller gave up
	return s.Session.Close(ctx)
}
