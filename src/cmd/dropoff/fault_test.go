package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/dropoff-dev/dropoff/src/backoff"
	"github.com/dropoff-dev/dropoff/src/bus"
	"github.com/dropoff-dev/dropoff/src/bus/sqlitebus"
	"github.com/dropoff-dev/dropoff/src/httpapi"
	"github.com/dropoff-dev/dropoff/src/projector"
	"github.com/dropoff-dev/dropoff/src/shipment"
	"github.com/dropoff-dev/dropoff/src/store"
	"github.com/dropoff-dev/dropoff/src/store/sqlite"
	"github.com/dropoff-dev/dropoff/src/worker"
)

// These tests assemble the system by hand, like serve.go does, but with a
// fault-injecting write store or sender in between.

var errInjected = errors.New("injected: database unavailable")

// faultyStore fails or stalls write transactions on demand.
type faultyStore struct {
	store.WriteStore
	down        atomic.Bool   // every transaction fails
	unavailable atomic.Bool   // every transaction fails with store.ErrUnavailable, as a locked or full database does
	doomed      string        // transactions touching this shipment always fail
	panicky     atomic.Value  // string: transactions touching this shipment panic (a bug)
	stall       chan struct{} // when non-nil, transactions wait for it to close
	updates     atomic.Int64  // transactions attempted
	mu          sync.Mutex
}

