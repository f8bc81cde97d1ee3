package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/dropoff-dev/dropoff/src/operation"
	"github.com/dropoff-dev/dropoff/src/shipment"
	"github.com/dropoff-dev/dropoff/src/store"
	"github.com/dropoff-dev/dropoff/src/store/sqlite"
)

// These tests cover what is particular to the SQLite adapter; the contract
// itself is checked by the storetest suites in sqlite_test.go.

// created returns the record of a new shipment id made at instant at.
func created(id string, at time.Time) store.Record {
	s := shipment.Shipment{ID: id, Recipient: "R", Destination: "D", WeightGrams: 10,
		Service: shipment.Standard, Status: shipment.Registered, Version: 1, CreatedAt: at, UpdatedAt: at}
	op := operation.Operation{ID: "op-" + id, Kind: "shipment.upsert", ShipmentID: id, Status: operation.Succeeded,
		ResourceVersion: 1, CreatedAt: at, LastUpdatedAt: at}
	return store.Record{Operation: op, Shipment: &s, Change: shipment.Created}
}

func record(ctx context.Context, s *sqlite.WriteStore, r store.Record) error {
	return s.Update(ctx, func(ctx context.Context, tx store.WriteTx) error { return tx.Record(ctx, r) })
}

func TestTimesRoundTripToTheNanosecond(t *testing.T) {
	s := openWrite(t, sqlite.Config{})
	at := time.Date(2031, 12, 31, 23, 59, 59, 123456789, time.FixedZone("UTC-7", -7*3600))
	rec := created("ns", at)
	if err := record(t.Context(), s, rec); err != nil {
		t.Fatalf("Record: %v", err)
	}
	feed, err := s.ReadChanges(t.Context(), 0, 10)
	if err != nil || len(feed) != 1 {
		t.Fatalf("ReadChanges = %d entries, %v; want 1", len(feed), err)
	}
	got := feed[0].Shipment.CreatedAt
	if !got.Equal(at) || got.Location() != time.UTC {
		t.Errorf("CreatedAt = %v (%v), want %v in UTC", got, got.Location(), at.UTC())
	}
}

// TestFailedRecordLeavesTransactionAsItWas: Record runs in a savepoint, so a
// caller that goes on after a conflict commits nothing of the failed Record.
func TestFailedRecordLeavesTransactionAsItWas(t *testing.T) {
	s := openWrite(t, sqlite.Config{})
	first := created("a", time.Unix(1, 0))
	first.IdempotencyKey = &store.IdempotencyKey{KeyDigest: "k", RequestDigest: "r1", OperationID: "op-a"}
	second := created("b", time.Unix(2, 0)) // its shipment insert succeeds, its key does not
	second.IdempotencyKey = &store.IdempotencyKey{KeyDigest: "k", RequestDigest: "r2", OperationID: "op-b"}
	err := s.Update(t.Context(), func(ctx context.Context, tx store.WriteTx) error {
		if err := tx.Record(ctx, first); err != nil {
			return err
		}
		if err := tx.Record(ctx, second); !errors.Is(err, store.ErrConflict) {
			return fmt.Errorf("second Record = %v, want ErrConflict", err)
		}
		return nil // keep the first
	})
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	live, err := s.Shipments(t.Context(), "", 10)
	if err != nil || len(live) != 1 || live[0].ID != "a" {
		t.Errorf("Shipments = %v, %v; want only a", live, err)
	}
	if head, err := s.Head(t.Context()); err != nil || head != 1 {
		t.Errorf("Head = %d, %v; want 1", head, err)
	}
}

func TestCommitsCountsCommittedUpdates(t *testing.T) {
	s := openWrite(t, sqlite.Config{})
	for i := range 3 {
		if err := record(t.Context(), s, created(fmt.Sprintf("c%d", i), time.Unix(int64(i), 0))); err != nil {
			t.Fatalf("Record: %v", err)
		}
	}
	errBoom := errors.New("boom")
	if err := s.Update(t.Context(), func(context.Context, store.WriteTx) error { return errBoom }); !errors.Is(err, errBoom) {
		t.Fatalf("Update = %v, want %v", err, errBoom)
	}
	if got := s.Commits(); got != 3 {
		t.Errorf("Commits = %d, want 3 (one per command, none for the rolled-back one)", got)
	}
	p := openProjection(t, sqlite.Config{})
	feed, err := s.ReadChanges(t.Context(), 0, 10)
	if err != nil {
		t.Fatalf("ReadChanges: %v", err)
	}
	if err := p.Apply(t.Context(), feed, 3); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if got := p.Commits(); got != 1 {
		t.Errorf("projection Commits = %d, want 1 (one per batch)", got)
	}
}

