package servicebus

import (
	"errors"
	"fmt"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus"
	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/dropoff-dev/dropoff/src/bus"
)

func msg(id, session string) bus.Message {
	return bus.Message{ID: id, SessionID: session, Subject: "shipment.upsert", Body: []byte(`{}`)}
}

func TestSendOne(t *testing.T) {
	tb := newTestBus(t, Config{})
	m := msg("a", "s1")
	m.Properties = map[string]string{"traceparent": "00-x-y-01", "Diagnostic-Id": "00-x-y-01"}
	if err := tb.Send(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	if len(tb.sender.sends) != 1 || len(tb.sender.sends[0]) != 1 {
		t.Fatalf("got sends %v, want one message sent on its own", tb.sender.sentIDs())
	}
	if diff := cmp.Diff(toSDK(m), tb.sender.sends[0][0]); diff != "" {
		t.Errorf("sent message (-want +got):\n%s", diff)
	}
}

func TestSendBatches(t *testing.T) {
	tests := []struct {
		name     string
		capacity int
		msgs     []bus.Message
		want     [][]string
	}{
		{
			name: "one batch per run of one session",
			msgs: []bus.Message{msg("a1", "A"), msg("a2", "A"), msg("b1", "B"), msg("a3", "A")},
			want: [][]string{{"a1", "a2"}, {"b1"}, {"a3"}},
		},
		{
			name:     "a full batch is sent and the next one started",
			capacity: 2,
			msgs:     []bus.Message{msg("1", "A"), msg("2", "A"), msg("3", "A"), msg("4", "A"), msg("5", "A")},
			want:     [][]string{{"1", "2"}, {"3", "4"}, {"5"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tb := newTestBus(t, Config{})
			tb.sender.capacity = tt.capacity
			if err := tb.Send(t.Context(), tt.msgs...); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, tb.sender.sentIDs()); diff != "" {
				t.Errorf("batches (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSendTooLarge(t *testing.T) {
	tb := newTestBus(t, Config{})
	tb.sender.maxBody = 10
	big := msg("big", "A")
	big.Body = make([]byte, 11)
	err := tb.Send(t.Context(), msg("1", "A"), big, msg("3", "A"))
	if !errors.Is(err, azservicebus.ErrMessageTooLarge) {
		t.Fatalf("got %v, want ErrMessageTooLarge", err)
	}
	// The batch before it went out; nothing after it did.
	if diff := cmp.Diff([][]string{{"1"}}, tb.sender.sentIDs()); diff != "" {
		t.Errorf("batches (-want +got):\n%s", diff)
	}
}

func TestSendErrors(t *testing.T) {
	t.Run("invalid message: nothing sent", func(t *testing.T) {
		tb := newTestBus(t, Config{})
		if err := tb.Send(t.Context(), msg("a", "A"), msg("b", "")); err == nil {
			t.Fatal("got nil, want an error for a message without a session")
		}
		if got := tb.sender.sentIDs(); len(got) != 0 {
			t.Errorf("got sends %v, want none", got)
		}
	})
	t.Run("client closed", func(t *testing.T) {
		tb := newTestBus(t, Config{})
		tb.sender.sendErr = sbError(azservicebus.CodeClosed)
		if err := tb.Send(t.Context(), msg("a", "A")); !errors.Is(err, bus.ErrClosed) {
			t.Errorf("got %v, want ErrClosed", err)
		}
	})
	t.Run("bus closed", func(t *testing.T) {
		tb := newTestBus(t, Config{})
		_ = tb.Close(t.Context())
		if err := tb.Send(t.Context(), msg("a", "A")); !errors.Is(err, bus.ErrClosed) {
			t.Errorf("got %v, want ErrClosed", err)
		}
	})
	t.Run("nothing to send", func(t *testing.T) {
		tb := newTestBus(t, Config{})
		if err := tb.Send(t.Context()); err != nil {
			t.Errorf("got %v, want nil", err)
		}
	})
}

func TestSendMetrics(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	tb := newTestBus(t, Config{Registerer: reg})
	for i := range 3 {
		if err := tb.Send(t.Context(), msg(fmt.Sprint(i), "A")); err != nil {
			t.Fatal(err)
		}
	}
	tb.sender.sendErr = errors.New("boom")
	_ = tb.Send(t.Context(), msg("x", "A"))
	if got := testutil.ToFloat64(tb.metrics.sent.WithLabelValues("ok")); got != 3 {
		t.Errorf("sent ok: got %v, want 3", got)
	}
	if got := testutil.ToFloat64(tb.metrics.sent.WithLabelValues("error")); got != 1 {
		t.Errorf("sent error: got %v, want 1", got)
	}
	// A second Bus in the same process shares the registered collectors.
	tb2 := newTestBus(t, Config{Registerer: reg})
	if tb2.metrics.sent != tb.metrics.sent {
		t.Error("second Bus: got its own counter, want the registered one")
	}
}
