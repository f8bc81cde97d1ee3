package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/dropoff-dev/dropoff/src/command"
	"github.com/dropoff-dev/dropoff/src/operation"
	"github.com/dropoff-dev/dropoff/src/shipment"
	"github.com/dropoff-dev/dropoff/src/store"
)

// at2 returns shipment id at version 2 (created, then patched), recorded in db.
func at2(t *testing.T, db WriteDB, id string) shipment.Shipment {
	t.Helper()
	create, s1 := createRecord("op-"+id+"-1", id, 1)
	mustRecord(t, db, create)
	s2, change, err := shipment.Merge(s1, true, shipment.Patch{Recipient: ptr("Someone Else")}, 0, tick(2))
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	mustRecord(t, db, store.Record{Operation: succeeded("op-"+id+"-2", command.KindPatch, s2, tick(2)), Shipment: &s2, Change: change})
	return s2
}

func testVersionCheck(t *testing.T, db WriteDB) {
	cur := at2(t, db, "vc")
	tests := []struct {
		name    string
		id      string
		version int64
	}{
		{"create over an existing shipment", "vc", 1},
		{"stale version", "vc", 2},
		{"skipped version", "vc", 4},
		{"update of an unknown shipment", "vc-unknown", 2},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			next := cur
			next.ID, next.Version, next.Recipient = tt.id, tt.version, "Loser"
			opID := fmt.Sprintf("op-vc-x%d", i)
			err := record(t.Context(), db, store.Record{
				Operation: succeeded(opID, command.KindPatch, next, tick(3)), Shipment: &next, Change: shipment.Patched,
			})
			if !errors.Is(err, store.ErrConflict) {
				t.Fatalf("Record(%s version %d) = %v, want ErrConflict", tt.id, tt.version, err)
			}
			if _, found := currentOperation(t, db, opID); found {
				t.Errorf("operation %s recorded by a conflicting Record", opID)
			}
		})
	}
	if got, _ := currentShipment(t, db, "vc"); got.Version != 2 || got.Recipient != cur.Recipient {
		t.Errorf("after conflicts: version %d, recipient %q; want 2, %q", got.Version, got.Recipient, cur.Recipient)
	}
	if n := len(readFeed(t, db)); n != 2 {
		t.Errorf("feed has %d entries, want 2 (conflicts append nothing)", n)
	}
}

// testOptimisticConcurrency: two writers decided on version v and both record
// v+1; exactly one may win. Both read v before either writes (a store that
// serialises writers would otherwise show the second one v+1 inside its
// transaction), which is the case the version check exists for.
func testOptimisticConcurrency(t *testing.T, db WriteDB) {
	cur := at2(t, db, "oc")
	start := make(chan struct{})
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i := range errs {
		wg.Go(func() {
			next := cur
			next.Version, next.Recipient = cur.Version+1, fmt.Sprintf("Writer %d", i)
			rec := store.Record{Operation: succeeded(fmt.Sprintf("op-oc-w%d", i), command.KindPatch, next, tick(3)),
				Shipment: &next, Change: shipment.Patched}
			<-start
			errs[i] = record(t.Context(), db, rec)
		})
	}
	close(start)
	wg.Wait()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil:
			if winner >= 0 {
				t.Fatalf("both writers committed version %d", cur.Version+1)
			}
			winner = i
		case !errors.Is(err, store.ErrConflict):
			t.Fatalf("writer %d: %v, want nil or ErrConflict", i, err)
		}
	}
	if winner < 0 {
		t.Fatalf("no writer committed; want exactly one")
	}
	got, _ := currentShipment(t, db, "oc")
	if want := fmt.Sprintf("Writer %d", winner); got.Version != 3 || got.Recipient != want {
		t.Errorf("shipment = version %d, recipient %q; want 3, %q", got.Version, got.Recipient, want)
	}
	if n := len(readFeed(t, db)); n != 3 {
		t.Errorf("feed has %d entries, want 3", n)
	}
}

