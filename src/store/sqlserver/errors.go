package sqlserver

import (
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"

	mssql "github.com/microsoft/go-mssqldb"

	"github.com/dropoff-dev/dropoff/src/store"
)

// SQL Server error numbers that mean "another transaction got there first".
// Each ends this transaction's attempt; running it again is safe and will see
// the other write, which is exactly what store.ErrConflict promises.
const (
	errUniqueConstraint = 2627 // Violation of PRIMARY KEY or UNIQUE constraint
	errUniqueIndex      = 2601 // Cannot insert duplicate key row (unique index)
	errDeadlockVictim   = 1205 // chosen as deadlock victim; the server rolled back
	errSnapshotConflict = 3960 // snapshot isolation update conflict
)

var conflictNumbers = []int32{errUniqueConstraint, errUniqueIndex, errDeadlockVictim, errSnapshotConflict, errVersionMoved}

// SQL Server and Azure SQL error numbers that mean "not now": the database
// is failing over, reconfiguring, waking from a pause, out of resources for a
// moment, or the connection broke underneath (Microsoft's list of transient
// errors for Azure SQL Database, and the lock timeout). Each ends this attempt
// with nothing kept; the same transaction may succeed later.
var passingNumbers = []int32{
	20,           // the instance does not support encryption: seen while a server restarts
	64,           // connection broken (a network error), during a failover
	233,          // no process on the other end of the pipe
	1222,         // lock request timed out
	3906,         // the database is read-only: a geo-failover's old primary, or set so by an operator
	4060,         // cannot open the database (during a failover or reconfiguration)
	4221,         // login to a read-secondary failed: it is catching up
	10053,        // connection aborted by the host
	10054,        // connection reset by the peer
	10060,        // connection timed out
	10928,        // resource limit (workers, sessions) reached
	10929,        // resource guarantees not met: the server is busy
	40143,        // the service has encountered an error processing your request
	40197,        // the service is processing a reconfiguration (an upgrade, a failover)
	40501,        // the service is currently busy
	40540,        // the service has encountered an error processing your request
	40613,        // the database is not currently available (failover, or waking from a pause)
	42108, 42109, // serverless: the database is resuming, or paused
	49918, 49919, 49920, // not enough resources to process the request; too many requests
}

// sqlErrorNumbers lists every SQL Server error number carried by err. A batch
// reports several: a duplicate key arrives as 2627 followed by 3621 ("The
// statement has been terminated."), and the driver's Error describes the last
// one, so the whole list (Error.All) must be read.
func sqlErrorNumbers(err error) []int32 {
	var e mssql.Error
	if !errors.As(err, &e) {
		return nil
	}
	if len(e.All) == 0 {
		return []int32{e.Number}
	}
	numbers := make([]int32, 0, len(e.All))
	for _, one := range e.All {
		numbers = append(numbers, one.Number)
	}
	return numbers
}

// isConflict reports whether err is a write conflict (see conflictNumbers).
func isConflict(err error) bool {
	for _, n := range sqlErrorNumbers(err) {
		if slices.Contains(conflictNumbers, n) {
			return true
		}
	}
	return false
}

// isPassing reports whether err may pass: a transient server error, or the
// connection gone (the driver's bad-connection error, a network error, an
// end of stream mid-answer).
func isPassing(err error) bool {
	for _, n := range sqlErrorNumbers(err) {
		if slices.Contains(passingNumbers, n) {
			return true
		}
	}
	var ne net.Error
	return errors.Is(err, driver.ErrBadConn) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.As(err, &ne) || errors.Is(err, ErrUnreachable)
}

// classify returns err marked as store.ErrConflict or store.ErrUnavailable
// when it is one, keeping the driver's error in the chain for logs; any other
// error is returned as it is.
func classify(err error) error {
	switch {
	case err == nil, errors.Is(err, store.ErrConflict), errors.Is(err, store.ErrUnavailable):
		return err
	case isConflict(err):
		return fmt.Errorf("%w: %w", store.ErrConflict, err)
	case isPassing(err):
		return fmt.Errorf("%w: %w", store.ErrUnavailable, err)
	}
	return err
}
