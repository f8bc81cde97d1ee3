package storetest

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/dropoff-dev/dropoff/src/operation"
	"github.com/dropoff-dev/dropoff/src/shipment"
	"github.com/dropoff-dev/dropoff/src/store"
)

func mustApply(t *testing.T, p store.Projection, changes []store.Change, feedHead int64) {
	t.Helper()
	if err := p.Apply(t.Context(), changes, feedHead); err != nil {
		t.Fatalf("Apply(%d changes): %v", len(changes), err)
	}
}

func testApplyRoundTrip(t *testing.T, p ProjectionDB) {
	f := newFeed(t)
	changes := []store.Change{
		f.put("a", fields(1)),
		f.put("b", fields(2)),
		f.patch("a", shipment.Patch{Status: ptr(shipment.PickedUp)}),
		f.fail("c", operation.CodeNotFound),
	}
	mustApply(t, p, changes, 9)
	ctx := t.Context()
	for _, want := range f.live("") {
		got, found, err := p.Shipment(ctx, want.ID)
		if err != nil || !found {
			t.Fatalf("Shipment(%s) = found %v, %v; want found", want.ID, found, err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("Shipment(%s) mismatch (-want +got):\n%s", want.ID, diff)
		}
	}
	for _, c := range changes {
		got, found, err := p.Operation(ctx, c.Operation.ID)
		if err != nil || !found {
			t.Fatalf("Operation(%s) = found %v, %v; want found", c.Operation.ID, found, err)
		}
		if diff := cmp.Diff(c.Operation, got); diff != "" {
			t.Errorf("Operation(%s) mismatch (-want +got):\n%s", c.Operation.ID, diff)
		}
	}
	wantHistory := []store.HistoryEntry{
		{Version: 1, Type: shipment.Created, Status: shipment.Registered, At: changes[0].Shipment.UpdatedAt, OperationID: changes[0].Operation.ID},
		{Version: 2, Type: shipment.Patched, Status: shipment.PickedUp, At: changes[2].Shipment.UpdatedAt, OperationID: changes[2].Operation.ID},
	}
	if got, found, err := p.History(ctx, "a"); err != nil || !found {
		t.Errorf("History(a) = found %v, %v; want found", found, err)
	} else if diff := cmp.Diff(wantHistory, got); diff != "" {
		t.Errorf("History(a) mismatch (-want +got):\n%s", diff)
	}
	if _, found, err := p.Shipment(ctx, "c"); err != nil || found {
		t.Errorf("Shipment(c) = found %v, %v; want not found (its command failed)", found, err)
	}
	if _, found, err := p.History(ctx, "c"); err != nil || found {
		t.Errorf("History(c) = found %v, %v; want not found", found, err)
	}
	if _, found, err := p.Operation(ctx, "op-unknown"); err != nil || found {
		t.Errorf("Operation(op-unknown) = found %v, %v; want not found", found, err)
	}
	st := checkStats(t, p, f, 4, 9)
	if !st.LastCommittedAt.Equal(changes[3].CommittedAt) || st.LastAppliedAt.IsZero() {
		t.Errorf("Stats times = committed %v, applied %v; want committed %v, applied set",
			st.LastCommittedAt, st.LastAppliedAt, changes[3].CommittedAt)
	}
}

// checkStats compares Stats with what f's entries lead to.
func checkStats(t *testing.T, p ProjectionDB, f *feedBuilder, checkpoint, feedHead int64) store.Stats {
	t.Helper()
	st, err := p.Stats(t.Context())
	if err != nil {
		t.Fatalf("Stats: %v", err)
	}
	for _, status := range shipment.Statuses {
		if want := int64(len(f.live(status))); st.ByStatus[status] != want {
			t.Errorf("Stats.ByStatus[%s] = %d, want %d", status, st.ByStatus[status], want)
		}
	}
	if st.Checkpoint != checkpoint || st.FeedHead != feedHead {
		t.Errorf("Stats = checkpoint %d, feed head %d; want %d, %d", st.Checkpoint, st.FeedHead, checkpoint, feedHead)
	}
	if got, err := p.Checkpoint(t.Context()); err != nil || got.Position != checkpoint {
		t.Errorf("Checkpoint = %+v, %v; want position %d", got, err, checkpoint)
	}
	return st
}

// projected is everything the queries show about some shipments and operations.
type projected struct {
	Checkpoint int64
	Live       []shipment.Shipment
	History    map[string][]store.HistoryEntry
	Operations map[string]operation.Operation
}

// snapshot reads what p shows about ids and opIDs.
func snapshot(t *testing.T, p ProjectionDB, ids, opIDs []string) projected {
	t.Helper()
	ctx := t.Context()
	s := projected{History: map[string][]store.HistoryEntry{}, Operations: map[string]operation.Operation{}}
	cp, err := p.Checkpoint(ctx)
	if err != nil {
		t.Fatalf("Checkpoint: %v", err)
	}
	s.Checkpoint = cp.Position
	s.Live = listAll(t, p, "", 1000)
	for _, id := range ids {
		if h, found, err := p.History(ctx, id); err != nil {
			t.Fatalf("History(%s): %v", id, err)
		} else if found {
			s.History[id] = h
		}
	}
	for _, id := range opIDs {
		if o, found, err := p.Operation(ctx, id); err != nil {
			t.Fatalf("Operation(%s): %v", id, err)
		} else if found {
			s.Operations[id] = o
		}
	}
	return s
}

func opIDs(changes []store.Change) []string {
	ids := make([]string, len(changes))
	for i, c := range changes {
		ids[i] = c.Operation.ID
	}
	return ids
}

func testApplyTwiceChangesNothing(t *testing.T, p ProjectionDB) {
	f := newFeed(t)
	first := []store.Change{f.put("a", fields(1)), f.put("b", fields(2)), f.cancel("b")}
	second := []store.Change{f.patch("a", shipment.Patch{Recipient: ptr("Changed")}), f.put("c", fields(3))}
	ids, ops := []string{"a", "b", "c"}, opIDs(append(append([]store.Change{}, first...), second...))

	mustApply(t, p, first, 3)
	once := snapshot(t, p, ids, ops)
	mustApply(t, p, first, 3)
	if diff := cmp.Diff(once, snapshot(t, p, ids, ops)); diff != "" {
		t.Errorf("applying a batch twice changed the projection (-once +twice):\n%s", diff)
	}
	// A batch that overlaps the checkpoint applies only what lies beyond it.
	mustApply(t, p, append(append([]store.Change{}, first...), second...), 5)
	got := snapshot(t, p, ids, ops)
	if diff := cmp.Diff(f.live(""), got.Live); diff != "" || got.Checkpoint != 5 {
		t.Errorf("after an overlapping batch: checkpoint %d (want 5); live mismatch (-want +got):\n%s", got.Checkpoint, diff)
	}
	if n := len(got.History["a"]); n != 2 {
		t.Errorf("History(a) has %d entries, want 2", n)
	}
}

func testFailedApplyLeavesNoTrace(t *testing.T, p ProjectionDB) {
	f := newFeed(t)
	base := []store.Change{f.put("a", fields(1))}
	mustApply(t, p, base, 1)
	b := f.put("b", fields(2))
	// An entry no projection can apply: a second version 1 of shipment a
	// (history keeps one entry per version). It comes after b, so a projection
	// that is not all-or-nothing would keep b.
	bad := b
	bad.Position, bad.Operation.ID = b.Position+1, "op-bad"
	badShipment := *base[0].Shipment
	badShipment.Recipient = "Corrupt"
	bad.Shipment = &badShipment
	f.pos++
	c := f.put("c", fields(3))
	ids, ops := []string{"a", "b", "c"}, []string{base[0].Operation.ID, b.Operation.ID, "op-bad", c.Operation.ID}
	before := snapshot(t, p, ids, ops)

	if err := p.Apply(t.Context(), []store.Change{b, bad, c}, 4); err == nil {
		t.Fatalf("Apply of a batch with a duplicate history version = nil, want an error")
	}
	if diff := cmp.Diff(before, snapshot(t, p, ids, ops)); diff != "" {
		t.Errorf("a failed Apply left a partial effect (-before +after):\n%s", diff)
	}
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	if err := p.Apply(cancelled, []store.Change{b, c}, 4); err == nil {
		t.Fatalf("Apply with a cancelled context = nil, want an error")
	}
	if diff := cmp.Diff(before, snapshot(t, p, ids, ops)); diff != "" {
		t.Errorf("a cancelled Apply left a partial effect (-before +after):\n%s", diff)
	}
	// The projection goes on from where it was.
	mustApply(t, p, []store.Change{b, c}, 4)
	if got := snapshot(t, p, ids, ops); got.Checkpoint != c.Position || len(got.Live) != 3 {
		t.Errorf("after the good batch: checkpoint %d, %d live; want %d, 3", got.Checkpoint, len(got.Live), c.Position)
	}
}

func testCancelDeletesRowKeepsHistory(t *testing.T, p ProjectionDB) {
	f := newFeed(t)
	changes := []store.Change{
		f.put("a", fields(1)),
		f.patch("a", shipment.Patch{Status: ptr(shipment.InTransit)}),
		f.put("b", fields(2)),
		f.cancel("a"),
	}
	mustApply(t, p, changes, 4)
	ctx := t.Context()
	if _, found, err := p.Shipment(ctx, "a"); err != nil || found {
		t.Errorf("Shipment(a) = found %v, %v; want not found after a cancel", found, err)
	}
	if diff := cmp.Diff(f.live(""), listAll(t, p, "", 10)); diff != "" {
		t.Errorf("live shipments mismatch (-want +got):\n%s", diff)
	}
	checkHistory(t, p, "a", []shipment.ChangeType{shipment.Created, shipment.Patched, shipment.Cancelled})
	checkStats(t, p, f, 4, 4)
	// The id is used again: a new life, the history goes on.
	mustApply(t, p, []store.Change{f.put("a", fields(5))}, 5)
	if got, found, err := p.Shipment(ctx, "a"); err != nil || !found || got.Version != 4 {
		t.Errorf("Shipment(a) after re-create = version %d, found %v, %v; want version 4", got.Version, found, err)
	}
	checkHistory(t, p, "a", []shipment.ChangeType{shipment.Created, shipment.Patched, shipment.Cancelled, shipment.Created})
}

// checkHistory checks that id's history is versions 1..n of the given types.
func checkHistory(t *testing.T, p store.Queries, id string, types []shipment.ChangeType) {
	t.Helper()
	h, found, err := p.History(t.Context(), id)
	if err != nil || !found {
		t.Fatalf("History(%s) = found %v, %v; want found", id, found, err)
	}
	var got []shipment.ChangeType
	for i, e := range h {
		if e.Version != int64(i+1) {
			t.Errorf("History(%s)[%d].Version = %d, want %d", id, i, e.Version, i+1)
		}
		got = append(got, e.Type)
	}
	if diff := cmp.Diff(types, got); diff != "" {
		t.Errorf("History(%s) types mismatch (-want +got):\n%s", id, diff)
	}
}

// testLaterEntryReplacesOperation: a dead-lettered operation is recorded
// again when its message is resubmitted; the projection shows the later one.
func testLaterEntryReplacesOperation(t *testing.T, p ProjectionDB) {
	f := newFeed(t)
	dead := f.fail("a", operation.CodeDeadLettered)
	retry := f.put("a", fields(1))
	retry.Operation.ID = dead.Operation.ID
	mustApply(t, p, []store.Change{dead}, 1)
	mustApply(t, p, []store.Change{retry}, 2)
	got, found, err := p.Operation(t.Context(), dead.Operation.ID)
	if err != nil || !found {
		t.Fatalf("Operation(%s) = found %v, %v; want found", dead.Operation.ID, found, err)
	}
	if diff := cmp.Diff(retry.Operation, got); diff != "" {
		t.Errorf("operation after the retry mismatch (-want +got):\n%s", diff)
	}
	checkHistory(t, p, "a", []shipment.ChangeType{shipment.Created})
}

func testEmptyBatchRecordsFeedHead(t *testing.T, p ProjectionDB) {
	mustApply(t, p, nil, 42)
	st, err := p.Stats(t.Context())
	if err != nil {
		t.Fatalf("Stats: %v", err)
	}
	if st.FeedHead != 42 || st.Checkpoint != 0 {
		t.Errorf("Stats = feed head %d, checkpoint %d; want 42, 0", st.FeedHead, st.Checkpoint)
	}
}

// testCheckpointKnowsItsEntryAndFeed: the checkpoint carries the operation id
// of the entry at it, and the projection follows the first feed it is told
// about, and only that one.
func testCheckpointKnowsItsEntryAndFeed(t *testing.T, p ProjectionDB) {
	ctx := t.Context()
	cp, err := p.Checkpoint(ctx)
	if err != nil || cp != (store.Checkpoint{}) {
		t.Fatalf("Checkpoint of a new projection = %+v, %v; want the zero checkpoint", cp, err)
	}
	f := newFeed(t)
	changes := []store.Change{f.put("a", fields(1)), f.put("b", fields(2))}
	mustApply(t, p, changes, 2)
	if cp, err = p.Checkpoint(ctx); err != nil || cp.Position != changes[1].Position || cp.OperationID != changes[1].Operation.ID {
		t.Errorf("Checkpoint = %+v, %v; want position %d with operation %s", cp, err, changes[1].Position, changes[1].Operation.ID)
	}
	mustApply(t, p, nil, 5) // nothing applied: the checkpoint's entry stays
	if after, err := p.Checkpoint(ctx); err != nil || after.OperationID != cp.OperationID {
		t.Errorf("after an empty batch Checkpoint = %+v, %v; want operation %s still", after, err, cp.OperationID)
	}
	for _, id := range []string{"feed-1", "feed-2"} {
		if got, err := p.Follow(ctx, id); err != nil || got != "feed-1" {
			t.Errorf("Follow(%s) = %q, %v; want feed-1, the first one followed", id, got, err)
		}
	}
	if cp, err = p.Checkpoint(ctx); err != nil || cp.FeedIdentity != "feed-1" {
		t.Errorf("Checkpoint = %+v, %v; want FeedIdentity feed-1", cp, err)
	}
}
