package worker

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/dropoff-dev/dropoff/src/backoff"
	"github.com/dropoff-dev/dropoff/src/bus"
	"github.com/dropoff-dev/dropoff/src/command"
	"github.com/dropoff-dev/dropoff/src/operation"
	"github.com/dropoff-dev/dropoff/src/shipment"
)

// testConfig keeps every wait short, so that the tests run in milliseconds.
func testConfig() Config {
	return Config{
		MaxSessions:    4,
		IdleTimeout:    20 * time.Millisecond,
		AcceptTimeout:  50 * time.Millisecond,
		Retry:          backoff.Policy{Initial: time.Millisecond, Max: 4 * time.Millisecond},
		DeadLetterScan: 10 * time.Millisecond,
	}
}

// start runs a worker until the test ends or stop is called; stop cancels
// Run and returns its error once it has returned.
func start(t *testing.T, b *fakeBus, s *fakeStore, cfg Config) (w *Worker, stop func() error) {
	t.Helper()
	w, err := New(b, s, cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	var once sync.Once
	var runErr error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case runErr = <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("Run did not return within 10s of cancel")
			}
		})
		return runErr
	}
	t.Cleanup(func() { stop() })
	return w, stop
}

// waitFor polls cond until it holds, failing the test after 10s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

var testFields = shipment.Fields{Recipient: "Ada", Destination: "1 Main St", WeightGrams: 500, Service: shipment.Standard}

func newCommand(t *testing.T, kind command.Kind, shipmentID string) command.Command {
	t.Helper()
	id, err := operation.NewID()
	if err != nil {
		t.Fatalf("new operation id: %v", err)
	}
	return command.Command{OperationID: id, ShipmentID: shipmentID, Kind: kind, AcceptedAt: time.Now().UTC()}
}

func upsert(t *testing.T, shipmentID string, f shipment.Fields) command.Command {
	t.Helper()
	c := newCommand(t, command.KindUpsert, shipmentID)
	c.Payload = f
	return c
}

func patch(t *testing.T, shipmentID string, p shipment.Patch) command.Command {
	t.Helper()
	c := newCommand(t, command.KindPatch, shipmentID)
	c.Payload = p
	return c
}

func cancelCmd(t *testing.T, shipmentID string) command.Command {
	t.Helper()
	return newCommand(t, command.KindDelete, shipmentID)
}

func messages(t *testing.T, cmds ...command.Command) []bus.Message {
	t.Helper()
	out := make([]bus.Message, len(cmds))
	for i, c := range cmds {
		m, err := c.Message()
		if err != nil {
			t.Fatalf("encode command %d: %v", i, err)
		}
		out[i] = m
	}
	return out
}

func withStatus(f shipment.Fields, s shipment.Status) shipment.Fields {
	f.Status = s
	return f
}

// TestSessionsProcessInOrderConcurrently: 30 shipments × 20 commands, 8 slots.
// Each shipment's commands apply in the order sent, while several shipments
// progress at once, and never more sessions are held than MaxSessions.
func TestSessionsProcessInOrderConcurrently(t *testing.T) {
	const shipments, perShipment, slots = 30, 20, 8
	b, s := newFakeBus(10), newFakeStore()
	sent := map[string][]string{} // shipment id → operation ids in send order
	for i := range perShipment {
		for j := range shipments {
			id := fmt.Sprintf("ship-%02d", j)
			c := upsert(t, id, testFields)
			if i > 0 {
				c = patch(t, id, shipment.Patch{Recipient: new(fmt.Sprintf("r-%d", i))})
			}
			sent[id] = append(sent[id], c.OperationID)
			b.send(messages(t, c)...)
		}
	}
	// Hold every transaction at the gate until two are in flight at once:
	// the proof of concurrency is a count, not a timing.
	open := s.closeGate()
	cfg := testConfig()
	cfg.MaxSessions = slots
	start(t, b, s, cfg)
	waitFor(t, "two transactions in flight at once", func() bool { _, most := s.updatesInFlight(); return most >= 2 })
	open()
	waitFor(t, "every command applied", func() bool { return s.operationCount() == shipments*perShipment })

	applied := map[string][]string{}
	for _, c := range s.changes() {
		if c.Operation.Status != operation.Succeeded {
			t.Fatalf("operation %s: got status %s, want Succeeded (error %+v)", c.Operation.ID, c.Operation.Status, c.Operation.Error)
		}
		id := c.Operation.ShipmentID
		if want := int64(len(applied[id]) + 1); c.Shipment.Version != want {
			t.Errorf("shipment %s: change %d has version %d, want %d", id, len(applied[id]), c.Shipment.Version, want)
		}
		applied[id] = append(applied[id], c.Operation.ID)
	}
	for id, want := range sent {
		if got := strings.Join(applied[id], ","); got != strings.Join(want, ",") {
			t.Errorf("shipment %s: applied operations in order\n%s\nwant\n%s", id, got, strings.Join(want, ","))
		}
	}
	if _, most := s.updatesInFlight(); most > slots {
		t.Errorf("got %d transactions in flight at once, want at most %d", most, slots)
	}
	b.mu.Lock()
	maxHeld := b.maxHeld
	b.mu.Unlock()
	if maxHeld > slots {
		t.Errorf("got %d sessions held at once, want at most %d", maxHeld, slots)
	}
}

