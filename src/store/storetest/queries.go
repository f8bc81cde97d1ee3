package storetest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/dropoff-dev/dropoff/src/operation"
	"github.com/dropoff-dev/dropoff/src/shipment"
	"github.com/dropoff-dev/dropoff/src/store"
)

// listAll pages through Shipments with the given filter and page size,
// checking each page's promises: at most limit items, ids growing across
// pages, more set exactly when another page follows.
func listAll(t *testing.T, p store.Queries, status shipment.Status, limit int) []shipment.Shipment {
	t.Helper()
	var all []shipment.Shipment
	q := store.ListQuery{Status: status, Limit: limit}
	for pages := 0; ; pages++ {
		if pages > 10_000 {
			t.Fatalf("Shipments(%+v): still more after 10,000 pages", q)
		}
		items, more, err := p.Shipments(t.Context(), q)
		if err != nil {
			t.Fatalf("Shipments(%+v): %v", q, err)
		}
		if len(items) > limit || more && len(items) != limit || pages > 0 && len(items) == 0 {
			t.Fatalf("Shipments(%+v) = %d items, more %v; want at most %d, a full page when more follow, "+
				"and a non-empty page after more", q, len(items), more, limit)
		}
		for _, s := range items {
			if s.ID <= q.After {
				t.Fatalf("Shipments(%+v) returned %s, not after %q: ids must grow", q, s.ID, q.After)
			}
			if status != "" && s.Status != status {
				t.Fatalf("Shipments(%+v) returned %s in status %s", q, s.ID, s.Status)
			}
			q.After = s.ID
		}
		all = append(all, items...)
		if !more {
			return all
		}
	}
}

// populate applies entries for n shipments in assorted statuses, some cancelled.
func populate(t *testing.T, p ProjectionDB, f *feedBuilder, n int) {
	t.Helper()
	var changes []store.Change
	for i := range n {
		id := fmt.Sprintf("s-%03d", (i*37)%n) // created out of id order
		changes = append(changes, f.put(id, fields(i)))
		status := shipment.Statuses[i%len(shipment.Statuses)]
		if status != shipment.Registered {
			changes = append(changes, f.patch(id, shipment.Patch{Status: ptr(status)}))
		}
		if i%7 == 3 && !status.Final() {
			changes = append(changes, f.cancel(id))
		}
	}
	mustApply(t, p, changes, f.pos)
}

func testShipmentsPagination(t *testing.T, p ProjectionDB) {
	f := newFeed(t)
	populate(t, p, f, 40)
	for _, status := range append([]shipment.Status{""}, shipment.Statuses...) {
		want := f.live(status)
		limits := []int{1, 3, 7, max(1, len(want)), 100} // one page exactly full
		slices.Sort(limits)
		for _, limit := range slices.Compact(limits) {
			t.Run(fmt.Sprintf("status=%q/limit=%d", status, limit), func(t *testing.T) {
				if diff := cmp.Diff(want, listAll(t, p, status, limit)); diff != "" {
					t.Errorf("pages mismatch (-want +got):\n%s", diff)
				}
			})
		}
	}
	if got := listAll(t, p, shipment.Status("lost"), 5); len(got) != 0 {
		t.Errorf("Shipments with an unknown status = %d items, want none", len(got))
	}
	checkStats(t, p, f, f.pos, f.pos)
}

// testPaginationStableUnderChanges changes shipments between two pages: a
// cursor that is the last id seen neither repeats nor skips a shipment that
// lived all along.
func testPaginationStableUnderChanges(t *testing.T, p ProjectionDB) {
	f := newFeed(t)
	populate(t, p, f, 20)
	before := f.live("")
	q := store.ListQuery{Limit: 5}
	first, more, err := p.Shipments(t.Context(), q)
	if err != nil || !more || len(first) != 5 {
		t.Fatalf("first page = %d items, more %v, %v; want 5, true", len(first), more, err)
	}
	cursor := first[len(first)-1].ID
	mustApply(t, p, []store.Change{
		f.put("s-000a", fields(90)),                                     // a new id before the cursor
		f.patch(first[0].ID, shipment.Patch{Recipient: ptr("Changed")}), // a listed one changes
		f.put("s-999", fields(91)),                                      // a new id after the cursor
	}, f.pos+3)
	rest := listAll(t, p, "", 5)
	var got []string
	for _, s := range first {
		got = append(got, s.ID)
	}
	for _, s := range rest {
		if s.ID > cursor {
			got = append(got, s.ID)
		}
	}
	want := []string{}
	for _, s := range before {
		want = append(want, s.ID)
	}
	want = append(want, "s-999")
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ids across pages mismatch (-want +got):\n%s", diff)
	}
}

// testReadYourWrites applies a shipment's changes batch by batch while
// readers poll: once an operation shows Succeeded, the shipment must show
// that version or a later one (the two are applied in one transaction).
func testReadYourWrites(t *testing.T, p ProjectionDB) {
	const changes, readers = 150, 2
	f := newFeed(t)
	all := []store.Change{f.put("ryw", fields(0))}
	for i := 1; i < changes; i++ {
		all = append(all, f.patch("ryw", shipment.Patch{Recipient: ptr(fmt.Sprintf("Recipient v%d", i+1))}))
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var wg sync.WaitGroup
	for range readers {
		wg.Go(func() { readYourWrites(t, ctx, p, all) })
	}
	for i := 0; i < len(all); i += 1 + i%4 { // batches of 1 to 4
		batch := all[i:min(len(all), i+1+i%4)]
		if err := p.Apply(ctx, batch, f.pos); err != nil {
			t.Errorf("Apply: %v", err)
			break
		}
	}
	cancel()
	wg.Wait()
}

// readYourWrites follows the operations in order until ctx ends.
func readYourWrites(t *testing.T, ctx context.Context, p store.Queries, all []store.Change) {
	next := 0
	for next < len(all) && ctx.Err() == nil {
		op, found, err := p.Operation(ctx, all[next].Operation.ID)
		if err != nil || !found {
			if err != nil && ctx.Err() == nil {
				t.Errorf("Operation: %v", err)
				return
			}
			continue
		}
		s, found, err := p.Shipment(ctx, "ryw")
		if err != nil {
			if ctx.Err() == nil {
				t.Errorf("Shipment: %v", err)
			}
			return
		}
		if op.Status != operation.Succeeded || !found || s.Version < op.ResourceVersion {
			t.Errorf("operation %s is %s at version %d, but the shipment shows found %v, version %d",
				op.ID, op.Status, op.ResourceVersion, found, s.Version)
			return
		}
		next++
	}
}
