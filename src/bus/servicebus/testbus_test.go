package servicebus

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus"
)

// fakeClock is the clock and timer of lock renewal. Each timer the renewal
// starts is announced on timers; the test fires it.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers chan fakeTimer
}

type fakeTimer struct {
	d time.Duration
	c chan time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC), timers: make(chan fakeTimer, 64)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func (c *fakeClock) newTimer(d time.Duration) (<-chan time.Time, func() bool) {
	t := fakeTimer{d: d, c: make(chan time.Time, 1)}
	c.timers <- t
	return t.c, func() bool { return true }
}

// nextTimer waits for the renewal to start its next timer.
func (c *fakeClock) nextTimer(t *testing.T) fakeTimer {
	t.Helper()
	select {
	case tm := <-c.timers:
		return tm
	case <-time.After(5 * time.Second):
		t.Fatal("no renewal timer started within 5s")
		return fakeTimer{}
	}
}

// testBus builds a Bus over fakes, with a fake clock.
type testBus struct {
	*Bus
	clock    *fakeClock
	acceptor *fakeAcceptor
	sender   *fakeSender
	dlq      *fakeDLQ
	client   *fakeCloser
}

func newTestBus(t *testing.T, cfg Config) *testBus {
	t.Helper()
	clock := newFakeClock()
	if cfg.ConnectionString == "" && cfg.Namespace == "" {
		cfg.Namespace = "test.servicebus.windows.net"
	}
	if cfg.Now == nil {
		cfg.Now = clock.Now
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	tb := &testBus{clock: clock, acceptor: &fakeAcceptor{}, sender: &fakeSender{}, dlq: &fakeDLQ{}, client: &fakeCloser{}}
	b, err := newBus(cfg, parts{client: tb.client, sender: tb.sender, acceptor: tb.acceptor, dlq: tb.dlq})
	if err != nil {
		t.Fatal(err)
	}
	b.newTimer = clock.newTimer
	tb.Bus = b
	t.Cleanup(func() { _ = b.Close(context.Background()) })
	return tb
}

// accept hands f to the bus and accepts it.
func (tb *testBus) accept(t *testing.T, f *fakeSession) *Session {
	t.Helper()
	tb.acceptor.mu.Lock()
	tb.acceptor.sessions = append(tb.acceptor.sessions, f)
	tb.acceptor.mu.Unlock()
	s, err := tb.AcceptNextSession(t.Context())
	if err != nil {
		t.Fatalf("AcceptNextSession: %v", err)
	}
	return s.(*Session)
}

// sdkMessage is a received SDK message with sequence number seq.
func sdkMessage(seq int64, session string) *azservicebus.ReceivedMessage {
	enq := time.Date(2026, 11, 1, 11, 0, 0, 0, time.UTC)
	return &azservicebus.ReceivedMessage{
		MessageID:      fmt.Sprintf("m-%d", seq),
		SessionID:      &session,
		SequenceNumber: &seq,
		DeliveryCount:  1,
		EnqueuedTime:   &enq,
		Body:           []byte(fmt.Sprintf(`{"n":%d}`, seq)),
	}
}

// eventually polls cond until it holds or 5s pass.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 5s", what)
		}
		time.Sleep(time.Millisecond)
	}
}
