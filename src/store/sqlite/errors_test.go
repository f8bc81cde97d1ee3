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
