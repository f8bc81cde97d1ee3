package bustest

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/dropoff-dev/dropoff/src/bus"
)

// testRoundTrip: what is sent is what is received, with the receiver's
// fields filled in.
func (s suite) testRoundTrip(t *testing.T) {
	q := s.open(t)
	n := newNames(t)
	sid := n.session("roundtrip")
	sent := n.message(sid, `{"hello":"world"}`)
	sent.ContentType = "application/json"
	sent.Properties["traceparent"] = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	before := time.Now()
	send(t, q, sent)
	after := time.Now()

	ss := acceptSession(t, q, sid, soon)
	defer closeSession(t, ss)
	got := receiveN(t, ss, 1)[0]
	want := sent
	if def := q.Settings().DefaultTimeToLive; def > 0 && def < want.TimeToLive {
		want.TimeToLive = def // the queue's default caps a message's time to live
	}
	if diff := cmp.Diff(want, got.Message); diff != "" {
		t.Errorf("received message differs (-sent +received):\n%s", diff)
	}
	if got.DeliveryCount != 1 {
		t.Errorf("delivery count: got %d, want 1", got.DeliveryCount)
	}
	if got.SequenceNumber <= 0 {
		t.Errorf("sequence number: got %d, want > 0", got.SequenceNumber)
	}
	const skew = 5 * time.Second // the queue's clock is not ours
	if got.EnqueuedAt.Before(before.Add(-skew)) || got.EnqueuedAt.After(after.Add(skew)) {
		t.Errorf("enqueued at: got %v, want between %v and %v", got.EnqueuedAt, before, after)
	}
	if wantExp := got.EnqueuedAt.Add(want.TimeToLive); got.ExpiresAt.Sub(wantExp).Abs() > time.Second {
		t.Errorf("expires at: got %v, want %v", got.ExpiresAt, wantExp)
	}
	complete(t, ss, got)
}