func (f *faultyStore) Update(ctx context.Context, fn func(context.Context, store.WriteTx) error) error {
	f.updates.Add(1)
	f.mu.Lock()
	stall := f.stall
	f.mu.Unlock()
	if stall != nil {
		select {
		case <-stall:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if f.down.Load() {
		return errInjected
	}
	if f.unavailable.Load() {
		return fmt.Errorf("%w: %w", store.ErrUnavailable, errInjected)
	}
	return f.WriteStore.Update(ctx, func(ctx context.Context, tx store.WriteTx) error {
		panicky, _ := f.panicky.Load().(string)
		return fn(ctx, faultyTx{tx, f.doomed, panicky})
	})
}

type faultyTx struct {
	store.WriteTx
	doomed, panicky string
}

func (t faultyTx) Shipment(ctx context.Context, id string) (shipment.Shipment, bool, error) {
	if id == t.doomed {
		return shipment.Shipment{}, false, errInjected
	}
	if id == t.panicky {
		panic("injected: a bug in processing " + id)
	}
	return t.WriteTx.Shipment(ctx, id)
}

// faultySender refuses every send while down.
type faultySender struct {
	httpapi.CommandSender
	down atomic.Bool
}

func (f *faultySender) Send(ctx context.Context, msgs ...bus.Message) error {
	if f.down.Load() {
		return errInjected
	}
	return f.CommandSender.Send(ctx, msgs...)
}

type rig struct {
	*system
	queue   *sqlitebus.Queue
	store   *faultyStore
	sender  *faultySender
	worker  *worker.Worker
	reg     *prometheus.Registry
	writeDB string // the write database's file
}

// newRig runs queue, worker, projector and the HTTP API on a temporary
// directory with a short lock and a low maximum delivery count.
func newRig(t *testing.T, maxDeliveries int) *rig {
	t.Helper()
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	q, err := sqlitebus.Open(filepath.Join(dir, "queue.db"), sqlitebus.Config{MaxDeliveryCount: maxDeliveries, LockDuration: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	// A short busy timeout, so that a lock held by another process (the
	// outage tests) fails writes with SQLITE_BUSY rather than only delaying them.
	ws, err := sqlite.OpenWriteStore(ctx, filepath.Join(dir, "write.db"), sqlite.Config{BusyTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	proj, err := sqlite.OpenProjection(ctx, filepath.Join(dir, "read.db"), sqlite.Config{})
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{queue: q, store: &faultyStore{WriteStore: ws}, sender: &faultySender{CommandSender: q},
		reg: prometheus.NewRegistry(), writeDB: filepath.Join(dir, "write.db")}
	w, err := worker.New(q, r.store, worker.Config{Retry: backoff.Policy{Initial: 10 * time.Millisecond, Max: 50 * time.Millisecond},
		DeadLetters: q, DeadLetterScan: 50 * time.Millisecond, Registerer: r.reg})
	if err != nil {
		t.Fatal(err)
	}
	r.worker = w
	p, err := projector.New(ws, proj, projector.Config{})
	if err != nil {
		t.Fatal(err)
	}
	h, err := httpapi.New(httpapi.Config{Sender: r.sender, Queries: proj, DeadLetters: w.DeadLetterAdmin()})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for _, run := range []func(context.Context) error{w.Run, p.Run} {
		wg.Go(func() { errs <- run(ctx) })
	}
	t.Cleanup(func() {
		srv.Close()
		r.store.mu.Lock()
		if r.store.stall != nil {
			select {
			case <-r.store.stall:
			default:
				close(r.store.stall)
			}
		}
		r.store.mu.Unlock()
		cancel()
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Errorf("role returned %v", err)
			}
		}
		if err := errors.Join(q.Close(), ws.Close(), proj.Close()); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	r.system = &system{URL: srv.URL, dir: dir, logs: &logSink{}}
	return r
}

// TestWriteStoreDownThenBack: while the database is down, commands are
// retried with backoff, not lost and not dead-lettered; once it is back
// they all apply exactly once.
func TestWriteStoreDownThenBack(t *testing.T) {
	r := newRig(t, 10)
	r.store.down.Store(true)
	var ops []string
	for _, id := range []string{"a", "b", "c", "d", "e"} {
		ops = append(ops, r.command(t, "PUT", id, parcel))
	}
	// Let every message fail a few times (but fewer than the maximum).
	waitUntil(t, func() bool { return r.store.updates.Load() >= 15 })
	r.store.down.Store(false)
	for _, op := range ops {
		if got := r.wait(t, op); got["status"] != "Succeeded" || got["resourceVersion"] != 1.0 {
			t.Errorf("operation %s = %v, want Succeeded at version 1", op, got)
		}
	}
	if dl, err := r.queue.PeekDeadLetters(t.Context(), 0, 10); err != nil || len(dl) != 0 {
		t.Errorf("dead letters = %d (%v), want none: a transient failure below the maximum is retried", len(dl), err)
	}
}

// TestWriteStoreStallKeepsTheSession: a transaction that hangs for longer
// than the lock duration does not lose the session (the lock is renewed), and
// nothing is applied twice once it resumes.
func TestWriteStoreStallKeepsTheSession(t *testing.T) {
	r := newRig(t, 10)
	stall := make(chan struct{})
	r.store.mu.Lock()
	r.store.stall = stall
	r.store.mu.Unlock()
	first := r.command(t, "PUT", "slow", parcel)
	second := r.command(t, "PATCH", "slow", `{"status":"picked_up"}`)
	waitUntil(t, func() bool { return r.store.updates.Load() >= 1 })
	stalledAt := time.Now()
	waitUntil(t, func() bool { return time.Since(stalledAt) > 3*time.Second }) // longer than the 2s lock
	r.store.mu.Lock()
	r.store.stall = nil
	close(stall)
	r.store.mu.Unlock()
	for _, op := range []string{first, second} {
		if got := r.wait(t, op); got["status"] != "Succeeded" {
			t.Errorf("operation %s = %v, want Succeeded", op, got)
		}
	}
	h := r.do(t, "GET", "/v1/shipments/slow/history", "")
	if items, _ := h.Body["items"].([]any); len(items) != 2 {
		t.Errorf("history = %v, want exactly two entries", h.Body)
	}
	// Had the lock been lost, the stalled message would have been delivered
	// again and run a second transaction.
	if n := r.store.updates.Load(); n != 2 {
		t.Errorf("%d write transactions, want 2: the stalled message was redelivered", n)
	}
}

// TestPoisonByDatabaseIsDeadLettered: a command that fails transiently on
// every delivery is dead-lettered once it reaches the maximum delivery count,
// its operation ends Failed with DeadLettered, and its session moves on.
func TestPoisonByDatabaseIsDeadLettered(t *testing.T) {
	r := newRig(t, 3)
	r.store.doomed = "doomed"
	op := r.command(t, "PUT", "doomed", parcel)
	got := r.wait(t, op)
	if e, _ := got["error"].(map[string]any); got["status"] != "Failed" || e["code"] != "DeadLettered" || !strings.Contains(e["message"].(string), bus.ReasonMaxDeliveryCountExceeded) {
		t.Fatalf("operation = %v, want Failed DeadLettered naming %s", got, bus.ReasonMaxDeliveryCountExceeded)
	}
	dl, err := r.queue.PeekDeadLetters(t.Context(), 0, 10)
	if err != nil || len(dl) != 1 || dl[0].DeadLetterReason != bus.ReasonMaxDeliveryCountExceeded || dl[0].DeliveryCount != 3 {
		t.Fatalf("dead letters = %+v (%v), want one, MaxDeliveryCountExceeded after 3 deliveries", dl, err)
	}
	r.succeed(t, "PUT", "healthy", parcel)
}

// TestPanicIsContained: a command whose processing panics, here inside the
// SQLite store's group-commit transaction, is abandoned and then
// dead-lettered past the maximum delivery count; the process goes on, and the
// shipment's later commands and the other shipments are applied.
func TestPanicIsContained(t *testing.T) {
	r := newRig(t, 3)
	r.store.panicky.Store("buggy")
	op := r.command(t, "PUT", "buggy", parcel)
	r.succeed(t, "PUT", "healthy", parcel)
	got := r.wait(t, op)
	if e, _ := got["error"].(map[string]any); got["status"] != "Failed" || e["code"] != "DeadLettered" {
		t.Fatalf("operation = %v, want Failed DeadLettered", got)
	}
	r.store.panicky.Store("") // the bug fixed: the shipment's next command applies
	r.succeed(t, "PUT", "buggy", parcel)
	if n := metricValue(t, r.reg, "dropoff_worker_panics_total"); n != 3 {
		t.Errorf("%v panics counted, want 3: one per delivery", n)
	}
}

// TestBusRefusingSends: while the bus refuses sends, the command API answers
// 503 with Retry-After and nothing is accepted; every 202 is applied.
func TestBusRefusingSends(t *testing.T) {
	r := newRig(t, 10)
	var accepted []string
	for i, id := range []string{"s0", "s1", "s2", "s3", "s4", "s5"} {
		r.sender.down.Store(i%2 == 1)
		resp := r.do(t, "PUT", "/v1/shipments/"+id, parcel)
		switch {
		case i%2 == 1 && (resp.Status != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" || resp.Header.Get("Location") != ""):
			t.Errorf("%s with the bus down: HTTP %d, Retry-After %q, Location %q; want 503 with Retry-After and no Location",
				id, resp.Status, resp.Header.Get("Retry-After"), resp.Header.Get("Location"))
		case i%2 == 0 && resp.Status != http.StatusAccepted:
			t.Errorf("%s with the bus up: HTTP %d, want 202", id, resp.Status)
		case i%2 == 0:
			accepted = append(accepted, resp.Body["id"].(string))
		}
	}
	for _, op := range accepted {
		if got := r.wait(t, op); got["status"] != "Succeeded" {
			t.Errorf("operation %s = %v, want Succeeded", op, got)
		}
	}
	for _, id := range []string{"s1", "s3", "s5"} {
		if got := r.do(t, "GET", "/v1/shipments/"+id, ""); got.Status != http.StatusNotFound {
			t.Errorf("%s was refused but GET says HTTP %d", id, got.Status)
		}
	}
}

// waitUntil polls cond until it holds, for at most 20 seconds.
func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 20s")
		}
		time.Sleep(5 * time.Millisecond) // polling interval, with the deadline above
	}
}
