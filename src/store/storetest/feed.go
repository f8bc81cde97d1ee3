package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/dropoff-dev/dropoff/src/command"
	"github.com/dropoff-dev/dropoff/src/shipment"
	"github.com/dropoff-dev/dropoff/src/store"
)

func testWriteShipmentsListing(t *testing.T, db WriteDB) {
	var want []shipment.Shipment
	for _, n := range []int{4, 0, 6, 2, 5, 1, 3} { // recorded out of id order
		rec, s := createRecord(fmt.Sprintf("op-ls-%d", n), fmt.Sprintf("ls-%02d", n), n)
		mustRecord(t, db, rec)
		if n == 3 {
			gone, change, err := shipment.Cancel(s, true, 0, tick(9))
			if err != nil {
				t.Fatalf("Cancel: %v", err)
			}
			mustRecord(t, db, store.Record{Operation: succeeded("op-ls-cancel", command.KindDelete, gone, tick(9)),
				Shipment: &gone, Change: change})
		}
	}
	for n := range 7 {
		if n != 3 {
			s, _ := currentShipment(t, db, fmt.Sprintf("ls-%02d", n))
			want = append(want, s)
		}
	}
	for _, limit := range []int{1, 2, 6, 10} {
		var got []shipment.Shipment
		after := ""
		for range 10 {
			page, err := db.Shipments(t.Context(), after, limit)
			if err != nil {
				t.Fatalf("Shipments(%q, %d): %v", after, limit, err)
			}
			if len(page) > limit {
				t.Errorf("Shipments(%q, %d) returned %d items", after, limit, len(page))
			}
			if len(page) == 0 {
				break
			}
			got = append(got, page...)
			after = page[len(page)-1].ID
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("pages of %d mismatch (-want +got):\n%s", limit, diff)
		}
	}
}

func testFeedOrderAndPaging(t *testing.T, db WriteDB) {
	if head, err := db.Head(t.Context()); err != nil || head != 0 {
		t.Errorf("Head of an empty feed = %d, %v; want 0", head, err)
	}
	var recs []store.Record
	for n := range 5 {
		rec, _ := createRecord(fmt.Sprintf("op-fo-%d", n), fmt.Sprintf("fo-%d", n), n)
		if n%2 == 0 { // the entry keeps the trace context it was written with, or none
			rec.Traceparent = fmt.Sprintf("00-4bf92f3577b34da6a3ce929d0e0e473%d-00f067aa0ba902b7-01", n)
		}
		mustRecord(t, db, rec)
		recs = append(recs, rec)
	}
	// Read in pages of 2: positions grow, and the entries come in commit order.
	var got []store.Change
	var after int64
	for range 5 {
		page, err := db.ReadChanges(t.Context(), after, 2)
		if err != nil {
			t.Fatalf("ReadChanges(%d, 2): %v", after, err)
		}
		if len(page) > 2 {
			t.Fatalf("ReadChanges(%d, 2) returned %d entries", after, len(page))
		}
		for _, c := range page {
			if c.Position <= after {
				t.Fatalf("position %d after %d: positions must grow", c.Position, after)
			}
			after = c.Position
		}
		got = append(got, page...)
	}
	if len(got) != len(recs) {
		t.Fatalf("read %d entries, want %d", len(got), len(recs))
	}
	for i := range got {
		checkEntry(t, got[i], recs[i])
	}
	if head, err := db.Head(t.Context()); err != nil || head != after {
		t.Errorf("Head = %d, %v; want %d", head, err, after)
	}
	if rest, err := db.ReadChanges(t.Context(), after, 10); err != nil || len(rest) != 0 {
		t.Errorf("ReadChanges(head, 10) = %d entries, %v; want none", len(rest), err)
	}
}

// outOfOrder tracks the writers of testFeedOutOfOrderCommits.
type outOfOrder struct {
	entered chan int // writer i has recorded and waits inside its transaction
	release []chan struct{}
	done    chan doneWriter
	open    []int // entered and not released, in the order they entered
}

type doneWriter struct {
	i   int
	err error
}

// quietWindow is how long the test waits for more writers to enter before it
// releases one. It decides only how many transactions are open together —
// all of them where the store lets writers run side by side, one where it
// serialises them — never whether the test passes.
const quietWindow = 100 * time.Millisecond

