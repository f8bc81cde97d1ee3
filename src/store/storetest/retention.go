package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/dropoff-dev/dropoff/src/shipment"
	"github.com/dropoff-dev/dropoff/src/store"
)

// The retention contracts: each trim deletes what its window has passed, at
// most limit rows, and nothing else; the product's data stays.

// trimAll runs trim until it deletes less than a batch, and returns the total.
func trimAll(t *testing.T, what string, trim func(limit int) (int, error)) int {
	t.Helper()
	total := 0
	for {
		n, err := trim(2)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if n > 2 {
			t.Fatalf("%s deleted %d rows with limit 2", what, n)
		}
		total += n
		if n < 2 {
			return total
		}
	}
}

// testTrimFeed: entries below the checkpoint that committed before the
// cut-off go; the one at the checkpoint, later ones and younger ones stay.
func testTrimFeed(t *testing.T, db WriteDB) {
	tr, ok := db.(store.FeedTrimmer)
	if !ok {
		t.Skip("the store does not trim its feed")
	}
	for i := range 5 {
		r, _ := createRecord(fmt.Sprintf("trim-op-%d", i), fmt.Sprintf("trim-%d", i), i)
		mustRecord(t, db, r)
	}
	all := readFeed(t, db)
	if len(all) != 5 {
		t.Fatalf("feed has %d entries, want 5", len(all))
	}
	checkpoint := all[3].Position
	past := time.Now().Add(-time.Hour)
	if n := trimAll(t, "TrimFeed before an hour ago", func(limit int) (int, error) {
		return tr.TrimFeed(t.Context(), checkpoint, past, limit)
	}); n != 0 {
		t.Errorf("TrimFeed with a cut-off before every entry deleted %d, want 0", n)
	}
	future := time.Now().Add(time.Hour)
	if n := trimAll(t, "TrimFeed", func(limit int) (int, error) {
		return tr.TrimFeed(t.Context(), checkpoint, future, limit)
	}); n != 3 {
		t.Errorf("TrimFeed below the 4th entry deleted %d, want 3", n)
	}
	left := readFeed(t, db)
	var got []int64
	for _, c := range left {
		got = append(got, c.Position)
	}
	if diff := cmp.Diff([]int64{all[3].Position, all[4].Position}, got); diff != "" {
		t.Errorf("feed after trimming (-want +got):\n%s", diff)
	}
	if head, err := db.Head(t.Context()); err != nil || head != all[4].Position {
		t.Errorf("Head after trimming = %d, %v; want %d", head, err, all[4].Position)
	}
	// The write side's state is not the feed's: every shipment is still there.
	if s, found := currentShipment(t, db, "trim-0"); !found || s.Version != 1 {
		t.Errorf("shipment trim-0 after trimming the feed: %+v, found %v", s, found)
	}
	// New entries still get higher positions than any trimmed one had.
	r, _ := createRecord("trim-op-5", "trim-5", 5)
	mustRecord(t, db, r)
	if c := readFeed(t, db); c[len(c)-1].Position <= all[4].Position {
		t.Errorf("an entry after trimming got position %d, not above %d", c[len(c)-1].Position, all[4].Position)
	}
}

// testTrimOperations: operations last updated before the cut-off go (their
// GET then answers as for an id never recorded); the shipments stay.
func testTrimOperations(t *testing.T, db WriteDB) {
	tr, ok := db.(store.OperationTrimmer)
	if !ok {
		t.Skip("the store does not trim operations")
	}
	for i := range 4 {
		r, _ := createRecord(fmt.Sprintf("ops-op-%d", i), fmt.Sprintf("ops-%d", i), i)
		mustRecord(t, db, r)
	}
	cut := tick(2) // ops 0 and 1 were last updated before it
	if n := trimAll(t, "TrimOperations", func(limit int) (int, error) {
		return tr.TrimOperations(t.Context(), cut, limit)
	}); n != 2 {
		t.Errorf("TrimOperations deleted %d, want 2", n)
	}
	for i := range 4 {
		_, found := currentOperation(t, db, fmt.Sprintf("ops-op-%d", i))
		if want := i >= 2; found != want {
			t.Errorf("operation %d found %v after trimming, want %v", i, found, want)
		}
		if _, found := currentShipment(t, db, fmt.Sprintf("ops-%d", i)); !found {
			t.Errorf("shipment ops-%d gone with its operation", i)
		}
	}
}

// testTrimIdempotencyKeys: keys first used before the cut-off go; a key
// used after it stays.
func testTrimIdempotencyKeys(t *testing.T, db WriteDB) {
	tr, ok := db.(store.KeyTrimmer)
	if !ok {
		t.Skip("the store does not trim idempotency keys")
	}
	r, _ := createRecord("key-op-1", "key-1", 1)
	r.IdempotencyKey = &store.IdempotencyKey{KeyDigest: "digest-1", RequestDigest: "req-1", OperationID: "key-op-1"}
	mustRecord(t, db, r)
	if n := trimAll(t, "TrimIdempotencyKeys", func(limit int) (int, error) {
		return tr.TrimIdempotencyKeys(t.Context(), time.Now().Add(-time.Hour), limit)
	}); n != 0 {
		t.Errorf("TrimIdempotencyKeys with a cut-off before the key deleted %d, want 0", n)
	}
	if n := trimAll(t, "TrimIdempotencyKeys", func(limit int) (int, error) {
		return tr.TrimIdempotencyKeys(t.Context(), time.Now().Add(time.Hour), limit)
	}); n != 1 {
		t.Errorf("TrimIdempotencyKeys deleted %d, want 1", n)
	}
	view(t, db, func(ctx context.Context, tx store.WriteTx) error {
		if _, found, err := tx.IdempotencyKey(ctx, "digest-1"); err != nil || found {
			t.Errorf("key after trimming: found %v, %v; want gone", found, err)
		}
		return nil
	})
}

// testTrimProjectionOperations: the projection's old operations go; its
// shipments and their history stay.
func testTrimProjectionOperations(t *testing.T, p ProjectionDB) {
	tr, ok := p.(store.OperationTrimmer)
	if !ok {
		t.Skip("the projection does not trim operations")
	}
	f := newFeed(t)
	changes := []store.Change{f.put("a", fields(1)), f.patch("a", shipment.Patch{Recipient: ptr("Someone")}), f.put("b", fields(2))}
	mustApply(t, p, changes, 3)
	if n := trimAll(t, "TrimOperations", func(limit int) (int, error) {
		return tr.TrimOperations(t.Context(), changes[1].Operation.LastUpdatedAt, limit)
	}); n != 1 {
		t.Errorf("TrimOperations deleted %d, want 1 (the first entry's)", n)
	}
	for i, c := range changes {
		_, found, err := p.Operation(t.Context(), c.Operation.ID)
		if err != nil {
			t.Fatal(err)
		}
		if want := i > 0; found != want {
			t.Errorf("operation %d found %v, want %v", i, found, want)
		}
	}
	if h, found, err := p.History(t.Context(), "a"); err != nil || !found || len(h) != 2 {
		t.Errorf("history of a after trimming operations: %d entries, found %v, %v; want 2", len(h), found, err)
	}
	if _, found, err := p.Shipment(t.Context(), "b"); err != nil || !found {
		t.Errorf("shipment b after trimming operations: found %v, %v", found, err)
	}
}
