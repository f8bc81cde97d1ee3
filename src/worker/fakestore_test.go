package worker

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/dropoff-dev/dropoff/src/operation"
	"github.com/dropoff-dev/dropoff/src/shipment"
	"github.com/dropoff-dev/dropoff/src/store"
)

var errFakeDown = errors.New("fake store: database unreachable")

// fakeStore is an in-memory write store. Transactions run one at a time (like
// SQLite's single writer) on the committed state, and their records are kept
// only if fn and the commit succeed. It enforces Record's rules: the version
// step and the once-only operation outcome.
type fakeStore struct {
	mu    sync.Mutex // serialises transactions and guards the state below
	ops   map[string]operation.Operation
	ships map[string]shipment.Shipment
	keys  map[string]store.IdempotencyKey
	feed  []store.Change

	// fmu guards the failure injection and the concurrency probe.
	fmu         sync.Mutex
	down        bool          // every Update fails
	unavailable bool          // every Update fails with store.ErrUnavailable
	failNext    int           // the next n Updates fail
	gate        chan struct{} // when non-nil, Updates wait for it to close first
	inFlight    int
	maxInFlight int
	updates     int // every Update call
	// failRecord, when set before the store is used, may fail a Record.
	failRecord func(store.Record) error
}

func newFakeStore() *fakeStore {
	return &fakeStore{
		ops: map[string]operation.Operation{}, ships: map[string]shipment.Shipment{},
		keys: map[string]store.IdempotencyKey{},
	}
}

func (s *fakeStore) Update(ctx context.Context, fn func(context.Context, store.WriteTx) error) error {
	gate, err := s.enter()
	defer s.leave()
	if err != nil {
		return err
	}
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	tx := &fakeTx{s: s}
	if err := fn(ctx, tx); err != nil {
		return err
	}
	for _, r := range tx.records {
		s.commit(r)
	}
	return nil
}

// enter counts an Update in flight and says whether it must fail or wait.
func (s *fakeStore) enter() (chan struct{}, error) {
	s.fmu.Lock()
	defer s.fmu.Unlock()
	s.inFlight++
	s.updates++
	s.maxInFlight = max(s.maxInFlight, s.inFlight)
	if s.down {
		return nil, errFakeDown
	}
	if s.unavailable {
		return nil, fmt.Errorf("%w: fake store: database is locked", store.ErrUnavailable)
	}
	if s.failNext > 0 {
		s.failNext--
		return nil, errFakeDown
	}
	return s.gate, nil
}

func (s *fakeStore) leave() {
	s.fmu.Lock()
	defer s.fmu.Unlock()
	s.inFlight--
}

func (s *fakeStore) commit(r store.Record) {
	s.ops[r.Operation.ID] = r.Operation
	if r.Shipment != nil {
		s.ships[r.Shipment.ID] = *r.Shipment
	}
	if r.IdempotencyKey != nil {
		s.keys[r.IdempotencyKey.KeyDigest] = *r.IdempotencyKey
	}
	var sh *shipment.Shipment
	if r.Shipment != nil {
		c := *r.Shipment
		sh = &c
	}
	s.feed = append(s.feed, store.Change{
		Position: int64(len(s.feed) + 1), Operation: r.Operation, Shipment: sh,
		Change: r.Change, CommittedAt: time.Now(), Traceparent: r.Traceparent,
	})
}

func (s *fakeStore) Shipments(ctx context.Context, after string, limit int) ([]shipment.Shipment, error) {
	return nil, errors.New("fake store: Shipments not implemented")
}

func (s *fakeStore) Ping(ctx context.Context) error { return nil }

// Failure injection and probes.

func (s *fakeStore) setUnavailable(u bool) {
	s.fmu.Lock()
	defer s.fmu.Unlock()
	s.unavailable = u
}

func (s *fakeStore) setDown(down bool) {
	s.fmu.Lock()
	defer s.fmu.Unlock()
	s.down = down
}

func (s *fakeStore) failNextUpdates(n int) {
	s.fmu.Lock()
	defer s.fmu.Unlock()
	s.failNext = n
}

// closeGate makes Updates wait until the returned function is called.
func (s *fakeStore) closeGate() (open func()) {
	s.fmu.Lock()
	defer s.fmu.Unlock()
	g := make(chan struct{})
	s.gate = g
	return sync.OnceFunc(func() { close(g) })
}

func (s *fakeStore) updatesInFlight() (now, most int) {
	s.fmu.Lock()
	defer s.fmu.Unlock()
	return s.inFlight, s.maxInFlight
}

func (s *fakeStore) updateCount() int {
	s.fmu.Lock()
	defer s.fmu.Unlock()
	return s.updates
}

// Snapshots for assertions.

func (s *fakeStore) operation(id string) (operation.Operation, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	op, ok := s.ops[id]
	return op, ok
}

func (s *fakeStore) operationCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.ops)
}

func (s *fakeStore) shipment(id string) (shipment.Shipment, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sh, ok := s.ships[id]
	return sh, ok
}

func (s *fakeStore) key(digest string) (store.IdempotencyKey, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k, ok := s.keys[digest]
	return k, ok
}

func (s *fakeStore) changes() []store.Change {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]store.Change(nil), s.feed...)
}

// record puts an outcome in the store directly, as an earlier worker would have.
func (s *fakeStore) record(r store.Record) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.commit(r)
}

// fakeTx reads the committed state and stages records until commit.
type fakeTx struct {
	s       *fakeStore
	records []store.Record
}

func (tx *fakeTx) Operation(ctx context.Context, id string) (operation.Operation, bool, error) {
	op, ok := tx.s.ops[id]
	return op, ok, nil
}

func (tx *fakeTx) Shipment(ctx context.Context, id string) (shipment.Shipment, bool, error) {
	sh, ok := tx.s.ships[id]
	return sh, ok, nil
}

func (tx *fakeTx) IdempotencyKey(ctx context.Context, digest string) (store.IdempotencyKey, bool, error) {
	k, ok := tx.s.keys[digest]
	return k, ok, nil
}

func (tx *fakeTx) Record(ctx context.Context, r store.Record) error {
	if tx.s.failRecord != nil {
		if err := tx.s.failRecord(r); err != nil {
			return err
		}
	}
	if prev, ok := tx.s.ops[r.Operation.ID]; ok && (prev.Error == nil || prev.Error.Code != operation.CodeDeadLettered) {
		return store.ErrConflict
	}
	if r.Shipment != nil && tx.s.ships[r.Shipment.ID].Version != r.Shipment.Version-1 {
		return store.ErrConflict
	}
	tx.records = append(tx.records, r)
	return nil
}