// TestBusinessFailuresAreRecorded: a command the domain refuses ends its
// operation Failed with the right code, changes nothing, and is completed.
func TestBusinessFailuresAreRecorded(t *testing.T) {
	tests := []struct {
		name  string
		setup []shipment.Fields // upserts applied to shipment "s" first
		cmd   func(t *testing.T) command.Command
		want  operation.ErrorCode
	}{
		{"patch of an unknown shipment", nil,
			func(t *testing.T) command.Command {
				return patch(t, "s", shipment.Patch{Recipient: new("Bo")})
			}, operation.CodeNotFound},
		{"cancel of an unknown shipment", nil,
			func(t *testing.T) command.Command { return cancelCmd(t, "s") }, operation.CodeNotFound},
		{"If-Match at another version", []shipment.Fields{testFields},
			func(t *testing.T) command.Command {
				c := patch(t, "s", shipment.Patch{Recipient: new("Bo")})
				c.IfMatch = 5
				return c
			}, operation.CodePreconditionFailed},
		{"status moved backwards", []shipment.Fields{withStatus(testFields, shipment.InTransit)},
			func(t *testing.T) command.Command {
				return patch(t, "s", shipment.Patch{Status: new(shipment.Registered)})
			}, operation.CodeInvalidTransition},
		{"cancel of a delivered shipment", []shipment.Fields{withStatus(testFields, shipment.Delivered)},
			func(t *testing.T) command.Command { return cancelCmd(t, "s") }, operation.CodeInvalidTransition},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, s := newFakeBus(10), newFakeStore()
			for _, f := range tt.setup {
				b.send(messages(t, upsert(t, "s", f))...)
			}
			c := tt.cmd(t)
			b.send(messages(t, c)...)
			start(t, b, s, testConfig())
			waitFor(t, "the queue to drain", func() bool { total, _ := b.pending(); return total == 0 })

			op, ok := s.operation(c.OperationID)
			if !ok {
				t.Fatalf("operation %s not recorded", c.OperationID)
			}
			if op.Status != operation.Failed || op.Error == nil || op.Error.Code != tt.want {
				t.Errorf("got status %s, error %+v; want Failed with %s", op.Status, op.Error, tt.want)
			}
			if op.ResourceVersion != 0 {
				t.Errorf("got resource version %d, want 0", op.ResourceVersion)
			}
			sh, _ := s.shipment("s")
			if want := int64(len(tt.setup)); sh.Version != want {
				t.Errorf("got shipment version %d, want %d (unchanged)", sh.Version, want)
			}
			if got := len(b.completions()); got != len(tt.setup)+1 {
				t.Errorf("got %d completed messages, want %d", got, len(tt.setup)+1)
			}
		})
	}
}

// TestUndecodableMessagesAreDeadLettered: a message that is not a command is
// dead-lettered at once with the decoder's reason, and the session goes on.
func TestUndecodableMessagesAreDeadLettered(t *testing.T) {
	b, s := newFakeBus(10), newFakeStore()
	first, last := upsert(t, "s", testFields), patch(t, "s", shipment.Patch{Recipient: new("Bo")})
	msgs := messages(t, first, upsert(t, "s", testFields), upsert(t, "s", testFields), patch(t, "s", shipment.Patch{}), last)
	msgs[1].Properties = map[string]string{command.PropSchemaVersion: "9", command.PropOperationID: msgs[1].ID}
	msgs[2].Subject = "shipment.explode"
	msgs[3].Body = []byte(`{"weightGrams": 7}`)
	b.send(msgs...)
	reg := prometheus.NewRegistry()
	cfg := testConfig()
	cfg.Registerer = reg
	w, _ := start(t, b, s, cfg)
	waitFor(t, "the queue to drain", func() bool { total, _ := b.pending(); return total == 0 })

	wantReasons := []string{command.ReasonUnsupportedVersion, command.ReasonUnknownKind, command.ReasonMalformed}
	dl := b.deadLetters()
	if len(dl) != len(wantReasons) {
		t.Fatalf("got %d dead letters, want %d", len(dl), len(wantReasons))
	}
	for i, m := range dl {
		if m.ID != msgs[i+1].ID || m.DeadLetterReason != wantReasons[i] || m.DeadLetterDescription == "" {
			t.Errorf("dead letter %d: got id %s, reason %q, description %q; want id %s, reason %q and a description",
				i, m.ID, m.DeadLetterReason, m.DeadLetterDescription, msgs[i+1].ID, wantReasons[i])
		}
	}
	if sh, _ := s.shipment("s"); sh.Version != 2 || sh.Recipient != "Bo" {
		t.Errorf("got shipment version %d, recipient %q; want 2, %q (the last patch applied after the dead letters)", sh.Version, sh.Recipient, "Bo")
	}
	if got := testutil.ToFloat64(w.metrics.messages.WithLabelValues("dead_lettered")); got != 3 {
		t.Errorf("got dead_lettered count %v, want 3", got)
	}
	if got := testutil.ToFloat64(w.metrics.messages.WithLabelValues("succeeded")); got != 2 {
		t.Errorf("got succeeded count %v, want 2", got)
	}
}

