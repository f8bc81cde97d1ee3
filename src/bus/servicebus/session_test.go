package servicebus

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus"
	"github.com/google/go-cmp/cmp"

	"github.com/dropoff-dev/dropoff/src/bus"
)

// returning answers every ReceiveMessages with msgs, once; then waits for ctx.
func returning(msgs ...*azservicebus.ReceivedMessage) func(context.Context, int) ([]*azservicebus.ReceivedMessage, error) {
	var done atomic.Bool
	return func(ctx context.Context, _ int) ([]*azservicebus.ReceivedMessage, error) {
		if done.CompareAndSwap(false, true) {
			return msgs, nil
		}
		<-ctx.Done()
		return nil, ctx.Err()
	}
}

func TestReceiveAndSettle(t *testing.T) {
	tb := newTestBus(t, Config{})
	raw := []*azservicebus.ReceivedMessage{sdkMessage(1, "ship-1"), sdkMessage(2, "ship-1"), sdkMessage(3, "ship-1")}
	f := &fakeSession{id: "ship-1", receive: returning(raw...)}
	s := tb.accept(t, f)

	got, err := s.Receive(t.Context(), 10)
	if err != nil {
		t.Fatalf("Receive: %v", err)
	}
	var seqs []int64
	for _, m := range got {
		seqs = append(seqs, m.SequenceNumber)
	}
	if diff := cmp.Diff([]int64{1, 2, 3}, seqs); diff != "" {
		t.Fatalf("sequence numbers (-want +got):\n%s", diff)
	}
	if err := s.Complete(t.Context(), got[0]); err != nil {
		t.Errorf("Complete: %v", err)
	}
	if err := s.Abandon(t.Context(), got[1]); err != nil {
		t.Errorf("Abandon: %v", err)
	}
	if err := s.DeadLetter(t.Context(), got[2], "MalformedCommand", "bad json"); err != nil {
		t.Errorf("DeadLetter: %v", err)
	}
	_, _, settled := f.snapshot()
	want := []string{"complete 1", "abandon 2", "deadletter MalformedCommand/bad json 3"}
	if diff := cmp.Diff(want, settled); diff != "" {
		t.Errorf("settlements (-want +got):\n%s", diff)
	}
	// Each settlement went to the very SDK message that was received:
	// Service Bus settles by the lock token and link it carries.
	for i, p := range f.settledPtrs {
		if p != raw[i] {
			t.Errorf("settlement %d: got a different *ReceivedMessage than the one received", i)
		}
	}
	if err := s.Complete(t.Context(), got[0]); err == nil || errors.Is(err, bus.ErrLockLost) {
		t.Errorf("second Complete: got %v, want a plain error (settled already)", err)
	}
}

func TestSettleUnknownMessage(t *testing.T) {
	tb := newTestBus(t, Config{})
	s := tb.accept(t, &fakeSession{id: "ship-1"})
	if err := s.Complete(t.Context(), &bus.ReceivedMessage{SequenceNumber: 99}); err == nil {
		t.Error("Complete of a message never received: got nil, want an error")
	}
	if err := s.Complete(t.Context(), nil); err == nil {
		t.Error("Complete(nil): got nil, want an error")
	}
}

func TestDeadLetterTruncates(t *testing.T) {
	tb := newTestBus(t, Config{})
	f := &fakeSession{id: "ship-1", receive: returning(sdkMessage(1, "ship-1"))}
	s := tb.accept(t, f)
	got, err := s.Receive(t.Context(), 1)
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("é", 5000)
	if err := s.DeadLetter(t.Context(), got[0], "r", long); err != nil {
		t.Fatal(err)
	}
	_, _, settled := f.snapshot()
	want := "deadletter r/" + strings.Repeat("é", maxDeadLetterText) + " 1"
	if settled[0] != want {
		t.Errorf("got a description of %d bytes, want %d characters", len(settled[0]), maxDeadLetterText)
	}
}

func TestReceiveIdle(t *testing.T) {
	tests := []struct {
		name    string
		receive func(context.Context, int) ([]*azservicebus.ReceivedMessage, error)
	}{
		{"SDK returns the ctx error", nil},
		{"SDK returns nothing and no error", func(ctx context.Context, _ int) ([]*azservicebus.ReceivedMessage, error) {
			<-ctx.Done()
			return nil, nil
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tb := newTestBus(t, Config{})
			s := tb.accept(t, &fakeSession{id: "ship-1", receive: tt.receive})
			ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
			defer cancel()
			got, err := s.Receive(ctx, 5)
			if !errors.Is(err, context.DeadlineExceeded) || len(got) != 0 {
				t.Errorf("got %d messages, %v; want none, context.DeadlineExceeded", len(got), err)
			}
		})
	}
}

