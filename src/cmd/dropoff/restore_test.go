package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dropoff-dev/dropoff/src/baseline"
	"github.com/dropoff-dev/dropoff/src/command"
	"github.com/dropoff-dev/dropoff/src/operation"
	"github.com/dropoff-dev/dropoff/src/projector"
	"github.com/dropoff-dev/dropoff/src/shipment"
	"github.com/dropoff-dev/dropoff/src/store"
	"github.com/dropoff-dev/dropoff/src/store/sqlite"
)

// switchFeed is a change feed whose write database can be swapped under a
// running projector: how the test restores a backup in its place.
type switchFeed struct {
	cur atomic.Pointer[sqlite.WriteStore]
}

func (f *switchFeed) ReadChanges(ctx context.Context, after int64, limit int) ([]store.Change, error) {
	return f.cur.Load().ReadChanges(ctx, after, limit)
}
func (f *switchFeed) Head(ctx context.Context) (int64, error) { return f.cur.Load().Head(ctx) }
func (f *switchFeed) Identity(ctx context.Context) (string, error) {
	return f.cur.Load().Identity(ctx)
}

// A write database restored from an older backup, under a running
// projector, with new commands written to it since, so that its feed has
// gone past the projection's checkpoint again: the projector stops, loudly,
// and the projection keeps what it had. Before the feed checks it took the
// new entries at positions it had already applied for applied, and skipped
// them without a word.
func TestRestoredWriteDatabaseStopsTheProjector(t *testing.T) {
	dir := t.TempDir()
	ctx := t.Context()
	live, err := sqlite.OpenWriteStore(ctx, filepath.Join(dir, "write.db"), sqlite.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	proj, err := sqlite.OpenProjection(ctx, filepath.Join(dir, "read.db"), sqlite.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer proj.Close()
	applyCommands(t, live, "before-backup", 5)
	backup := filepath.Join(dir, "backup.db")
	vacuumInto(t, filepath.Join(dir, "write.db"), backup)
	applyCommands(t, live, "after-backup", 5)

	feed := &switchFeed{}
	feed.cur.Store(live)
	pr, err := projector.New(feed, proj, projector.Config{PollInterval: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- pr.Run(ctx) }()
	waitUntil(t, func() bool { cp, _ := proj.Checkpoint(ctx); return cp.Position == 10 })

	restored, err := sqlite.OpenWriteStore(ctx, backup, sqlite.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer restored.Close()
	applyCommands(t, restored, "after-restore", 10) // positions 6 to 15 of the restored feed
	feed.cur.Store(restored)

	select {
	case err := <-done:
		if !errors.Is(err, projector.ErrWrongFeed) {
			t.Fatalf("projector returned %v, want ErrWrongFeed", err)
		}
		t.Logf("the projector stopped: %v", err)
	case <-time.After(20 * time.Second):
		t.Fatal("the projector kept running on a restored write database")
	}
	if cp, _ := proj.Checkpoint(ctx); cp.Position != 10 {
		t.Errorf("checkpoint %d after the restore, want 10: nothing applied from the restored feed", cp.Position)
	}
	for i := range 10 {
		id := fmt.Sprintf("after-restore-%d", i)
		if _, found, _ := proj.Shipment(ctx, id); found {
			t.Errorf("shipment %s from the restored feed is in the projection", id)
		}
	}
}

// applyCommands creates n shipments prefix-0 … prefix-(n-1) in w, one
// command each, as the worker would.
func applyCommands(t *testing.T, w *sqlite.WriteStore, prefix string, n int) {
	t.Helper()
	for i := range n {
		id, err := operation.NewID()
		if err != nil {
			t.Fatal(err)
		}
		cmd := command.Command{Kind: command.KindUpsert, ShipmentID: fmt.Sprintf("%s-%d", prefix, i), OperationID: id,
			AcceptedAt: time.Now(), Payload: shipment.Fields{Recipient: "Ada", Destination: "1 Main St", WeightGrams: 1200, Service: shipment.Express}}
		if op, err := baseline.Apply(t.Context(), w, cmd, time.Now()); err != nil || op.Status != operation.Succeeded {
			t.Fatalf("apply %s: %v %+v", cmd.ShipmentID, err, op)
		}
	}
}

// vacuumInto writes a consistent copy of the SQLite file at path to backup,
// as an operator's backup would.
func vacuumInto(t *testing.T, path, backup string) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(t.Context(), "VACUUM INTO ?", backup); err != nil {
		t.Fatalf("back up the write database: %v", err)
	}
}
