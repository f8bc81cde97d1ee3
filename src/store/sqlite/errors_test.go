package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/dropoff-dev/dropoff/src/store"
)

// A write store whose file another process holds locked answers
// store.ErrUnavailable, which the worker waits out, and works again once the
// lock is gone; a failure of the caller's own making is not marked.
func TestLockedFileIsUnavailable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "write.db")
	s, err := OpenWriteStore(t.Context(), path, Config{BusyTimeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	other, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	conn, err := other.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(t.Context(), "BEGIN EXCLUSIVE"); err != nil {
		t.Fatal(err)
	}
	noop := func(context.Context, store.WriteTx) error { return nil }
	if err := s.Update(t.Context(), noop); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Update while another process holds the lock = %v, want store.ErrUnavailable", err)
	}
	if _, err := conn.ExecContext(t.Context(), "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	if err := s.Update(t.Context(), noop); err != nil {
		t.Errorf("Update once the lock is gone = %v, want nil", err)
	}
	mine := errors.New("a bug in fn")
	if err := s.Update(t.Context(), func(context.Context, store.WriteTx) error { return mine }); !errors.Is(err, mine) || errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Update whose fn failed = %v, want fn's error, not ErrUnavailable", err)
	}
}

// A full database (here: one capped by max_page_count, which fails a write
// exactly as a full disk does, with SQLITE_FULL) is a failure that may pass.
func TestFullDatabaseIsUnavailable(t *testing.T) {
	db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "full.db")+"?_pragma=max_page_count(8)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(t.Context(), "CREATE TABLE t (b BLOB)"); err != nil {
		t.Fatal(err)
	}
	var full error
	for i := 0; i < 100 && full == nil; i++ {
		_, full = db.ExecContext(t.Context(), "INSERT INTO t VALUES (zeroblob(4096))")
	}
	if full == nil {
		t.Fatal("a database capped at 8 pages took 100 pages of rows; the test no longer fills it")
	}
	if err := classify(full); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("classify(%v) = %v, want store.ErrUnavailable", full, err)
	}
}

// A database that has become read-only (its file's permissions, a disk
// remounted read-only) is a failure that may pass: the worker waits it out in
// place, and its readiness says so, instead of spending the deliveries of
// every message on it.
func TestReadOnlyDatabaseIsUnavailable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ro.db")
	rw, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rw.ExecContext(t.Context(), "CREATE TABLE t (n INTEGER)"); err != nil {
		t.Fatal(err)
	}
	rw.Close()
	ro, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	_, werr := ro.ExecContext(t.Context(), "INSERT INTO t VALUES (1)")
	if werr == nil {
		t.Fatal("a write to a read-only database succeeded")
	}
	if err := classify(werr); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("classify(%v) = %v, want store.ErrUnavailable", werr, err)
	}
}
