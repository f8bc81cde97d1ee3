package servicebus

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus"
	"github.com/google/go-cmp/cmp"

	"github.com/dropoff-dev/dropoff/src/bus"
)

// deadLetters fills the fake dead-letter queue with messages of these
// sequence numbers, in this (dead-lettering) order.
func deadLetters(f *fakeDLQ, seqs ...int64) {
	for _, seq := range seqs {
		m := sdkMessage(seq, "ship-1")
		m.ContentType = ptr("application/json")
		m.Subject = ptr("shipment.patch")
		m.ApplicationProperties = map[string]any{
			"operationId":      m.MessageID,
			"DeadLetterReason": "MalformedCommand",
		}
		m.DeadLetterReason = ptr("MalformedCommand")
		f.msgs = append(f.msgs, m)
	}
}

func testDLQConfig() Config {
	return Config{ReceiveTimeout: 20 * time.Millisecond, NewID: func() string { return "new-id" }}
}

func TestPeekDeadLetters(t *testing.T) {
	tb := newTestBus(t, testDLQConfig())
	tb.dlq.pageSize = 2 // the service may answer in pages smaller than asked
	deadLetters(tb.dlq, 9, 3, 5, 7, 1)

	got, err := tb.PeekDeadLetters(t.Context(), 4, 3)
	if err != nil {
		t.Fatal(err)
	}
	var seqs []int64
	for _, m := range got {
		seqs = append(seqs, m.SequenceNumber)
	}
	if diff := cmp.Diff([]int64{5, 7, 9}, seqs); diff != "" {
		t.Errorf("sequence numbers (-want +got):\n%s", diff)
	}
	if got[0].DeadLetterReason != "MalformedCommand" || got[0].Properties["DeadLetterReason"] != "" {
		t.Errorf("got reason %q and properties %v; want the reason in its field only", got[0].DeadLetterReason, got[0].Properties)
	}
	if tb.dlq.receives != 0 || tb.dlq.closes != tb.dlq.opens {
		t.Errorf("got %d receives and %d/%d receivers closed; want a peek only, receiver closed", tb.dlq.receives, tb.dlq.closes, tb.dlq.opens)
	}
}