func testOperationReplace(t *testing.T, db WriteDB) {
	tests := []struct {
		name     string
		existing func(id string) store.Record
		replaced bool
	}{
		{"succeeded is final", func(id string) store.Record {
			rec, _ := createRecord(id, "or-"+id, 1)
			return rec
		}, false},
		{"failed for a business reason is final", func(id string) store.Record {
			return store.Record{Operation: failed(id, command.KindPatch, "or-x", operation.CodeNotFound, tick(1))}
		}, false},
		{"dead-lettered is replaced", func(id string) store.Record {
			return store.Record{Operation: failed(id, command.KindUpsert, "or-dl", operation.CodeDeadLettered, tick(1))}
		}, true},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opID := fmt.Sprintf("op-or-%d", i)
			existing := tt.existing(opID)
			mustRecord(t, db, existing)
			before := len(readFeed(t, db))
			retryID := fmt.Sprintf("or-retry-%d", i)
			retry, _ := createRecord(opID, retryID, 5)
			err := record(t.Context(), db, retry)
			got, _ := currentOperation(t, db, opID)
			_, retryFound := currentShipment(t, db, retryID)
			after := len(readFeed(t, db))
			want, wantEntries := existing.Operation, before
			if tt.replaced {
				if err != nil {
					t.Fatalf("Record over a dead-lettered operation = %v, want nil", err)
				}
				want, wantEntries = retry.Operation, before+1
			} else if !errors.Is(err, store.ErrConflict) {
				t.Fatalf("Record over a recorded operation = %v, want ErrConflict", err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("operation after Record mismatch (-want +got):\n%s", diff)
			}
			if retryFound != tt.replaced || after != wantEntries {
				t.Errorf("retry's shipment found %v, feed %d entries; want %v, %d", retryFound, after, tt.replaced, wantEntries)
			}
		})
	}
}

func testIdempotencyKeyTaken(t *testing.T, db WriteDB) {
	first, _ := createRecord("op-ik1", "ik1", 1)
	first.IdempotencyKey = &store.IdempotencyKey{KeyDigest: "key-ik", RequestDigest: "req-1", OperationID: "op-ik1"}
	mustRecord(t, db, first)
	second, _ := createRecord("op-ik2", "ik2", 2)
	second.IdempotencyKey = &store.IdempotencyKey{KeyDigest: "key-ik", RequestDigest: "req-2", OperationID: "op-ik2"}
	if err := record(t.Context(), db, second); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("Record with a remembered key = %v, want ErrConflict", err)
	}
	view(t, db, func(ctx context.Context, tx store.WriteTx) error {
		k, _, err := tx.IdempotencyKey(ctx, "key-ik")
		if err == nil && k != *first.IdempotencyKey {
			t.Errorf("IdempotencyKey(key-ik) = %+v, want the first use %+v", k, *first.IdempotencyKey)
		}
		if err == nil {
			err = expectAbsent(ctx, tx, "ik2", "op-ik2", "key-unknown")
		}
		return err
	})
}

// testInboxUnderRacingWriters delivers one command to several writers at
// once, as a redelivered message might be. Each does what the worker does:
// check the inbox, and apply only if the operation is not recorded yet.
func testInboxUnderRacingWriters(t *testing.T, db WriteDB) {
	const writers, opID, id = 8, "op-inbox", "inbox"
	type outcome struct {
		err      error
		recorded bool // fn's last run recorded (rather than found the operation)
	}
	outcomes := make([]outcome, writers)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range outcomes {
		wg.Go(func() {
			<-start
			outcomes[i].err = db.Update(t.Context(), func(ctx context.Context, tx store.WriteTx) error {
				outcomes[i].recorded = false
				if _, found, err := tx.Operation(ctx, opID); err != nil || found {
					return err // applied already: nothing to do
				}
				cur, exists, err := tx.Shipment(ctx, id)
				if err != nil {
					return err
				}
				next, change, err := shipment.Put(cur, exists, id, fields(1), 0, tick(1))
				if err != nil {
					return err
				}
				outcomes[i].recorded = true
				return tx.Record(ctx, store.Record{Operation: succeeded(opID, command.KindUpsert, next, tick(1)),
					Shipment: &next, Change: change})
			})
		})
	}
	close(start)
	wg.Wait()
	applied := 0
	for i, o := range outcomes {
		switch {
		case o.err == nil && o.recorded:
			applied++
		case o.err != nil && !errors.Is(o.err, store.ErrConflict):
			t.Errorf("writer %d: %v, want nil or ErrConflict", i, o.err)
		}
	}
	if applied != 1 {
		t.Errorf("%d writers applied the command, want exactly 1", applied)
	}
	feed := readFeed(t, db)
	if len(feed) != 1 || feed[0].Operation.ID != opID {
		t.Fatalf("feed has %d entries, want exactly 1 for %s", len(feed), opID)
	}
	if s, _ := currentShipment(t, db, id); s.Version != 1 {
		t.Errorf("shipment version = %d, want 1", s.Version)
	}
}