func TestReceiveAsksAgainAfterAnEmptyAnswer(t *testing.T) {
	// After mending a link the SDK may return no messages and no error while
	// time is left; Receive must keep waiting, not report an idle session.
	tb := newTestBus(t, Config{})
	var calls atomic.Int32
	f := &fakeSession{id: "ship-1", receive: func(ctx context.Context, _ int) ([]*azservicebus.ReceivedMessage, error) {
		if calls.Add(1) == 1 {
			return nil, nil
		}
		return []*azservicebus.ReceivedMessage{sdkMessage(5, "ship-1")}, nil
	}}
	s := tb.accept(t, f)
	got, err := s.Receive(t.Context(), 1)
	if err != nil || len(got) != 1 || got[0].SequenceNumber != 5 {
		t.Fatalf("got %v, %v; want message 5", got, err)
	}
	if calls.Load() != 2 {
		t.Errorf("got %d receive calls, want 2", calls.Load())
	}
}

func TestReceiveErrors(t *testing.T) {
	tests := []struct {
		name     string
		err      error
		want     error
		wantLost bool
	}{
		{"lock lost", sbError(azservicebus.CodeLockLost), bus.ErrLockLost, true},
		{"connection lost", sbError(azservicebus.CodeConnectionLost), bus.ErrLockLost, true},
		{"closed under us", sbError(azservicebus.CodeClosed), bus.ErrLockLost, true},
		{"other", errors.New("boom"), nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tb := newTestBus(t, Config{})
			f := &fakeSession{id: "ship-1", receive: func(context.Context, int) ([]*azservicebus.ReceivedMessage, error) {
				return nil, tt.err
			}}
			s := tb.accept(t, f)
			_, err := s.Receive(t.Context(), 1)
			if err == nil || (tt.want != nil && !errors.Is(err, tt.want)) || (tt.want == nil && errors.Is(err, bus.ErrLockLost)) {
				t.Errorf("got %v, want errors.Is %v", err, tt.want)
			}
			if lost := s.lost.Err() != nil; lost != tt.wantLost {
				t.Errorf("session lost: got %v, want %v", lost, tt.wantLost)
			}
		})
	}
}

func TestSettleLockLost(t *testing.T) {
	tb := newTestBus(t, Config{})
	f := &fakeSession{id: "ship-1", receive: returning(sdkMessage(1, "ship-1"), sdkMessage(2, "ship-1"))}
	s := tb.accept(t, f)
	got, err := s.Receive(t.Context(), 2)
	if err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	f.settleErr = sbError(azservicebus.CodeLockLost)
	f.mu.Unlock()
	if err := s.Complete(t.Context(), got[0]); !errors.Is(err, bus.ErrLockLost) {
		t.Errorf("Complete: got %v, want ErrLockLost", err)
	}
	f.mu.Lock()
	f.settleErr = nil
	f.mu.Unlock()
	// The lock is gone for the whole session: the next message cannot be
	// settled either, though the SDK would now accept the call.
	if err := s.Complete(t.Context(), got[1]); !errors.Is(err, bus.ErrLockLost) {
		t.Errorf("Complete after the loss: got %v, want ErrLockLost", err)
	}
}

func TestSessionClose(t *testing.T) {
	tb := newTestBus(t, Config{})
	f := &fakeSession{id: "ship-1", receive: returning(sdkMessage(1, "ship-1"))}
	s := tb.accept(t, f)
	got, err := s.Receive(t.Context(), 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(t.Context()); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Close(t.Context()); err != nil {
		t.Errorf("second Close: %v", err)
	}
	select {
	case <-s.renewalDone:
	default:
		t.Error("renewal goroutine still running after Close")
	}
	if _, closes, _ := f.snapshot(); closes != 1 {
		t.Errorf("receiver closed %d times, want 1", closes)
	}
	if _, err := s.Receive(t.Context(), 1); !errors.Is(err, bus.ErrClosed) {
		t.Errorf("Receive after Close: got %v, want ErrClosed", err)
	}
	if err := s.Complete(t.Context(), got[0]); !errors.Is(err, bus.ErrClosed) {
		t.Errorf("Complete after Close: got %v, want ErrClosed", err)
	}
	tb.mu.Lock()
	n := len(tb.sessions)
	tb.mu.Unlock()
	if n != 0 {
		t.Errorf("bus still tracks %d sessions, want 0", n)
	}
}

func TestCloseEndsAWaitingReceive(t *testing.T) {
	tb := newTestBus(t, Config{})
	s := tb.accept(t, &fakeSession{id: "ship-1"}) // its receive waits for ctx
	errc := make(chan error, 1)
	go func() {
		_, err := s.Receive(context.Background(), 1)
		errc <- err
	}()
	if err := s.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-errc:
		if !errors.Is(err, bus.ErrClosed) {
			t.Errorf("Receive: got %v, want ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Receive still waiting 5s after Close")
	}
}
