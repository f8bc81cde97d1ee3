package sqlite

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dropoff-dev/dropoff/src/operation"
	"github.com/dropoff-dev/dropoff/src/store"
)

// A file whose contents are trimmed shrinks once compacted: retention bounds
// the disk, not only the rows. (SQLite keeps a file at its largest size
// unless it is in auto-vacuum mode and told to give free pages back.)
func TestCompactShrinksTheFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "write.db")
	s, err := OpenWriteStore(t.Context(), path, Config{Synchronous: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	now := time.Now()
	for i := range 2000 {
		op := operation.Operation{ID: fmt.Sprintf("op-%05d", i), Kind: "shipment.upsert", ShipmentID: "s",
			Status: operation.Failed, Error: &operation.Error{Code: operation.CodeNotFound, Message: strings.Repeat("x", 2000)},
			CreatedAt: now, LastUpdatedAt: now}
		if err := s.Update(t.Context(), func(ctx context.Context, tx store.WriteTx) error {
			return tx.Record(ctx, store.Record{Operation: op})
		}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Compact(t.Context()); err != nil { // checkpoint what was written
		t.Fatal(err)
	}
	full := fileSize(t, path)
	for {
		n, err := s.TrimOperations(t.Context(), now.Add(time.Second), 500)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
	}
	for {
		n, err := s.TrimFeed(t.Context(), 1<<62, now.Add(time.Hour), 500)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
	}
	if got := fileSize(t, path); got < full/2 {
		t.Fatalf("the file shrank to %d of %d bytes before Compact; the test no longer shows it", got, full)
	}
	// A compaction gives back a bounded number of pages; a few passes give
	// back everything.
	for range 5 {
		if err := s.Compact(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	if got := fileSize(t, path); got > full/4 {
		t.Errorf("after trimming everything and compacting: %d bytes of %d, want under a quarter", got, full)
	}
}

// A file made before incremental auto-vacuum is switched to it on open.
func TestOldFileIsSwitchedToIncrementalVacuum(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.db")
	s, err := OpenWriteStore(t.Context(), path, Config{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.write.ExecContext(t.Context(), "PRAGMA auto_vacuum = NONE"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.write.ExecContext(t.Context(), "VACUUM"); err != nil {
		t.Fatal(err)
	}
	if mode := autoVacuum(t, s); mode != 0 {
		t.Fatalf("setting up an old file: auto_vacuum %d, want 0", mode)
	}
	s.Close()
	s, err = OpenWriteStore(t.Context(), path, Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if mode := autoVacuum(t, s); mode != 2 {
		t.Errorf("after reopening: auto_vacuum %d, want 2 (incremental)", mode)
	}
}

func autoVacuum(t *testing.T, s *WriteStore) int {
	t.Helper()
	var mode int
	if err := s.db.write.QueryRowContext(t.Context(), "PRAGMA auto_vacuum").Scan(&mode); err != nil {
		t.Fatal(err)
	}
	return mode
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}