// TestIdempotencyKeyReused: the same key with a different request fails its
// operation with IdempotencyKeyReused and changes nothing.
func TestIdempotencyKeyReused(t *testing.T) {
	const key = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
	b, s := newFakeBus(10), newFakeStore()
	first := upsert(t, "s", testFields)
	first.IdempotencyKey = key
	other := testFields
	other.Recipient = "Mallory"
	second := upsert(t, "s", other)
	second.IdempotencyKey = key
	b.send(messages(t, first, second)...)
	start(t, b, s, testConfig())
	waitFor(t, "both operations recorded", func() bool { return s.operationCount() == 2 })

	if op, _ := s.operation(first.OperationID); op.Status != operation.Succeeded {
		t.Errorf("first: got status %s, want Succeeded", op.Status)
	}
	op, _ := s.operation(second.OperationID)
	if op.Status != operation.Failed || op.Error == nil || op.Error.Code != operation.CodeIdempotencyKeyReused {
		t.Errorf("second: got status %s, error %+v; want Failed with IdempotencyKeyReused", op.Status, op.Error)
	}
	if sh, _ := s.shipment("s"); sh.Version != 1 || sh.Recipient != testFields.Recipient {
		t.Errorf("got shipment version %d, recipient %q; want 1, %q", sh.Version, sh.Recipient, testFields.Recipient)
	}
	digest, err := first.Digest()
	if err != nil {
		t.Fatal(err)
	}
	k, ok := s.key(first.KeyScope())
	if !ok || k.OperationID != first.OperationID || k.RequestDigest != digest {
		t.Errorf("got remembered key %+v (found %v), want operation %s with digest %s", k, ok, first.OperationID, digest)
	}
}

// TestIdempotencyKeyIsScopedToItsShipment: one key sent for two shipments,
// with different requests, applies both, whichever shipment is processed
// first. With a key global to all shipments, the one processed second was
// refused, although shipments are processed in parallel and processing order
// across them is not the order they were accepted in.
func TestIdempotencyKeyIsScopedToItsShipment(t *testing.T) {
	const key = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
	for _, order := range [][2]string{{"a", "b"}, {"b", "a"}} {
		b, s := newFakeBus(10), newFakeStore()
		cmds := map[string]command.Command{}
		for _, id := range []string{"a", "b"} {
			f := testFields
			f.Recipient = "Recipient " + id
			cmds[id] = upsert(t, id, f)
			c := cmds[id]
			c.IdempotencyKey = key
			cmds[id] = c
		}
		b.send(messages(t, cmds[order[0]], cmds[order[1]])...)
		start(t, b, s, testConfig())
		waitFor(t, "both operations recorded", func() bool { return s.operationCount() == 2 })
		for _, id := range order {
			if op, _ := s.operation(cmds[id].OperationID); op.Status != operation.Succeeded {
				t.Errorf("order %v: shipment %s's operation %s %+v, want Succeeded", order, id, op.Status, op.Error)
			}
		}
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
	}{
		{"negative sessions", Config{MaxSessions: -1}},
		{"negative idle timeout", Config{IdleTimeout: -time.Second}},
		{"cap below base backoff", Config{Retry: backoff.Policy{Initial: time.Second, Max: time.Millisecond}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New(newFakeBus(10), newFakeStore(), tt.cfg); err == nil {
				t.Errorf("New: got nil error, want one")
			}
		})
	}
	if _, err := New(nil, newFakeStore(), Config{}); err == nil {
		t.Errorf("New without a receiver: got nil error, want one")
	}
}
