package sqlitebus_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/dropoff-dev/dropoff/src/bus"
	"github.com/dropoff-dev/dropoff/src/bus/sqlitebus"
)

// wait bounds every wait for something that should happen promptly.
const wait = 5 * time.Second

// fakeClock is a clock the test moves by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// tempPath is a fresh queue file.
func tempPath(t *testing.T) string {
	t.Helper()
	return filepath.Join(t.TempDir(), "bus.db")
}

// msg is a message of session with id and body.
func msg(session, id, body string) bus.Message {
	return bus.Message{ID: id, SessionID: session, Subject: "test", Body: []byte(body)}
}

func mustSend(t *testing.T, q *sqlitebus.Queue, msgs ...bus.Message) {
	t.Helper()
	if err := q.Send(t.Context(), msgs...); err != nil {
		t.Fatalf("send: %v", err)
	}
}

// accept accepts the next session within wait.
func accept(t *testing.T, q *sqlitebus.Queue) bus.Session {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), wait)
	defer cancel()
	s, err := q.AcceptNextSession(ctx)
	if err != nil {
		t.Fatalf("accept session: %v", err)
	}
	t.Cleanup(func() { s.Close(context.Background()) })
	return s
}

// expectNoSession checks that no session can be accepted for a moment.
func expectNoSession(t *testing.T, q *sqlitebus.Queue) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	s, err := q.AcceptNextSession(ctx)
	if err == nil {
		t.Fatalf("accept session: got %s, want none", s.ID())
	}
	if !errors.Is(err, bus.ErrNoSession) {
		t.Fatalf("accept session: got %v, want %v", err, bus.ErrNoSession)
	}
}

// receive receives exactly n messages within wait.
func receive(t *testing.T, s bus.Session, n int) []*bus.ReceivedMessage {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), wait)
	defer cancel()
	var got []*bus.ReceivedMessage
	for len(got) < n {
		more, err := s.Receive(ctx, n-len(got))
		if err != nil {
			t.Fatalf("receive: got %d of %d, then %v", len(got), n, err)
		}
		got = append(got, more...)
	}
	return got
}

// deadLetters returns every dead letter.
func deadLetters(t *testing.T, q *sqlitebus.Queue) []*bus.ReceivedMessage {
	t.Helper()
	got, err := q.PeekDeadLetters(t.Context(), 0, 1000)
	if err != nil {
		t.Fatalf("peek dead letters: %v", err)
	}
	return got
}

// eventually polls cond until it holds or wait passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, wait)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// describe lists messages as "id#count" for messages that compare at a glance.
func describe(msgs []*bus.ReceivedMessage) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = fmt.Sprintf("%s#%d", m.ID, m.DeliveryCount)
	}
	return out
}
