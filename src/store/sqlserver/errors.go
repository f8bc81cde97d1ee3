package sqlserver

import (
	"errors"
	"fmt"
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

var conflictNumbers = []int32{errUniqueConstraint, errUniqueIndex, errDeadlockVictim, errSnapshotConflict}

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

// classify returns err marked as store.ErrConflict when it is one, keeping the
// driver's error in the chain for logs; any other error is returned as it is.
func classify(err error) error {
	if err == nil || errors.Is(err, store.ErrConflict) || !isConflict(err) {
		return err
	}
	return fmt.Errorf("%w: %w", store.ErrConflict, err)
}
