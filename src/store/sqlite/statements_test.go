package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/dropoff-dev/dropoff/src/store"
	"github.com/dropoff-dev/dropoff/src/store/sqlite"
)

// TestCallsAfterCloseFail: Close closes the prepared statements with the
// pools, and a call that comes too late gets an error, not a panic or a
// read of a closed statement.
func TestCallsAfterCloseFail(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	w, err := sqlite.OpenWriteStore(ctx, filepath.Join(dir, "write.db"), sqlite.Config{})
	if err != nil {
		t.Fatalf("OpenWriteStore: %v", err)
	}
	p, err := sqlite.OpenProjection(ctx, filepath.Join(dir, "read.db"), sqlite.Config{})
	if err != nil {
		t.Fatalf("OpenProjection: %v", err)
	}
	r := created("s1", time.Unix(1, 0))
	if err := record(ctx, w, r); err != nil {
		t.Fatalf("Record: %v", err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("Close write store: %v", err)
	}
	if err := p.Close(); err != nil {
		t.Fatalf("Close projection: %v", err)
	}
	tests := []struct {
		name string
		call func(context.Context) error
	}{
		{"Update", func(ctx context.Context) error { return record(ctx, w, created("s2", time.Unix(2, 0))) }},
		{"ReadChanges", func(ctx context.Context) error { _, err := w.ReadChanges(ctx, 0, 10); return err }},
		{"Head", func(ctx context.Context) error { _, err := w.Head(ctx); return err }},
		{"Apply", func(ctx context.Context) error {
			c := store.Change{Position: 1, Operation: r.Operation, Shipment: r.Shipment, Change: r.Change}
			return p.Apply(ctx, []store.Change{c}, 1)
		}},
		{"Operation", func(ctx context.Context) error { _, _, err := p.Operation(ctx, r.Operation.ID); return err }},
		{"Shipment", func(ctx context.Context) error { _, _, err := p.Shipment(ctx, "s1"); return err }},
		{"Shipments", func(ctx context.Context) error {
			_, _, err := p.Shipments(ctx, store.ListQuery{Limit: 10})
			return err
		}},
		{"History", func(ctx context.Context) error { _, _, err := p.History(ctx, "s1"); return err }},
		{"Stats", func(ctx context.Context) error { _, err := p.Stats(ctx); return err }},
	}
	for _, tt := range tests {
		if err := tt.call(ctx); err == nil {
			t.Errorf("%s after Close = nil, want an error", tt.name)
		}
	}
}