// testFIFO: many sessions sent concurrently and drained by concurrent
// receivers on two handles (two "processes"): every session's messages arrive
// once each, in send order, and no session is ever held twice at once.
func (s suite) testFIFO(t *testing.T) {
	const sessions, perSession, receivers = 12, 8, 4
	n := newNames(t)
	queues := []Queue{s.open(t), s.open(t)}
	st := &fifoState{own: map[string]bool{}, holding: map[string]bool{}, got: map[string][]*bus.ReceivedMessage{}}
	var ids []string
	for i := range sessions {
		id := n.session(fmt.Sprintf("fifo-%02d", i))
		ids = append(ids, id)
		st.own[id] = true
	}
	// One sender per session, each sending its messages one after another:
	// the sessions interleave on the queue, each in its own order.
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Go(func() {
			for j := range perSession {
				if err := queues[i%2].Send(t.Context(), n.message(id, strconv.Itoa(j))); err != nil {
					t.Errorf("send %s #%d: %v", id, j, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	ctx, cancel := context.WithTimeout(t.Context(), 4*soon)
	defer cancel()
	st.allDrained = cancel // receivers waiting to accept stop as soon as the last session is done
	for r := range receivers {
		wg.Go(func() { st.receive(ctx, t, queues[r%2], perSession) })
	}
	wg.Wait()

	want := make([]string, perSession)
	for j := range want {
		want[j] = strconv.Itoa(j)
	}
	for _, id := range ids {
		got := st.got[id]
		if diff := cmp.Diff(want, bodies(got)); diff != "" {
			t.Errorf("session %s: bodies out of order (-sent +received):\n%s", id, diff)
		}
		for i, m := range got {
			if m.DeliveryCount != 1 {
				t.Errorf("session %s message %s: delivery count %d, want 1", id, m.Body, m.DeliveryCount)
			}
			if i > 0 && m.SequenceNumber <= got[i-1].SequenceNumber {
				t.Errorf("session %s: sequence number %d after %d, want it to grow", id, m.SequenceNumber, got[i-1].SequenceNumber)
			}
		}
	}
}

// fifoState is what the FIFO test's receivers share.
type fifoState struct {
	own     map[string]bool // read-only once receiving starts
	mu      sync.Mutex
	holding map[string]bool
	got     map[string][]*bus.ReceivedMessage
	done    int
	// allDrained is called once every own session has been drained.
	allDrained func()
}

// receive accepts sessions until every own session is drained of perSession
// messages. Sessions of others are held untouched until it returns.
func (st *fifoState) receive(ctx context.Context, t *testing.T, q Queue, perSession int) {
	var others []bus.Session
	defer func() {
		for _, o := range others {
			closeSession(t, o)
		}
	}()
	for !st.finished() {
		actx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		ss, err := q.AcceptNextSession(actx)
		cancel()
		switch {
		case err != nil && st.finished():
			return
		case errors.Is(err, bus.ErrNoSession) && ctx.Err() == nil:
			continue
		case err != nil:
			t.Errorf("accept session: %v (sessions drained: %d of %d)", err, st.drained(), len(st.own))
			return
		case !st.own[ss.ID()]:
			others = append(others, ss)
			continue
		}
		st.drain(ctx, t, ss, perSession)
	}
}

// drain receives and completes the session's messages while holding it.
func (st *fifoState) drain(ctx context.Context, t *testing.T, ss bus.Session, perSession int) {
	id := ss.ID()
	st.mu.Lock()
	if st.holding[id] {
		t.Errorf("session %s accepted while another receiver holds it", id)
	}
	st.holding[id] = true
	st.mu.Unlock()
	for st.count(id) < perSession {
		msgs, err := ss.Receive(ctx, 3)
		if err != nil {
			t.Errorf("receive from %s: %v", id, err)
			break
		}
		for _, m := range msgs {
			if err := ss.Complete(ctx, m); err != nil {
				t.Errorf("complete %s in %s: %v", m.Body, id, err)
			}
		}
		st.mu.Lock()
		st.got[id] = append(st.got[id], msgs...)
		st.mu.Unlock()
	}
	st.mu.Lock()
	delete(st.holding, id) // before Close: once closed, another receiver may take it
	st.done++
	all := st.done == len(st.own)
	st.mu.Unlock()
	closeSession(t, ss)
	if all {
		st.allDrained()
	}
}

func (st *fifoState) count(id string) int {
	st.mu.Lock()
	defer st.mu.Unlock()
	return len(st.got[id])
}

func (st *fifoState) drained() int {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.done
}

func (st *fifoState) finished() bool { return st.drained() >= len(st.own) }

// testExclusive: while one receiver holds a session, another (through a
// second handle, as another process) cannot accept it — not even when a new
// message arrives for it, and not after a lock renewal; the holder receives
// that new message. Once released, the other can.
func (s suite) testExclusive(t *testing.T) {
	q, other := s.open(t), s.open(t)
	n := newNames(t)
	sid := n.session("exclusive")
	send(t, q, n.message(sid, "first"))
	held := acceptSession(t, q, sid, soon)
	send(t, other, n.message(sid, "second"))

	// Try for longer than a renewal period (LockDuration/2), within reason.
	try := min(max(q.Settings().LockDuration*3/2, time.Second), 5*time.Second)
	assertNotAccepted(t, other, sid, try)

	got := receiveN(t, held, 2)
	if diff := cmp.Diff([]string{"first", "second"}, bodies(got)); diff != "" {
		t.Errorf("holder's messages (-want +got):\n%s", diff)
	}
	for _, m := range got {
		complete(t, held, m)
	}
	send(t, q, n.message(sid, "third"))
	closeSession(t, held)

	next := acceptSession(t, other, sid, releaseWait(q))
	defer closeSession(t, next)
	if got := receiveN(t, next, 1)[0]; string(got.Body) != "third" {
		t.Errorf("after release: got %q, want %q", got.Body, "third")
	}
}

// assertNotAccepted accepts sessions through q for d and fails if sid is
// among them.
func assertNotAccepted(t *testing.T, q Queue, sid string, d time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), d)
	defer cancel()
	var others []bus.Session
	defer func() {
		for _, o := range others {
			closeSession(t, o)
		}
	}()
	for {
		ss, err := q.AcceptNextSession(ctx)
		if errors.Is(err, bus.ErrNoSession) {
			return
		}
		if err != nil {
			t.Fatalf("accept session: %v", err)
		}
		if ss.ID() == sid {
			t.Errorf("session %s accepted by a second receiver while held", sid)
		}
		others = append(others, ss)
	}
}

// testTraceContext: the W3C trace context a sender puts in the application
// properties (traceparent, tracestate with its list syntax, and Diagnostic-Id,
// the name Azure's tooling reads) reaches the receiver as it was sent, and
// stays with the message through the dead-letter queue and a resubmit, so the
// worker's span is the sender's child whichever way the message came.
func (s suite) testTraceContext(t *testing.T) {
	q := s.open(t)
	n := newNames(t)
	sid := n.session("trace")
	sent := n.message(sid, "traced")
	trace := map[string]string{
		"traceparent":   "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
		"tracestate":    "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7",
		"Diagnostic-Id": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
	}
	for k, v := range trace {
		sent.Properties[k] = v
	}
	check := func(where string, got map[string]string) {
		t.Helper()
		if diff := cmp.Diff(sent.Properties, got); diff != "" {
			t.Errorf("%s: properties differ (-sent +got):\n%s", where, diff)
		}
	}
	dl := deadLetterAll(t, q, sent)[0] // received, then dead-lettered
	check("dead letter", dl.Properties)
	ctx, cancel := context.WithTimeout(t.Context(), soon)
	defer cancel()
	if err := q.ResubmitDeadLetter(ctx, dl.SequenceNumber); err != nil {
		t.Fatalf("resubmit %d: %v", dl.SequenceNumber, err)
	}
	ss := acceptSession(t, q, sid, soon)
	defer closeSession(t, ss)
	back := receiveN(t, ss, 1)[0]
	check("resubmitted", back.Properties)
	complete(t, ss, back)
}
