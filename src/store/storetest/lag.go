package storetest

import (
	"fmt"
	"testing"
	"time"
)

// testFeedLag: FeedLag reports the head and the commit time of the first
// entry after a position, as ReadChanges sees them.
func testFeedLag(t *testing.T, db WriteDB) {
	head, next, err := db.FeedLag(t.Context(), 0)
	if err != nil || head != 0 || !next.IsZero() {
		t.Fatalf("FeedLag of an empty feed = %d, %v, %v; want 0 and no entry", head, next, err)
	}
	for n := range 3 {
		rec, _ := createRecord(fmt.Sprintf("op-lag-%d", n), fmt.Sprintf("lag-%d", n), n)
		mustRecord(t, db, rec)
	}
	entries, err := db.ReadChanges(t.Context(), 0, 10)
	if err != nil || len(entries) != 3 {
		t.Fatalf("ReadChanges = %d entries, %v", len(entries), err)
	}
	for i, after := range []int64{0, entries[0].Position, entries[1].Position} {
		head, next, err := db.FeedLag(t.Context(), after)
		if err != nil {
			t.Fatalf("FeedLag(%d): %v", after, err)
		}
		if head != entries[2].Position {
			t.Errorf("FeedLag(%d) head = %d, want %d", after, head, entries[2].Position)
		}
		if want := entries[i].CommittedAt; !next.Equal(want) && next.Sub(want).Abs() > time.Millisecond {
			t.Errorf("FeedLag(%d) next = %v, want %v (entry %d's commit time)", after, next, want, entries[i].Position)
		}
	}
	if _, next, err := db.FeedLag(t.Context(), entries[2].Position); err != nil || !next.IsZero() {
		t.Errorf("FeedLag(head) next = %v, %v; want no entry", next, err)
	}
}
