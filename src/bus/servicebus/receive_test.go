package servicebus

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus"
	"github.com/Azure/go-amqp"

	"github.com/dropoff-dev/dropoff/src/bus"
)

func TestAcceptError(t *testing.T) {
	live := context.Background()
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	expired, cancel2 := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel2()
	other := errors.New("amqp: unauthorized")

	tests := []struct {
		name    string
		ctx     context.Context
		err     error
		want    error // errors.Is
		wantSDK bool  // the SDK error stays in the chain
	}{
		{"service timeout: no session", live, sbError(azservicebus.CodeTimeout), bus.ErrNoSession, false},
		{"deadline passed: no session", expired, context.DeadlineExceeded, bus.ErrNoSession, false},
		{"deadline passed with an SDK error: still no session", expired, sbError(azservicebus.CodeConnectionLost), bus.ErrNoSession, false},
		{"cancelled: ctx.Err()", cancelled, context.Canceled, context.Canceled, false},
		{"client closed", live, sbError(azservicebus.CodeClosed), bus.ErrClosed, true},
		{"connection lost: a failure", live, sbError(azservicebus.CodeConnectionLost), nil, true},
		{"anything else: wrapped", live, other, other, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := acceptError(tt.ctx, "q", tt.err)
			if tt.want != nil && !errors.Is(got, tt.want) {
				t.Errorf("got %v, want errors.Is %v", got, tt.want)
			}
			if tt.want == nil && (errors.Is(got, bus.ErrNoSession) || got == nil) {
				t.Errorf("got %v, want a failure other than ErrNoSession", got)
			}
			var sbErr *azservicebus.Error
			if tt.wantSDK && !errors.As(got, &sbErr) {
				t.Errorf("got %v, want the *azservicebus.Error kept in the chain", got)
			}
		})
	}
}

func TestSessionGone(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{sbError(azservicebus.CodeLockLost), true},
		{sbError(azservicebus.CodeConnectionLost), true},
		{sbError(azservicebus.CodeClosed), true},
		{sbError(azservicebus.CodeTimeout), false},
		{sbError(azservicebus.CodeUnauthorizedAccess), false},
		{errors.New("server busy"), false},
		{context.DeadlineExceeded, false},
		// After a link recovery the SDK attaches again by name; these come back raw.
		{fmt.Errorf("renew: %w", &amqp.Error{Condition: "com.microsoft:session-lock-lost"}), true},
		{&amqp.Error{Condition: "com.microsoft:session-cannot-be-locked"}, true},
		{&amqp.Error{Condition: "com.microsoft:server-busy"}, false},
	}
	for _, tt := range tests {
		if got := sessionGone(tt.err); got != tt.want {
			t.Errorf("sessionGone(%v): got %v, want %v", tt.err, got, tt.want)
		}
	}
}

func TestAcceptNextSession(t *testing.T) {
	t.Run("a session", func(t *testing.T) {
		tb := newTestBus(t, Config{})
		s := tb.accept(t, &fakeSession{id: "ship-1"})
		if s.ID() != "ship-1" {
			t.Errorf("got session %q, want ship-1", s.ID())
		}
	})
	t.Run("no session before the deadline", func(t *testing.T) {
		tb := newTestBus(t, Config{})
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Millisecond)
		defer cancel()
		_, err := tb.AcceptNextSession(ctx)
		if !errors.Is(err, bus.ErrNoSession) {
			t.Errorf("got %v, want ErrNoSession", err)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		tb := newTestBus(t, Config{})
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		_, err := tb.AcceptNextSession(ctx)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("got %v, want context.Canceled", err)
		}
	})
	t.Run("connection lost", func(t *testing.T) {
		tb := newTestBus(t, Config{})
		tb.acceptor.err = sbError(azservicebus.CodeConnectionLost)
		_, err := tb.AcceptNextSession(t.Context())
		var sbErr *azservicebus.Error
		if !errors.As(err, &sbErr) || sbErr.Code != azservicebus.CodeConnectionLost || errors.Is(err, bus.ErrNoSession) {
			t.Errorf("got %v, want the connection-lost error, not ErrNoSession", err)
		}
	})
	t.Run("closed bus", func(t *testing.T) {
		tb := newTestBus(t, Config{})
		if err := tb.Close(t.Context()); err != nil {
			t.Fatal(err)
		}
		_, err := tb.AcceptNextSession(t.Context())
		if !errors.Is(err, bus.ErrClosed) {
			t.Errorf("got %v, want ErrClosed", err)
		}
	})
}

func TestAcceptedSessionLockLost(t *testing.T) {
	// A session whose first renewal finds the lock gone: every call on it
	// says ErrLockLost, so the worker moves on to a fresh session.
	tb := newTestBus(t, Config{})
	f := &fakeSession{id: "ship-1", renew: func(context.Context, int) error { return sbError(azservicebus.CodeLockLost) }}
	s := tb.accept(t, f)
	tm := tb.clock.nextTimer(t)
	tm.c <- time.Time{}
	<-s.renewalDone
	if _, err := s.Receive(t.Context(), 1); !errors.Is(err, bus.ErrLockLost) {
		t.Errorf("Receive: got %v, want ErrLockLost", err)
	}
	if err := s.Complete(t.Context(), &bus.ReceivedMessage{SequenceNumber: 1}); !errors.Is(err, bus.ErrLockLost) {
		t.Errorf("Complete: got %v, want ErrLockLost", err)
	}
	var sbErr *azservicebus.Error
	if _, err := s.Receive(t.Context(), 1); !errors.As(err, &sbErr) || sbErr.Code != azservicebus.CodeLockLost {
		t.Errorf("Receive: got %v, want the SDK's lock-lost error kept as the cause", err)
	}
}
