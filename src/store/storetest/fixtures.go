package storetest

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/dropoff-dev/dropoff/src/command"
	"github.com/dropoff-dev/dropoff/src/operation"
	"github.com/dropoff-dev/dropoff/src/shipment"
	"github.com/dropoff-dev/dropoff/src/store"
)

// epoch is the fixtures' clock: a UTC instant with sub-second digits, so a
// store that drops them is caught.
var epoch = time.Date(2025, 3, 14, 9, 26, 53, 589793200, time.UTC)

// fixedZone is a zone other than UTC, for instants given in local time.
var fixedZone = time.FixedZone("UTC+2", 2*60*60)

// tick returns the i-th fixture instant, 1.0000001 ms apart.
func tick(i int) time.Time {
	return epoch.Add(time.Duration(i) * (time.Millisecond + 100*time.Nanosecond))
}

// fields returns valid shipment content, different for every n.
func fields(n int) shipment.Fields {
	return shipment.Fields{
		Recipient:   fmt.Sprintf("Recipient %d", n),
		Destination: fmt.Sprintf("%d Quay Street, Harbourtown", n),
		WeightGrams: 100 + n,
		Service:     []shipment.Service{shipment.Standard, shipment.Express}[n%2],
	}
}

// succeeded is the operation of a command that produced s.
func succeeded(id string, kind command.Kind, s shipment.Shipment, at time.Time) operation.Operation {
	return operation.Operation{
		ID: id, Kind: string(kind), ShipmentID: s.ID, Status: operation.Succeeded,
		ResourceVersion: s.Version, CreatedAt: at.Add(-time.Second), LastUpdatedAt: at,
	}
}

// failed is the operation of a command that ended in a business failure.
func failed(id string, kind command.Kind, shipmentID string, code operation.ErrorCode, at time.Time) operation.Operation {
	return operation.Operation{
		ID: id, Kind: string(kind), ShipmentID: shipmentID, Status: operation.Failed,
		Error:     &operation.Error{Code: code, Message: "fixture: " + string(code)},
		CreatedAt: at.Add(-time.Second), LastUpdatedAt: at,
	}
}

// createRecord is what a PUT of a new shipment leaves behind.
func createRecord(opID, id string, n int) (store.Record, shipment.Shipment) {
	s, change, err := shipment.Put(shipment.Shipment{}, false, id, fields(n), 0, tick(n))
	if err != nil {
		panic(fmt.Sprintf("fixture shipment %s: %v", id, err)) // fields(n) is always valid
	}
	return store.Record{Operation: succeeded(opID, command.KindUpsert, s, tick(n)), Shipment: &s, Change: change}, s
}

// record runs one Update that records r.
func record(ctx context.Context, db store.WriteStore, r store.Record) error {
	return db.Update(ctx, func(ctx context.Context, tx store.WriteTx) error { return tx.Record(ctx, r) })
}

func mustRecord(t *testing.T, db store.WriteStore, r store.Record) {
	t.Helper()
	if err := record(t.Context(), db, r); err != nil {
		t.Fatalf("record operation %s: %v", r.Operation.ID, err)
	}
}

// view runs fn in an Update that writes nothing.
func view(t *testing.T, db store.WriteStore, fn func(ctx context.Context, tx store.WriteTx) error) {
	t.Helper()
	if err := db.Update(t.Context(), fn); err != nil {
		t.Fatalf("read in Update: %v", err)
	}
}

// currentShipment reads a shipment in its own transaction.
func currentShipment(t *testing.T, db store.WriteStore, id string) (s shipment.Shipment, found bool) {
	t.Helper()
	view(t, db, func(ctx context.Context, tx store.WriteTx) (err error) {
		s, found, err = tx.Shipment(ctx, id)
		return err
	})
	return s, found
}

// currentOperation reads an operation in its own transaction.
func currentOperation(t *testing.T, db store.WriteStore, id string) (o operation.Operation, found bool) {
	t.Helper()
	view(t, db, func(ctx context.Context, tx store.WriteTx) (err error) {
		o, found, err = tx.Operation(ctx, id)
		return err
	})
	return o, found
}

// readFeed reads the whole feed, a page at a time.
func readFeed(t *testing.T, db store.Feed) []store.Change {
	t.Helper()
	var all []store.Change
	var after int64
	for {
		page, err := db.ReadChanges(t.Context(), after, 100)
		if err != nil {
			t.Fatalf("ReadChanges(%d, 100): %v", after, err)
		}
		if len(page) == 0 {
			return all
		}
		for _, c := range page {
			if c.Position <= after {
				t.Fatalf("ReadChanges returned position %d after %d: positions must grow", c.Position, after)
			}
			after = c.Position
		}
		all = append(all, page...)
	}
}

// feedBuilder makes change-feed entries for projection tests by running the
// domain rules in memory, the way the worker would, and remembers the state
// they lead to.
type feedBuilder struct {
	t     *testing.T
	pos   int64
	state map[string]shipment.Shipment // tombstones included
}

func newFeed(t *testing.T) *feedBuilder {
	return &feedBuilder{t: t, state: map[string]shipment.Shipment{}}
}

// next allocates a position and the instant that goes with it.
func (b *feedBuilder) next() (int64, time.Time) {
	b.pos++
	return b.pos, tick(int(b.pos))
}

func (b *feedBuilder) put(id string, f shipment.Fields) store.Change {
	b.t.Helper()
	pos, at := b.next()
	cur, exists := b.state[id]
	s, change, err := shipment.Put(cur, exists, id, f, 0, at)
	return b.succeeded(pos, at, command.KindUpsert, s, change, err)
}

func (b *feedBuilder) patch(id string, p shipment.Patch) store.Change {
	b.t.Helper()
	pos, at := b.next()
	cur, exists := b.state[id]
	s, change, err := shipment.Merge(cur, exists, p, 0, at)
	return b.succeeded(pos, at, command.KindPatch, s, change, err)
}

func (b *feedBuilder) cancel(id string) store.Change {
	b.t.Helper()
	pos, at := b.next()
	cur, exists := b.state[id]
	s, change, err := shipment.Cancel(cur, exists, 0, at)
	return b.succeeded(pos, at, command.KindDelete, s, change, err)
}

// fail is the entry of a command that failed: an operation and no shipment.
func (b *feedBuilder) fail(id string, code operation.ErrorCode) store.Change {
	pos, at := b.next()
	op := failed(fmt.Sprintf("op-%04d", pos), command.KindPatch, id, code, at)
	return store.Change{Position: pos, Operation: op, CommittedAt: at}
}

func (b *feedBuilder) succeeded(pos int64, at time.Time, kind command.Kind, s shipment.Shipment, change shipment.ChangeType, err error) store.Change {
	b.t.Helper()
	if err != nil {
		b.t.Fatalf("fixture change %d on %s: %v", pos, s.ID, err)
	}
	b.state[s.ID] = s
	op := succeeded(fmt.Sprintf("op-%04d", pos), kind, s, at)
	return store.Change{Position: pos, Operation: op, Shipment: &s, Change: change, CommittedAt: at}
}

// live returns the live shipments the entries built so far lead to, in id
// order, keeping those status matches ("" for all).
func (b *feedBuilder) live(status shipment.Status) []shipment.Shipment {
	var out []shipment.Shipment
	for _, id := range slices.Sorted(maps.Keys(b.state)) {
		s := b.state[id]
		if !s.Deleted && (status == "" || s.Status == status) {
			out = append(out, s)
		}
	}
	return out
}

// ptr returns a pointer to v, for patches.
func ptr[T any](v T) *T { return &v }
