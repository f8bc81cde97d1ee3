package projector

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/dropoff-dev/dropoff/src/operation"
	"github.com/dropoff-dev/dropoff/src/store"
)

// runToEnd runs pr until it returns on its own, within 10s.
func runToEnd(t *testing.T, pr *Projector) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- pr.Run(t.Context()) }()
	select {
	case err := <-done:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not stop within 10s")
		return nil
	}
}

// A projection follows one feed: pointed at another write database, the
// projector stops at once and applies nothing.
func TestAnotherFeedStopsTheProjector(t *testing.T) {
	f, p := &fakeFeed{}, &fakeProjection{}
	f.add(5, 1)
	p.following = "the-other-write-database"
	err := runToEnd(t, newProjector(t, f, p, testConfig()))
	if !errors.Is(err, ErrWrongFeed) || !strings.Contains(err.Error(), "the-other-write-database") {
		t.Fatalf("Run = %v, want ErrWrongFeed naming both feeds", err)
	}
	if got := p.state().applied; len(got) != 0 {
		t.Errorf("applied %v from a feed the projection does not follow, want nothing", got)
	}
}

// The first feed a projection is attached to becomes its own.
func TestAFreshProjectionFollowsItsFirstFeed(t *testing.T) {
	f, p := &fakeFeed{identity: "write-db-1"}, &fakeProjection{}
	f.add(3, 1)
	pr := newProjector(t, f, p, testConfig())
	stop := run(t, pr)
	waitFor(t, "three entries applied", func() bool { return len(p.state().applied) == 3 })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if cp, _ := p.Checkpoint(t.Context()); cp.FeedIdentity != "write-db-1" {
		t.Errorf("the projection follows %q, want write-db-1", cp.FeedIdentity)
	}
}

// A write database restored from an older copy keeps its identity, and its
// feed goes on from the older position: new entries take positions the
// projection already applied. The projector sees that the entry at its
// checkpoint is not the one it applied, and stops instead of skipping them.
func TestRestoredFeedStopsTheProjectorInsteadOfSkipping(t *testing.T) {
	tests := []struct {
		name   string
		newer  int // entries written to the restored copy
		detail string
	}{
		{"restored copy ends below the checkpoint", 0, "nothing at or after it"},
		{"restored copy goes on past the checkpoint", 20, "there instead"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, p := &fakeFeed{}, &fakeProjection{}
			f.add(10, 1)
			stop := run(t, newProjector(t, f, p, testConfig()))
			waitFor(t, "ten entries applied", func() bool { return len(p.state().applied) == 10 })
			if err := stop(); err != nil {
				t.Fatal(err)
			}
			restore(f, 4, tt.newer) // back to the copy taken after entry 4
			err := runToEnd(t, newProjector(t, f, p, testConfig()))
			if !errors.Is(err, ErrWrongFeed) || !strings.Contains(err.Error(), tt.detail) {
				t.Fatalf("Run = %v, want ErrWrongFeed saying %q", err, tt.detail)
			}
			if st := p.state(); st.checkpoint != 10 || len(st.applied) != 10 {
				t.Errorf("after the restore: checkpoint %d, %d applied; want 10 and 10, nothing skipped or applied", st.checkpoint, len(st.applied))
			}
		})
	}
}

// restore makes f what a copy of it taken after entry keep would be, with
// newer entries written to that copy since: same positions as the lost ones,
// other operations.
func restore(f *fakeFeed, keep, newer int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.changes = f.changes[:keep]
	for i := range newer {
		pos := int64(keep + i + 1)
		f.changes = append(f.changes, store.Change{Position: pos, CommittedAt: time.Now(),
			Operation: operation.Operation{ID: fmt.Sprintf("restored-op-%d", pos), Status: operation.Succeeded}})
	}
}

// A projection applied by a version that did not record the checkpoint's
// operation is not refused: the check starts with its next batch.
func TestCheckpointWithoutOperationIsTrustedOnce(t *testing.T) {
	f, p := &fakeFeed{}, &fakeProjection{}
	f.add(6, 1)
	p.checkpoint = 3 // as migrated: a position, no operation id
	stop := run(t, newProjector(t, f, p, testConfig()))
	waitFor(t, "the rest applied", func() bool { return p.state().checkpoint == 6 })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if got := p.state().applied; len(got) != 3 {
		t.Errorf("applied %v, want the three after the checkpoint", got)
	}
}
