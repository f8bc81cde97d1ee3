package storetest

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/dropoff-dev/dropoff/src/operation"
	"github.com/dropoff-dev/dropoff/src/shipment"
	"github.com/dropoff-dev/dropoff/src/store"
)

// testRecentOperations: RecentOperations returns the operations updated
// last, newest first, ties broken by id (descending), at most limit; an
// operation replaced by a later entry (a resubmitted dead letter) is there
// once, at its new time; a limit below 1 is refused.
func testRecentOperations(t *testing.T, p ProjectionDB) {
	ctx := t.Context()
	if ops, err := p.RecentOperations(ctx, 5); err != nil || len(ops) != 0 {
		t.Fatalf("RecentOperations of an empty projection = %d operations, %v; want none", len(ops), err)
	}
	f := newFeed(t)
	dead := f.fail("a", operation.CodeDeadLettered)
	changes := []store.Change{dead, f.put("b", fields(1)), f.put("c", fields(2)),
		f.patch("b", shipment.Patch{Status: ptr(shipment.PickedUp)}), f.fail("c", operation.CodeInvalidTransition)}
	// Two operations updated at the same instant: the larger id comes first.
	tie := f.put("d", fields(3))
	tie.Operation.ID, tie.Operation.LastUpdatedAt = "op-zzzz", changes[len(changes)-1].Operation.LastUpdatedAt
	changes = append(changes, tie)
	retry := f.put("a", fields(4)) // the dead letter, resubmitted and applied: newest
	retry.Operation.ID = dead.Operation.ID
	changes = append(changes, retry)
	mustApply(t, p, changes, f.pos)

	var want []operation.Operation
	for _, c := range changes[1:] { // the dead letter's first outcome was replaced
		want = append(want, c.Operation)
	}
	slices.SortStableFunc(want, func(a, b operation.Operation) int {
		if c := b.LastUpdatedAt.Compare(a.LastUpdatedAt); c != 0 {
			return c
		}
		return strings.Compare(b.ID, a.ID)
	})
	for _, limit := range []int{1, 3, len(want), len(want) + 10} {
		got, err := p.RecentOperations(ctx, limit)
		if err != nil {
			t.Fatalf("RecentOperations(%d): %v", limit, err)
		}
		if diff := cmp.Diff(want[:min(limit, len(want))], got); diff != "" {
			t.Errorf("RecentOperations(%d) mismatch (-want +got):\n%s", limit, diff)
		}
	}
	if _, err := p.RecentOperations(ctx, 0); err == nil {
		t.Error("RecentOperations(0) = nil error; want a refusal")
	}
}