// testFeedOutOfOrderCommits holds several write transactions open at once and
// commits them in reverse order of entering, one rolled back, while a reader
// follows the feed from its checkpoint after each commit. The reader must get
// every committed entry exactly once and never the rolled-back one: an entry
// that committed late with a low position must not be skipped.
//
// Where writers run side by side (SQL Server) all of them enter before the
// first is released, and the feed must hold back entries above an open
// transaction's position. Where writers are serialised (SQLite, BEGIN
// IMMEDIATE) only one is inside at a time; its position is allocated inside
// that serialised transaction (AUTOINCREMENT), so positions commit in order
// and the test passes by construction.
func testFeedOutOfOrderCommits(t *testing.T, db WriteDB) {
	const writers, rolledBack = 5, 2
	errRolledBack := errors.New("rolled back on purpose")
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel() // runs first: a failed test unblocks its writers
	o := &outOfOrder{entered: make(chan int, writers), done: make(chan doneWriter, writers),
		release: make([]chan struct{}, writers)}
	for i := range o.release {
		o.release[i] = make(chan struct{})
	}
	for i := range writers {
		wg.Go(func() {
			rec, _ := createRecord(fmt.Sprintf("op-ooo-%d", i), fmt.Sprintf("ooo-%d", i), i)
			err := db.Update(ctx, func(ctx context.Context, tx store.WriteTx) error {
				if err := tx.Record(ctx, rec); err != nil {
					return err
				}
				o.entered <- i
				select {
				case <-o.release[i]:
				case <-ctx.Done():
					return ctx.Err()
				}
				if i == rolledBack {
					return errRolledBack
				}
				return nil
			})
			o.done <- doneWriter{i, err}
		})
	}
	seen := map[string]int{}
	var checkpoint int64
	for released := range writers {
		o.waitForEntries(t, ctx, writers-released)
		i := o.open[len(o.open)-1] // the most recently entered commits first
		o.open = o.open[:len(o.open)-1]
		close(o.release[i])
		o.waitDone(t, ctx, i, rolledBack, errRolledBack)
		checkpoint = followFeed(t, ctx, db, checkpoint, seen)
	}
	for i := range writers {
		id := fmt.Sprintf("op-ooo-%d", i)
		want := 1
		if i == rolledBack {
			want = 0
		}
		if seen[id] != want {
			t.Errorf("reader got %s %d times, want %d", id, seen[id], want)
		}
	}
}

// waitForEntries blocks until at least one writer is open, then gathers the
// others until all remaining ones have entered or none entered for quietWindow.
func (o *outOfOrder) waitForEntries(t *testing.T, ctx context.Context, remaining int) {
	t.Helper()
	for len(o.open) < remaining {
		quiet := time.NewTimer(quietWindow)
		select {
		case i := <-o.entered:
			o.open = append(o.open, i)
		case d := <-o.done:
			t.Fatalf("writer %d ended before it was released: %v", d.i, d.err)
		case <-quiet.C:
			if len(o.open) > 0 {
				return
			}
		case <-ctx.Done():
			t.Fatalf("no writer entered its transaction: %v", ctx.Err())
		}
		quiet.Stop()
	}
}

// waitDone waits for writer i's Update to return and checks its result.
func (o *outOfOrder) waitDone(t *testing.T, ctx context.Context, i, rolledBack int, errRolledBack error) {
	t.Helper()
	for {
		select {
		case j := <-o.entered: // another writer got in meanwhile
			o.open = append(o.open, j)
		case d := <-o.done:
			if d.i != i {
				t.Fatalf("writer %d ended before it was released: %v", d.i, d.err)
			}
			if i == rolledBack && !errors.Is(d.err, errRolledBack) {
				t.Fatalf("writer %d: %v, want its own error %v", i, d.err, errRolledBack)
			}
			if i != rolledBack && d.err != nil {
				t.Fatalf("writer %d: %v, want nil", i, d.err)
			}
			return
		case <-ctx.Done():
			t.Fatalf("writer %d did not finish: %v", i, ctx.Err())
		}
	}
}

// followFeed reads the feed after checkpoint, as the projector does, counts
// what it gets and returns the new checkpoint.
func followFeed(t *testing.T, ctx context.Context, db store.Feed, checkpoint int64, seen map[string]int) int64 {
	t.Helper()
	for {
		page, err := db.ReadChanges(ctx, checkpoint, 100)
		if err != nil {
			t.Fatalf("ReadChanges(%d, 100): %v", checkpoint, err)
		}
		if len(page) == 0 {
			return checkpoint
		}
		for _, c := range page {
			if c.Position <= checkpoint {
				t.Fatalf("position %d after checkpoint %d", c.Position, checkpoint)
			}
			seen[c.Operation.ID]++
			checkpoint = c.Position
		}
	}
}

// testFeedIdentity: a feed has an identity from the start, the same on every
// call, and every database its own.
func testFeedIdentity(t *testing.T, db WriteDB, other WriteDB) {
	ctx := t.Context()
	id, err := db.Identity(ctx)
	if err != nil || id == "" {
		t.Fatalf("Identity = %q, %v; want an identity", id, err)
	}
	if again, err := db.Identity(ctx); err != nil || again != id {
		t.Errorf("Identity again = %q, %v; want %q", again, err, id)
	}
	if theirs, err := other.Identity(ctx); err != nil || theirs == id {
		t.Errorf("another database's Identity = %q, %v; want one of its own, not %q", theirs, err, id)
	}
}
