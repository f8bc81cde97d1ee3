package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/dropoff-dev/dropoff/src/command"
	"github.com/dropoff-dev/dropoff/src/operation"
	"github.com/dropoff-dev/dropoff/src/shipment"
	"github.com/dropoff-dev/dropoff/src/store"
)

func testRecordRoundTrip(t *testing.T, db WriteDB) {
	rec, s := createRecord("op-rt", "rt-1", 1)
	// An instant given in another zone must come back as the same instant.
	rec.Operation.CreatedAt = rec.Operation.CreatedAt.In(fixedZone)
	key := store.IdempotencyKey{KeyDigest: "key-rt", RequestDigest: "req-rt", OperationID: "op-rt"}
	rec.IdempotencyKey = &key
	mustRecord(t, db, rec)

	view(t, db, func(ctx context.Context, tx store.WriteTx) error {
		got, found, err := tx.Shipment(ctx, "rt-1")
		if err != nil || !found {
			return fmt.Errorf("Shipment(rt-1) = found %v, %v; want found", found, err)
		}
		if diff := cmp.Diff(s, got); diff != "" {
			t.Errorf("Shipment(rt-1) mismatch (-want +got):\n%s", diff)
		}
		gotOp, found, err := tx.Operation(ctx, "op-rt")
		if err != nil || !found {
			return fmt.Errorf("Operation(op-rt) = found %v, %v; want found", found, err)
		}
		if diff := cmp.Diff(rec.Operation, gotOp); diff != "" {
			t.Errorf("Operation(op-rt) mismatch (-want +got):\n%s", diff)
		}
		gotKey, found, err := tx.IdempotencyKey(ctx, "key-rt")
		if err != nil || !found {
			return fmt.Errorf("IdempotencyKey(key-rt) = found %v, %v; want found", found, err)
		}
		if gotKey != key {
			t.Errorf("IdempotencyKey(key-rt) = %+v, want %+v", gotKey, key)
		}
		return expectAbsent(ctx, tx, "rt-unknown", "op-unknown", "key-unknown")
	})

	if got, err := db.Shipments(t.Context(), "", 10); err != nil {
		t.Errorf("Shipments: %v", err)
	} else if diff := cmp.Diff([]shipment.Shipment{s}, got); diff != "" {
		t.Errorf("Shipments mismatch (-want +got):\n%s", diff)
	}
	feed := readFeed(t, db)
	if len(feed) != 1 {
		t.Fatalf("feed has %d entries, want 1", len(feed))
	}
	checkEntry(t, feed[0], rec)
	if head, err := db.Head(t.Context()); err != nil || head != feed[0].Position {
		t.Errorf("Head = %d, %v; want %d", head, err, feed[0].Position)
	}
}

func testFailedOperationRoundTrip(t *testing.T, db WriteDB) {
	op := failed("op-fail", command.KindPatch, "nobody", operation.CodeNotFound, tick(1))
	rec := store.Record{Operation: op}
	mustRecord(t, db, rec)
	if got, found := currentOperation(t, db, "op-fail"); !found {
		t.Fatalf("Operation(op-fail) not found after Record")
	} else if diff := cmp.Diff(op, got); diff != "" {
		t.Errorf("Operation(op-fail) mismatch (-want +got):\n%s", diff)
	}
	if _, found := currentShipment(t, db, "nobody"); found {
		t.Errorf("Shipment(nobody) found; a failed operation must not create a shipment")
	}
	feed := readFeed(t, db)
	if len(feed) != 1 {
		t.Fatalf("feed has %d entries, want 1 (failed operations are in the feed too)", len(feed))
	}
	checkEntry(t, feed[0], rec)
}

func testCancelLeavesTombstone(t *testing.T, db WriteDB) {
	create, s1 := createRecord("op-c1", "tomb", 1)
	mustRecord(t, db, create)
	s2, change, err := shipment.Cancel(s1, true, 0, tick(2))
	if err != nil {
		t.Fatalf("Cancel: %v", err)
	}
	mustRecord(t, db, store.Record{Operation: succeeded("op-c2", command.KindDelete, s2, tick(2)), Shipment: &s2, Change: change})

	got, found := currentShipment(t, db, "tomb")
	if !found {
		t.Fatalf("Shipment(tomb) not found after a cancel; want a tombstone")
	}
	if diff := cmp.Diff(s2, got); diff != "" || !got.Deleted || got.Version != 2 {
		t.Errorf("tombstone mismatch (-want +got):\n%s", diff)
	}
	if live, err := db.Shipments(t.Context(), "", 10); err != nil || len(live) != 0 {
		t.Errorf("Shipments = %d items, %v; want none (a cancelled shipment is not live)", len(live), err)
	}
	// The id can be used again; its version goes on from the tombstone's.
	s3, change, err := shipment.Put(got, true, "tomb", fields(3), 0, tick(3))
	if err != nil {
		t.Fatalf("Put over a tombstone: %v", err)
	}
	mustRecord(t, db, store.Record{Operation: succeeded("op-c3", command.KindUpsert, s3, tick(3)), Shipment: &s3, Change: change})
	if got, found := currentShipment(t, db, "tomb"); !found || got.Version != 3 || got.Deleted {
		t.Errorf("after re-create: found %v, version %d, deleted %v; want found, 3, false", found, got.Version, got.Deleted)
	}
	feed := readFeed(t, db)
	if len(feed) != 3 {
		t.Fatalf("feed has %d entries, want 3", len(feed))
	}
	if c := feed[1]; c.Change != shipment.Cancelled || c.Shipment == nil || !c.Shipment.Deleted {
		t.Errorf("cancel entry = change %q, shipment %+v; want %q with a tombstone", c.Change, c.Shipment, shipment.Cancelled)
	}
}