func TestResubmitDeadLetter(t *testing.T) {
	tb := newTestBus(t, testDLQConfig())
	tb.dlq.perReceive = 2
	deadLetters(tb.dlq, 5, 3, 9, 7)

	if err := tb.ResubmitDeadLetter(t.Context(), 9); err != nil {
		t.Fatal(err)
	}
	// The others were locked while scanning and released afterwards.
	abandoned := slices.Sorted(slices.Values(tb.dlq.abandoned))
	if diff := cmp.Diff([]int64{3, 5, 7}, abandoned); diff != "" {
		t.Errorf("abandoned (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]int64{5, 3, 7}, tb.dlq.remaining()); diff != "" {
		t.Errorf("left in the dead-letter queue (-want +got):\n%s", diff)
	}
	if len(tb.dlq.locked) != 0 {
		t.Errorf("still locked: %v", tb.dlq.locked)
	}
	// The copy: a new id, everything else as it was, no dead-letter reason.
	if len(tb.sender.sends) != 1 {
		t.Fatalf("got %d sends, want 1", len(tb.sender.sends))
	}
	want := toSDK(bus.Message{
		ID: "new-id", SessionID: "ship-1", Subject: "shipment.patch", ContentType: "application/json",
		Properties: map[string]string{"operationId": "m-9"}, Body: []byte(`{"n":9}`),
	})
	if diff := cmp.Diff(want, tb.sender.sends[0][0]); diff != "" {
		t.Errorf("copy (-want +got):\n%s", diff)
	}
}

func TestResubmitDeadLetterNotFound(t *testing.T) {
	tb := newTestBus(t, testDLQConfig())
	deadLetters(tb.dlq, 1, 2)
	if err := tb.ResubmitDeadLetter(t.Context(), 3); !errors.Is(err, bus.ErrNotFound) {
		t.Errorf("got %v, want ErrNotFound", err)
	}
	if tb.dlq.receives != 0 || len(tb.sender.sends) != 0 {
		t.Errorf("got %d receives, %d sends; want none", tb.dlq.receives, len(tb.sender.sends))
	}
}

func TestResubmitDeadLetterScanLimit(t *testing.T) {
	cfg := testDLQConfig()
	cfg.ResubmitScanLimit = 2
	tb := newTestBus(t, cfg)
	deadLetters(tb.dlq, 1, 2, 3)
	err := tb.ResubmitDeadLetter(t.Context(), 3)
	if err == nil || errors.Is(err, bus.ErrNotFound) {
		t.Fatalf("got %v, want a failure other than ErrNotFound (it is there, beyond the limit)", err)
	}
	if tb.dlq.receives != 1 {
		t.Errorf("got %d receives, want 1 (the limit was reached)", tb.dlq.receives)
	}
	if diff := cmp.Diff([]int64{1, 2, 3}, tb.dlq.remaining()); diff != "" {
		t.Errorf("dead-letter queue changed (-want +got):\n%s", diff)
	}
	if len(tb.dlq.locked) != 0 || len(tb.sender.sends) != 0 {
		t.Errorf("got locked %v and %d sends; want everything released and nothing sent", tb.dlq.locked, len(tb.sender.sends))
	}
}

func TestResubmitDeadLetterSendFails(t *testing.T) {
	tb := newTestBus(t, testDLQConfig())
	deadLetters(tb.dlq, 1, 2)
	tb.sender.sendErr = errors.New("boom")
	if err := tb.ResubmitDeadLetter(t.Context(), 2); err == nil {
		t.Fatal("got nil, want the send's error")
	}
	if diff := cmp.Diff([]int64{1, 2}, tb.dlq.remaining()); diff != "" {
		t.Errorf("dead-letter queue changed (-want +got):\n%s", diff)
	}
	if len(tb.dlq.locked) != 0 {
		t.Errorf("still locked: %v; want the target released too", tb.dlq.locked)
	}
}

func TestPurgeDeadLetters(t *testing.T) {
	tb := newTestBus(t, testDLQConfig())
	tb.dlq.perReceive = 40
	var seqs []int64
	for i := range 250 {
		seqs = append(seqs, int64(i+1))
	}
	deadLetters(tb.dlq, seqs...)
	n, err := tb.PurgeDeadLetters(t.Context(), keepNothing)
	if err != nil || n != 250 {
		t.Fatalf("got %d, %v; want 250, nil", n, err)
	}
	if got := tb.dlq.remaining(); len(got) != 0 {
		t.Errorf("left: %v", got)
	}
	n, err = tb.PurgeDeadLetters(t.Context(), keepNothing)
	if err != nil || n != 0 {
		t.Errorf("purging an empty queue: got %d, %v; want 0, nil", n, err)
	}
}

// keepNothing is a purge's before that lets every message go.
func keepNothing(context.Context, *bus.ReceivedMessage) error { return nil }

// TestPurgeAsksFirst: a purge removes only the messages its before accepted;
// one before refuses is abandoned with the rest of its batch, and the purge
// says why.
func TestPurgeAsksFirst(t *testing.T) {
	tb := newTestBus(t, testDLQConfig())
	tb.dlq.perReceive = 3
	deadLetters(tb.dlq, 1, 2, 3, 4, 5, 6)
	refused := errors.New("the write database is down")
	var mu sync.Mutex
	var asked []int64
	n, err := tb.PurgeDeadLetters(t.Context(), func(_ context.Context, m *bus.ReceivedMessage) error {
		mu.Lock()
		defer mu.Unlock()
		asked = append(asked, m.SequenceNumber)
		if m.SequenceNumber == 5 {
			return refused
		}
		return nil
	})
	if !errors.Is(err, refused) {
		t.Errorf("got %v, want %v", err, refused)
	}
	slices.Sort(asked)
	if diff := cmp.Diff([]int64{1, 2, 3, 4, 5, 6}, asked); diff != "" {
		t.Errorf("before asked about (-want +got):\n%s", diff)
	}
	// 4 and 6 may or may not be completed before 5 is refused (settlement
	// runs in parallel); 5 stays and nothing stays locked.
	if n < 3 || n > 5 {
		t.Errorf("removed %d, want 3 to 5", n)
	}
	if left := tb.dlq.remaining(); !slices.Contains(left, 5) || len(left) != 6-n {
		t.Errorf("left %v after removing %d; want 5 among them", left, n)
	}
	if len(tb.dlq.locked) != 0 {
		t.Errorf("still locked: %v", tb.dlq.locked)
	}
}

// TestClosesAreBounded: every link the adapter closes gets a context that a
// canceled caller does not cancel (a release must still happen) and that
// ends within closeTimeout (a hung connection must not hold shutdown up).
func TestClosesAreBounded(t *testing.T) {
	tb := newTestBus(t, testDLQConfig())
	deadLetters(tb.dlq, 1)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, _ = tb.PeekDeadLetters(ctx, 0, 1)
	_ = tb.ResubmitDeadLetter(ctx, 1)
	_, _ = tb.PurgeDeadLetters(ctx, keepNothing)
	f := &fakeSession{id: "ship-1"}
	s := tb.accept(t, f)
	if err := s.Close(ctx); err != nil {
		t.Errorf("closing a session with a canceled context: %v", err)
	}
	tb.dlq.mu.Lock()
	defer tb.dlq.mu.Unlock()
	f.mu.Lock()
	defer f.mu.Unlock()
	closes := append(slices.Clone(tb.dlq.closeCtx), f.closeCtx...)
	if len(closes) != 4 {
		t.Fatalf("%d links closed, want 4 (3 dead-letter links, 1 session)", len(closes))
	}
	for i, c := range closes {
		dl, ok := c.deadline, c.hasDeadline
		if c.err != nil || !ok || time.Until(dl) > closeTimeout {
			t.Errorf("close %d: context error %v, deadline %v (%v); want live, within %v", i, c.err, dl, ok, closeTimeout)
		}
	}
}

func TestPurgeLeavesMessagesLockedElsewhere(t *testing.T) {
	tb := newTestBus(t, testDLQConfig())
	deadLetters(tb.dlq, 1, 2)
	_, _ = tb.dlq.openDeadLetters(azservicebus.ReceiveModePeekLock)
	tb.dlq.locked[2] = true // another admin's resubmit holds it
	n, err := tb.PurgeDeadLetters(t.Context(), keepNothing)
	if err != nil || n != 1 {
		t.Fatalf("got %d, %v; want 1, nil", n, err)
	}
	if diff := cmp.Diff([]int64{2}, tb.dlq.remaining()); diff != "" {
		t.Errorf("left (-want +got):\n%s", diff)
	}
}

func TestDeadLettersOnClosedBus(t *testing.T) {
	tb := newTestBus(t, testDLQConfig())
	_ = tb.Close(t.Context())
	if _, err := tb.PeekDeadLetters(t.Context(), 0, 1); !errors.Is(err, bus.ErrClosed) {
		t.Errorf("Peek: got %v, want ErrClosed", err)
	}
	if err := tb.ResubmitDeadLetter(t.Context(), 1); !errors.Is(err, bus.ErrClosed) {
		t.Errorf("Resubmit: got %v, want ErrClosed", err)
	}
	if _, err := tb.PurgeDeadLetters(t.Context(), keepNothing); !errors.Is(err, bus.ErrClosed) {
		t.Errorf("Purge: got %v, want ErrClosed", err)
	}
}
