package storetest

import (
	"context"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/dropoff-dev/dropoff/src/operation"
	"github.com/dropoff-dev/dropoff/src/shipment"
	"github.com/dropoff-dev/dropoff/src/store"
)

// The checks that a drained projection equals its write database.

// compareShipments: every live shipment, field by field. It returns how many
// are live.
func compareShipments(t *testing.T, db WriteDB, p ProjectionDB) int {
	t.Helper()
	var want []shipment.Shipment
	after := ""
	for {
		page, err := db.Shipments(t.Context(), after, 100)
		if err != nil {
			t.Fatalf("write store Shipments(%q, 100): %v", after, err)
		}
		if len(page) == 0 {
			break
		}
		want = append(want, page...)
		after = page[len(page)-1].ID
	}
	if len(want) == 0 {
		t.Fatalf("no live shipment in the write store; the workload is too weak to compare anything")
	}
	if diff := cmp.Diff(want, listAll(t, p, "", 100)); diff != "" {
		t.Errorf("projection's shipments differ from the write store's (-write +projection):\n%s", diff)
	}
	st, err := p.Stats(t.Context())
	if err != nil {
		t.Fatalf("Stats: %v", err)
	}
	counts := map[shipment.Status]int64{}
	for _, s := range want {
		counts[s.Status]++
	}
	for _, status := range shipment.Statuses {
		if st.ByStatus[status] != counts[status] {
			t.Errorf("Stats.ByStatus[%s] = %d, want %d", status, st.ByStatus[status], counts[status])
		}
	}
	head, err := db.Head(t.Context())
	if err != nil {
		t.Fatalf("Head: %v", err)
	}
	if st.Checkpoint != head {
		t.Errorf("Stats.Checkpoint = %d, want the feed's head %d", st.Checkpoint, head)
	}
	return len(want)
}

// compareOperations: every operation is in the projection as it is in the
// write database. It returns how many ended in each status.
func compareOperations(t *testing.T, db WriteDB, p ProjectionDB, ids []string) map[operation.Status]int {
	t.Helper()
	want := make(map[string]operation.Operation, len(ids))
	view(t, db, func(ctx context.Context, tx store.WriteTx) error {
		for _, id := range ids {
			o, found, err := tx.Operation(ctx, id)
			if err != nil {
				return err
			}
			if !found {
				return fmt.Errorf("operation %s not recorded in the write store", id)
			}
			want[id] = o
		}
		return nil
	})
	mismatches, outcomes := 0, map[operation.Status]int{}
	for _, id := range ids {
		outcomes[want[id].Status]++
		got, found, err := p.Operation(t.Context(), id)
		if err != nil {
			t.Fatalf("Operation(%s): %v", id, err)
		}
		if diff := cmp.Diff(want[id], got); !found || diff != "" {
			if mismatches++; mismatches <= 5 {
				t.Errorf("operation %s: found %v in the projection; mismatch (-write +projection):\n%s", id, found, diff)
			}
		}
	}
	if mismatches > 5 {
		t.Errorf("... %d operations differ in all", mismatches)
	}
	return outcomes
}

// compareHistories: each shipment's history is versions 1..n, n its version
// in the write database, ending in its current status.
func compareHistories(t *testing.T, db WriteDB, p ProjectionDB, w workload) {
	t.Helper()
	current := map[string]shipment.Shipment{}
	view(t, db, func(ctx context.Context, tx store.WriteTx) error {
		for i := range w.Shipments {
			id := fmt.Sprintf("p-%03d", i)
			s, found, err := tx.Shipment(ctx, id)
			if err != nil {
				return err
			}
			if found {
				current[id] = s
			}
		}
		return nil
	})
	for i := range w.Shipments {
		id := fmt.Sprintf("p-%03d", i)
		h, found, err := p.History(t.Context(), id)
		if err != nil {
			t.Fatalf("History(%s): %v", id, err)
		}
		s, exists := current[id]
		if found != exists {
			t.Errorf("History(%s) found %v, but the shipment exists %v in the write store", id, found, exists)
			continue
		}
		if !exists {
			continue
		}
		if checkContiguous(t, id, h, s) {
			return // one broken history says enough
		}
	}
}

// checkContiguous reports (and returns true) if h is not versions 1..s.Version
// ending in s's status and deletion.
func checkContiguous(t *testing.T, id string, h []store.HistoryEntry, s shipment.Shipment) bool {
	t.Helper()
	if int64(len(h)) != s.Version {
		t.Errorf("History(%s) has %d entries, want %d (its version)", id, len(h), s.Version)
		return true
	}
	for i, e := range h {
		if e.Version != int64(i+1) {
			t.Errorf("History(%s)[%d].Version = %d, want %d", id, i, e.Version, i+1)
			return true
		}
	}
	last := h[len(h)-1]
	if last.Status != s.Status || (last.Type == shipment.Cancelled) != s.Deleted {
		t.Errorf("History(%s) ends with %s/%s, but the shipment is %s, deleted %v", id, last.Type, last.Status, s.Status, s.Deleted)
		return true
	}
	return false
}