func testUpdateRollsBackOnError(t *testing.T, db WriteDB) {
	errBoom := errors.New("boom")
	rec, _ := createRecord("op-rb", "rb", 1)
	rec.IdempotencyKey = &store.IdempotencyKey{KeyDigest: "key-rb", RequestDigest: "req-rb", OperationID: "op-rb"}
	err := db.Update(t.Context(), func(ctx context.Context, tx store.WriteTx) error {
		if err := tx.Record(ctx, rec); err != nil {
			return err
		}
		// The transaction sees its own write...
		if _, found, err := tx.Shipment(ctx, "rb"); err != nil || !found {
			return fmt.Errorf("own write not visible: found %v, %v", found, err)
		}
		return errBoom // ...and then gives it all up.
	})
	if !errors.Is(err, errBoom) {
		t.Fatalf("Update = %v, want fn's error %v", err, errBoom)
	}
	expectNothingKept(t, db, "rb", "op-rb", "key-rb")
}

func testCommitFailureIsReported(t *testing.T, db WriteDB) {
	// The context ends after fn succeeded and before the commit: the commit
	// cannot happen, and Update must say so instead of returning nil.
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	rec, _ := createRecord("op-cf", "cf", 1)
	err := db.Update(ctx, func(ctx context.Context, tx store.WriteTx) error {
		if err := tx.Record(ctx, rec); err != nil {
			return err
		}
		cancel()
		return nil
	})
	if err == nil {
		t.Fatalf("Update = nil although its context ended before the commit; want the commit's error")
	}
	expectNothingKept(t, db, "cf", "op-cf", "key-cf")
	// The store is still usable: the failed transaction released everything.
	rec2, _ := createRecord("op-cf2", "cf2", 2)
	mustRecord(t, db, rec2)
}

// expectNothingKept checks that a rolled-back Update left no trace.
func expectNothingKept(t *testing.T, db WriteDB, shipmentID, opID, key string) {
	t.Helper()
	view(t, db, func(ctx context.Context, tx store.WriteTx) error {
		return expectAbsent(ctx, tx, shipmentID, opID, key)
	})
	if feed := readFeed(t, db); len(feed) != 0 {
		t.Errorf("feed has %d entries after a rolled-back Update, want 0", len(feed))
	}
	if head, err := db.Head(t.Context()); err != nil || head != 0 {
		t.Errorf("Head = %d, %v; want 0", head, err)
	}
	if live, err := db.Shipments(t.Context(), "", 10); err != nil || len(live) != 0 {
		t.Errorf("Shipments = %d items, %v; want none", len(live), err)
	}
}

// expectAbsent fails unless the shipment, the operation and the key are all unknown.
func expectAbsent(ctx context.Context, tx store.WriteTx, shipmentID, opID, key string) error {
	if _, found, err := tx.Shipment(ctx, shipmentID); err != nil || found {
		return fmt.Errorf("Shipment(%s) = found %v, %v; want not found", shipmentID, found, err)
	}
	if _, found, err := tx.Operation(ctx, opID); err != nil || found {
		return fmt.Errorf("Operation(%s) = found %v, %v; want not found", opID, found, err)
	}
	if _, found, err := tx.IdempotencyKey(ctx, key); err != nil || found {
		return fmt.Errorf("IdempotencyKey(%s) = found %v, %v; want not found", key, found, err)
	}
	return nil
}

// checkEntry compares a feed entry with the Record that made it.
func checkEntry(t *testing.T, got store.Change, want store.Record) {
	t.Helper()
	if got.Position <= 0 {
		t.Errorf("entry position = %d, want > 0", got.Position)
	}
	if got.CommittedAt.IsZero() {
		t.Errorf("entry CommittedAt is zero, want the write transaction's time")
	}
	wantChange := store.Change{Position: got.Position, Operation: want.Operation, Shipment: want.Shipment,
		Change: want.Change, CommittedAt: got.CommittedAt, Traceparent: want.Traceparent}
	if diff := cmp.Diff(wantChange, got); diff != "" {
		t.Errorf("feed entry mismatch (-want +got):\n%s", diff)
	}
}
