package servicebus

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus"

	"github.com/dropoff-dev/dropoff/src/bus"
)

func TestPingSendAsksTheSenderLink(t *testing.T) {
	tb := newTestBus(t, Config{})
	if err := tb.PingSend(t.Context()); err != nil {
		t.Fatalf("PingSend on a healthy sender: %v", err)
	}
	tb.sender.mu.Lock()
	tb.sender.batchErr = sbError(azservicebus.CodeUnauthorizedAccess)
	tb.sender.mu.Unlock()
	err := tb.PingSend(t.Context())
	if codeOf(err) != azservicebus.CodeUnauthorizedAccess {
		t.Errorf("PingSend without the Send right = %v, want the SDK's unauthorized error in the chain", err)
	}
	if got := tb.sender.sentIDs(); len(got) != 0 {
		t.Errorf("PingSend sent %v, want nothing sent", got)
	}
	_ = tb.Close(t.Context())
	if err := tb.PingSend(t.Context()); !errors.Is(err, bus.ErrClosed) {
		t.Errorf("PingSend after Close = %v, want bus.ErrClosed", err)
	}
}

// PingReceive costs one peek per check on one kept link; a failed peek drops
// the link so that the next check attaches a fresh one.
func TestPingReceivePeeksOnOneLink(t *testing.T) {
	tb := newTestBus(t, Config{})
	tb.dlq.msgs = append(tb.dlq.msgs, sdkMessage(7, "parcel-1"))
	for range 3 {
		if err := tb.PingReceive(t.Context()); err != nil {
			t.Fatalf("PingReceive: %v", err)
		}
	}
	tb.dlq.mu.Lock()
	opens, peeks := tb.dlq.opens, tb.dlq.peeks
	tb.dlq.peekErr = sbError(azservicebus.CodeUnauthorizedAccess)
	tb.dlq.mu.Unlock()
	if opens != 1 || peeks != 3 {
		t.Errorf("3 checks opened %d links and peeked %d times, want 1 and 3", opens, peeks)
	}
	if err := tb.PingReceive(t.Context()); codeOf(err) != azservicebus.CodeUnauthorizedAccess {
		t.Errorf("PingReceive without the Listen right = %v, want the SDK's unauthorized error in the chain", err)
	}
	tb.dlq.mu.Lock()
	tb.dlq.peekErr = nil
	tb.dlq.mu.Unlock()
	if err := tb.PingReceive(t.Context()); err != nil {
		t.Fatalf("PingReceive once the right is granted: %v", err)
	}
	tb.dlq.mu.Lock()
	opens, closes, remaining := tb.dlq.opens, tb.dlq.closes, len(tb.dlq.msgs)
	tb.dlq.mu.Unlock()
	if opens != 2 || closes != 1 {
		t.Errorf("after a failed check: %d links opened and %d closed, want 2 and 1", opens, closes)
	}
	if remaining != 1 {
		t.Errorf("%d dead letters left, want the 1 there was: a check must move nothing", remaining)
	}
	_ = tb.Close(t.Context())
	if err := tb.PingReceive(t.Context()); !errors.Is(err, bus.ErrClosed) {
		t.Errorf("PingReceive after Close = %v, want bus.ErrClosed", err)
	}
}

// syncBuffer is a log destination safe for the renewal goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *syncBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *syncBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// A queue whose lock is not the one the adapter was told about (the bug the
// embedded queue's 10s default once caused against a 1m queue) is reported
// at the first accept; a lock within the slack is not.
func TestFirstAcceptReportsALockDurationMismatch(t *testing.T) {
	tests := []struct {
		name       string
		configured time.Duration
		granted    time.Duration
		reported   bool
	}{
		{"as deployed", time.Minute, time.Minute - 200*time.Millisecond, false},
		{"embedded default against a 1m queue", 10 * time.Second, time.Minute, true},
		{"queue shorter than configured", time.Minute, 30 * time.Second, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs syncBuffer
			tb := newTestBus(t, Config{
				Settings: bus.Settings{LockDuration: tt.configured},
				Logger:   slog.New(slog.NewTextHandler(&logs, nil)),
			})
			first := &fakeSession{id: "a", lockedUntil: tb.clock.Now().Add(tt.granted)}
			s := tb.accept(t, first)
			_ = s.Close(t.Context())
			second := &fakeSession{id: "b", lockedUntil: tb.clock.Now().Add(time.Hour)}
			_ = tb.accept(t, second).Close(context.Background())
			got := strings.Count(logs.String(), "lock duration is not the configured one")
			want := 0
			if tt.reported {
				want = 1 // the first accept only, though the second is further off
			}
			if got != want {
				t.Errorf("mismatch reported %d times, want %d; log:\n%s", got, want, logs.String())
			}
		})
	}
}
