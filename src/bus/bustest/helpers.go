package bustest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dropoff-dev/dropoff/src/bus"
)

// messageTTL is the time to live of the suite's messages: whatever a crashed
// run leaves behind on a shared queue goes away on its own.
const messageTTL = 10 * time.Minute

// names makes session and message ids that no other test, run or process
// uses, so that tests on a shared queue never collide.
type names struct {
	base string
	n    atomic.Int64
}

func newNames(t *testing.T) *names {
	t.Helper()
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("random name: %v", err)
	}
	return &names{base: "bustest-" + hex.EncodeToString(b) + "-"}
}

// session returns the id of this test's session called label.
func (n *names) session(label string) string { return n.base + label }

// message returns a new message for session with a fresh id.
func (n *names) message(session, body string) bus.Message {
	i := n.n.Add(1)
	return bus.Message{
		ID:          fmt.Sprintf("%smsg-%d", n.base, i),
		SessionID:   session,
		Subject:     "bustest",
		ContentType: "text/plain",
		Properties:  map[string]string{"bustest": "1", "n": fmt.Sprint(i)},
		Body:        []byte(body),
		TimeToLive:  messageTTL,
	}
}

// send sends msgs, failing the test if Send fails.
func send(t *testing.T, q Queue, msgs ...bus.Message) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), soon)
	defer cancel()
	if err := q.Send(ctx, msgs...); err != nil {
		t.Fatalf("send: %v", err)
	}
}

// acceptSession accepts sessions until it gets want, within wait. Sessions of
// others (a shared queue) and of this test that come first are held, so the
// next accept moves past them, and closed untouched before it returns.
func acceptSession(t *testing.T, q Queue, want string, wait time.Duration) bus.Session {
	t.Helper()
	deadline := time.Now().Add(wait)
	var others []bus.Session
	defer func() {
		for _, o := range others {
			closeSession(t, o)
		}
	}()
	for {
		ctx, cancel := context.WithDeadline(t.Context(), deadline)
		s, err := q.AcceptNextSession(ctx)
		cancel()
		if err != nil {
			t.Fatalf("accept session %s (within %v): got error %v", want, wait, err)
		}
		if s.ID() == want {
			return s
		}
		others = append(others, s)
	}
}

// closeSession closes s, reporting an error.
func closeSession(t *testing.T, s bus.Session) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(t.Context()), soon)
	defer cancel()
	if err := s.Close(ctx); err != nil {
		t.Errorf("close session %s: %v", s.ID(), err)
	}
}

// receiveN receives exactly n messages from s (a receive may return fewer
// than asked), failing if they do not come within soon.
func receiveN(t *testing.T, s bus.Session, n int) []*bus.ReceivedMessage {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), soon)
	defer cancel()
	var got []*bus.ReceivedMessage
	for len(got) < n {
		batch, err := s.Receive(ctx, n-len(got))
		if err != nil {
			t.Fatalf("receive from %s: got %d of %d messages, then error %v", s.ID(), len(got), n, err)
		}
		got = append(got, batch...)
	}
	if len(got) > n {
		t.Fatalf("receive from %s: got %d messages, asked for %d", s.ID(), len(got), n)
	}
	return got
}

// receiveNone checks that s has nothing to deliver for wait.
func receiveNone(t *testing.T, s bus.Session, wait time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), wait)
	defer cancel()
	got, err := s.Receive(ctx, 10)
	if len(got) > 0 {
		t.Fatalf("receive from %s: got %d messages (first %q), want none", s.ID(), len(got), got[0].Body)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("receive from idle %s: got error %v, want %v", s.ID(), err, context.DeadlineExceeded)
	}
}

// complete completes m on s.
func complete(t *testing.T, s bus.Session, m *bus.ReceivedMessage) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), soon)
	defer cancel()
	if err := s.Complete(ctx, m); err != nil {
		t.Fatalf("complete %s: %v", m.ID, err)
	}
}

// findDeadLetter pages through the dead-letter queue for the message with
// id; nil if it is not there.
func findDeadLetter(t *testing.T, q Queue, id string) *bus.ReceivedMessage {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), soon)
	defer cancel()
	const page = 100
	var from int64
	for range 1000 { // at most 100,000 dead letters: a test queue has fewer
		got, err := q.PeekDeadLetters(ctx, from, page)
		if err != nil {
			t.Fatalf("peek dead letters from %d: %v", from, err)
		}
		for _, m := range got {
			if m.ID == id {
				return m
			}
		}
		if len(got) == 0 {
			return nil
		}
		from = got[len(got)-1].SequenceNumber + 1
	}
	t.Fatalf("peek dead letters: more than 100,000, giving up looking for %s", id)
	return nil
}

// waitDeadLetter polls the dead-letter queue until the message with id is
// there, for at most wait.
func waitDeadLetter(t *testing.T, q Queue, id string, wait time.Duration) *bus.ReceivedMessage {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		if m := findDeadLetter(t, q, id); m != nil {
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("message %s: not in the dead-letter queue after %v", id, wait)
		}
		select {
		case <-t.Context().Done():
			t.Fatalf("message %s: test ended while waiting for its dead letter", id)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// bodies lists the bodies of msgs, for messages that compare at a glance.
func bodies(msgs []*bus.ReceivedMessage) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = string(m.Body)
	}
	return out
}
