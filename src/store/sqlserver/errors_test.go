package sqlserver

import (
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"

	mssql "github.com/microsoft/go-mssqldb"

	"github.com/dropoff-dev/dropoff/src/store"
)

// sqlError builds the error the driver returns for a batch that raised the
// given numbers, in order: Number is the last one, All lists them all.
func sqlError(numbers ...int32) error {
	e := mssql.Error{Number: numbers[len(numbers)-1]}
	for _, n := range numbers {
		e.All = append(e.All, mssql.Error{Number: n})
	}
	return e
}

func TestClassify(t *testing.T) {
	plain := errors.New("connection reset")
	tests := []struct {
		name            string
		err             error
		wantConflict    bool
		wantUnavailable bool
	}{
		{"duplicate primary key, then statement terminated", sqlError(2627, 3621), true, false},
		{"duplicate unique index", sqlError(2601, 3621), true, false},
		{"deadlock victim", sqlError(1205), true, false},
		{"snapshot update conflict", sqlError(3960), true, false},
		{"shipment moved on (recordSQL's THROW)", sqlError(errVersionMoved), true, false},
		{"wrapped deadlock", fmt.Errorf("read shipment: %w", sqlError(1205)), true, false},
		{"error without All", mssql.Error{Number: 2627}, true, false},
		{"foreign key violation", sqlError(547, 3621), false, false},
		{"string would be truncated", sqlError(2628, 3621), false, false},
		{"not a SQL Server error", plain, false, false},
		{"database not currently available (failover)", sqlError(40613), false, true},
		{"reconfiguration", sqlError(40197), false, true},
		{"read-only database", sqlError(3906, 3621), false, true},
		{"cannot open the database", fmt.Errorf("begin: %w", sqlError(4060)), false, true},
		{"resource limit reached", sqlError(10928), false, true},
		{"serverless database resuming", sqlError(42108), false, true},
		{"connection gone under the driver", fmt.Errorf("commit: %w", driver.ErrBadConn), false, true},
		{"end of stream mid-answer", io.ErrUnexpectedEOF, false, true},
		{"a network error", &net.OpError{Op: "read", Err: errors.New("connection reset by peer")}, false, true},
		{"could not connect at open", fmt.Errorf("sqlserver: connect: %w: %w", ErrUnreachable, plain), false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := classify(tt.err)
			if errors.Is(got, store.ErrConflict) != tt.wantConflict {
				t.Errorf("classify(%v) = %v; is ErrConflict %v, want %v", tt.err, got, !tt.wantConflict, tt.wantConflict)
			}
			if errors.Is(got, store.ErrUnavailable) != tt.wantUnavailable {
				t.Errorf("classify(%v) = %v; is ErrUnavailable %v, want %v", tt.err, got, !tt.wantUnavailable, tt.wantUnavailable)
			}
			if !keepsOriginal(got, tt.err) {
				t.Errorf("classify(%v) = %v lost the original error", tt.err, got)
			}
		})
	}
	if got := classify(nil); got != nil {
		t.Errorf("classify(nil) = %v, want nil", got)
	}
	already := fmt.Errorf("x: %w", store.ErrConflict)
	if got := classify(already); got != already {
		t.Errorf("classify(conflict) = %v, want it unchanged", got)
	}
}

// keepsOriginal reports whether got still carries want. mssql.Error holds a
// slice, so it is not comparable and errors.Is cannot find it: compare numbers.
func keepsOriginal(got, want error) bool {
	var w mssql.Error
	if !errors.As(want, &w) {
		return errors.Is(got, want)
	}
	var g mssql.Error
	return errors.As(got, &g) && g.Number == w.Number && len(g.All) == len(w.All)
}
