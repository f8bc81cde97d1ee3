package simulate_test

import (
	"context"
	"testing"
	"time"

	"github.com/dropoff-dev/dropoff/src/bus"
	"github.com/dropoff-dev/dropoff/src/simulate"
)

type nopSender struct{ sent int }

func (s *nopSender) Send(context.Context, ...bus.Message) error { s.sent++; return nil }

// A remote send waits its round trip, then sends; a cancelled one sends
// nothing.
func TestRemoteSendWaitsItsRoundTrip(t *testing.T) {
	inner := &nopSender{}
	s := simulate.Remote{RTT: 20 * time.Millisecond}.Sender(inner)
	start := time.Now()
	if err := s.Send(t.Context(), bus.Message{}); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 20*time.Millisecond || inner.sent != 1 {
		t.Errorf("send took %v and sent %d; want at least the round trip, and one send", d, inner.sent)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := s.Send(ctx, bus.Message{}); err == nil || inner.sent != 1 {
		t.Errorf("cancelled send: %v, %d sent; want the cancellation and nothing sent", err, inner.sent)
	}
}