// TestProcessesShareAFile opens one fresh file from several stores at once,
// as separate processes would (each has its own pool and connections), then
// writes from all of them concurrently. Migrations must run once, and the feed
// must hold every entry once, in increasing positions.
func TestProcessesShareAFile(t *testing.T) {
	const stores, perStore = 4, 25
	path := filepath.Join(t.TempDir(), "write.db")
	opened := make([]*sqlite.WriteStore, stores)
	errs := make([]error, stores)
	var wg sync.WaitGroup
	for i := range opened {
		wg.Go(func() {
			opened[i], errs[i] = sqlite.OpenWriteStore(t.Context(), path, sqlite.Config{BusyTimeout: 20 * time.Second})
		})
	}
	wg.Wait()
	for i, s := range opened {
		if errs[i] != nil {
			t.Fatalf("open %d: %v", i, errs[i])
		}
		t.Cleanup(func() { s.Close() })
	}
	for i, s := range opened {
		wg.Go(func() {
			for j := range perStore {
				id := fmt.Sprintf("s%d-%02d", i, j)
				if err := record(t.Context(), s, created(id, time.Unix(int64(j), 0))); err != nil {
					t.Errorf("store %d: record %s: %v", i, id, err)
					return
				}
			}
		})
	}
	wg.Wait()
	feed, err := opened[0].ReadChanges(t.Context(), 0, 1000)
	if err != nil {
		t.Fatalf("ReadChanges: %v", err)
	}
	seen := map[string]bool{}
	for i, c := range feed {
		if i > 0 && c.Position <= feed[i-1].Position {
			t.Fatalf("position %d after %d", c.Position, feed[i-1].Position)
		}
		seen[c.Operation.ID] = true
	}
	if len(feed) != stores*perStore || len(seen) != stores*perStore {
		t.Errorf("feed has %d entries (%d distinct), want %d", len(feed), len(seen), stores*perStore)
	}
	migrations, _ := filepath.Glob("migrations/write/*.sql")
	if got := countRows(t, path, "schema_migrations"); got != len(migrations) {
		t.Errorf("schema_migrations has %d rows, want %d: each migration applied once", got, len(migrations))
	}
	if got := countRows(t, path, "feed_identity"); got != 1 {
		t.Errorf("feed_identity has %d rows, want 1: the identity written once", got)
	}
}

// countRows counts a table's rows through a connection of its own.
func countRows(t *testing.T, path, table string) int {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRowContext(t.Context(), "SELECT COUNT(*) FROM "+table).Scan(&n); err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	return n
}

func TestReopenKeepsData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "write.db")
	s, err := sqlite.OpenWriteStore(t.Context(), path, sqlite.Config{})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	rec := created("kept", time.Unix(7, 0).UTC())
	if err := record(t.Context(), s, rec); err != nil {
		t.Fatalf("Record: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	s, err = sqlite.OpenWriteStore(t.Context(), path, sqlite.Config{})
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s.Close()
	live, err := s.Shipments(t.Context(), "", 10)
	if err != nil {
		t.Fatalf("Shipments: %v", err)
	}
	if diff := cmp.Diff([]shipment.Shipment{*rec.Shipment}, live); diff != "" {
		t.Errorf("after reopen (-want +got):\n%s", diff)
	}
}

func TestConfigValidation(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		path string
		cfg  sqlite.Config
	}{
		{"unknown synchronous", filepath.Join(dir, "a.db"), sqlite.Config{Synchronous: "SOMETIMES"}},
		{"negative busy timeout", filepath.Join(dir, "b.db"), sqlite.Config{BusyTimeout: -time.Second}},
		{"negative read connections", filepath.Join(dir, "c.db"), sqlite.Config{MaxReadConns: -1}},
		{"empty path", "", sqlite.Config{}},
		{"path with a query", filepath.Join(dir, "d.db?mode=ro"), sqlite.Config{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if s, err := sqlite.OpenWriteStore(t.Context(), tt.path, tt.cfg); err == nil {
				s.Close()
				t.Errorf("OpenWriteStore = nil error, want one")
			}
			if p, err := sqlite.OpenProjection(t.Context(), tt.path, tt.cfg); err == nil {
				p.Close()
				t.Errorf("OpenProjection = nil error, want one")
			}
		})
	}
}
