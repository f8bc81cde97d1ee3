package worker

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/dropoff-dev/dropoff/src/bus"
	"github.com/dropoff-dev/dropoff/src/command"
	"github.com/dropoff-dev/dropoff/src/operation"
	"github.com/dropoff-dev/dropoff/src/shipment"
	"github.com/dropoff-dev/dropoff/src/store"
)

// While the write database is unavailable, commands wait in place: with the
// max delivery count at 3 and 40 commands waiting on one shipment, none is
// dead-lettered and none spends a delivery; the worker takes no new session
// meanwhile and says it is not ready. Once the database answers, every
// command applies, in order, on its first delivery. (Measured before this:
// 32 of the 40 ended DeadLettered after a 25s lock of the database.)
func TestOutageSpendsNoDelivery(t *testing.T) {
	const maxDelivery = 3
	b, s := newFakeBus(maxDelivery), newFakeStore()
	s.setUnavailable(true)
	cmds := []command.Command{upsert(t, "busy", testFields)}
	for i := range 39 {
		cmds = append(cmds, patch(t, "busy", shipment.Patch{Recipient: new(fmt.Sprintf("Recipient %d", i))}))
	}
	for i := range 5 {
		cmds = append(cmds, upsert(t, fmt.Sprintf("other-%d", i), testFields))
	}
	b.send(messages(t, cmds...)...)
	cfg := testConfig()
	cfg.DeadLetters = b
	w, _ := start(t, b, s, cfg)

	waitFor(t, "commands retried in place", func() bool {
		return testutil.ToFloat64(w.metrics.inPlaceRetries) >= 20
	})
	if err := w.Ready(t.Context()); err == nil {
		t.Error("Ready while the database is unavailable: nil, want an error")
	}
	if dead, done := len(b.deadLetters()), len(b.completions()); dead != 0 || done != 0 {
		t.Fatalf("during the outage: %d dead letters, %d completions, want none", dead, done)
	}

	s.setUnavailable(false)
	waitFor(t, "the queue to drain", func() bool { total, _ := b.pending(); return total == 0 })
	for _, c := range b.completions() {
		if c.DeliveryCount != 1 {
			t.Errorf("operation %s completed on delivery %d, want its first: an outage must spend no delivery", c.ID, c.DeliveryCount)
		}
	}
	if n := len(b.deadLetters()); n != 0 {
		t.Errorf("%d dead letters, want none", n)
	}
	for _, c := range cmds {
		if op, _ := s.operation(c.OperationID); op.Status != operation.Succeeded {
			t.Errorf("operation %s: %s %+v, want Succeeded", c.OperationID, op.Status, op.Error)
		}
	}
	if sh, _ := s.shipment("busy"); sh.Version != 40 || sh.Recipient != "Recipient 38" {
		t.Errorf("shipment busy at version %d, recipient %q; want 40, the last patch's", sh.Version, sh.Recipient)
	}
	if err := w.Ready(t.Context()); err != nil {
		t.Errorf("Ready once the database is back: %v", err)
	}
}

// An outage longer than MaxOutage spends deliveries after all: the message is
// abandoned, and dead-lettered past the max delivery count.
func TestOutageLongerThanMaxOutageSpendsDeliveries(t *testing.T) {
	const maxDelivery = 3
	b, s := newFakeBus(maxDelivery), newFakeStore()
	s.setUnavailable(true)
	b.send(messages(t, upsert(t, "s", testFields))...)
	cfg := testConfig()
	cfg.MaxOutage = cfg.Retry.Max // a few retries in place, then give up
	start(t, b, s, cfg)
	waitFor(t, "the message to be dead-lettered", func() bool { return len(b.deadLetters()) == 1 })
	if dl := b.deadLetters()[0]; dl.DeadLetterReason != bus.ReasonMaxDeliveryCountExceeded {
		t.Errorf("dead-letter reason %q, want %q", dl.DeadLetterReason, bus.ReasonMaxDeliveryCountExceeded)
	}
}

// A message whose processing panics is abandoned, not fatal: past the max
// delivery count it is dead-lettered, while the session's later commands and
// the other sessions are applied.
func TestPanicIsContained(t *testing.T) {
	const maxDelivery = 3
	b, s := newFakeBus(maxDelivery), newFakeStore()
	poison := patch(t, "s", shipment.Patch{Recipient: new("boom")})
	s.failRecord = func(r store.Record) error {
		if r.Operation.ID == poison.OperationID {
			panic("index out of range (a bug)")
		}
		return nil
	}
	after := patch(t, "s", shipment.Patch{Recipient: new("after")})
	other := upsert(t, "other", testFields)
	b.send(messages(t, upsert(t, "s", testFields), poison, after, other)...)
	w, _ := start(t, b, s, testConfig())
	waitFor(t, "the queue to drain", func() bool { total, _ := b.pending(); return total == 0 })

	dls := b.deadLetters()
	if len(dls) != 1 || dls[0].ID != poison.OperationID || dls[0].DeadLetterReason != bus.ReasonMaxDeliveryCountExceeded {
		t.Fatalf("dead letters %+v, want only the poison, with %s", dls, bus.ReasonMaxDeliveryCountExceeded)
	}
	for _, c := range []command.Command{after, other} {
		if op, _ := s.operation(c.OperationID); op.Status != operation.Succeeded {
			t.Errorf("operation %s after the poison: %s, want Succeeded", c.OperationID, op.Status)
		}
	}
	if got := testutil.ToFloat64(w.metrics.panics); got != maxDelivery {
		t.Errorf("panics counted %v, want %d (one per delivery)", got, maxDelivery)
	}
}

// The breaker holds slots back while it is open, letting one through per
// probe interval, and lets them all go once a transaction commits.
func TestBreakerAdmitsOneProbePerInterval(t *testing.T) {
	clock := &stepClock{now: time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)}
	b := newBreaker(time.Minute, clock.Now)
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if !b.admit(ctx) {
		t.Fatal("a closed breaker held a slot back")
	}
	b.fail(errors.New("database is locked"))
	if b.admit(ctx) {
		t.Fatal("an open breaker admitted a slot before its probe interval")
	}
	clock.advance(time.Minute)
	if !b.admit(t.Context()) {
		t.Fatal("no probe admitted after the interval")
	}
	ctx2, cancel2 := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel2()
	if b.admit(ctx2) {
		t.Error("a second probe admitted within the same interval")
	}
	if err := b.ready(t.Context()); err == nil || !strings.Contains(err.Error(), "database is locked") {
		t.Errorf("ready while open = %v, want the cause", err)
	}
	waiting := make(chan bool, 1)
	go func() { waiting <- b.admit(t.Context()) }()
	b.succeed()
	select {
	case ok := <-waiting:
		if !ok {
			t.Error("a waiting slot was not admitted once the breaker closed")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a waiting slot stayed held back after the breaker closed")
	}
	if err := b.ready(t.Context()); err != nil {
		t.Errorf("ready once closed = %v", err)
	}
}

// stepClock is a clock that moves only when told to.
type stepClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *stepClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *stepClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}
