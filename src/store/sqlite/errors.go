package sqlite

import (
	"errors"
	"fmt"

	msqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/dropoff-dev/dropoff/src/store"
)

// SQLite result codes that mean "not now": another process holds the file's
// lock past the busy timeout, the disk is full or read-only (remounted so
// after an error, or its permissions changed), or the file could not be read
// or written for a moment (an I/O error, say on a network drive). Each leaves
// the transaction rolled back, and trying again later may succeed.
var passingCodes = []int{
	sqlite3.SQLITE_BUSY,
	sqlite3.SQLITE_LOCKED,
	sqlite3.SQLITE_FULL,
	sqlite3.SQLITE_READONLY,
	sqlite3.SQLITE_IOERR,
	sqlite3.SQLITE_CANTOPEN,
	sqlite3.SQLITE_PROTOCOL,
}

// classify marks an error that may pass as store.ErrUnavailable, keeping
// SQLite's own in the chain; any other error comes back as it is.
func classify(err error) error {
	if err == nil || errors.Is(err, store.ErrUnavailable) || !passing(err) {
		return err
	}
	return fmt.Errorf("%w: %w", store.ErrUnavailable, err)
}

func passing(err error) bool {
	var e *msqlite.Error
	if !errors.As(err, &e) {
		return false
	}
	primary := e.Code() & 0xff // extended codes carry the primary one in their low byte
	for _, c := range passingCodes {
		if primary == c {
			return true
		}
	}
	return false
}
