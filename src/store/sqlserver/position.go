package sqlserver

import (
	"encoding/binary"
	"fmt"
	"math"
)

// A change-feed position is the entry's rowversion: eight bytes that SQL
// Server compares as a big-endian unsigned number, drawn from one counter per
// database (@@DBTS) that grows with every row written to a table that has a
// rowversion column. Read as a big-endian int64 it keeps its order; the
// counter would need 2^63 writes to reach the sign bit, so a position is
// always positive in practice, and positionFromRowversion refuses one that is not.

// rowversionOf encodes a position for comparison with the rowversion column.
// A negative position (never issued) is treated as 0: "from the start".
func rowversionOf(position int64) []byte {
	b := make([]byte, 8)
	if position > 0 {
		binary.BigEndian.PutUint64(b, uint64(position))
	}
	return b
}

// positionFromRowversion decodes a rowversion read from the database.
func positionFromRowversion(b []byte) (int64, error) {
	if len(b) != 8 {
		return 0, fmt.Errorf("sqlserver: rowversion of %d bytes, want 8", len(b))
	}
	u := binary.BigEndian.Uint64(b)
	if u > math.MaxInt64 {
		return 0, fmt.Errorf("sqlserver: rowversion %#x does not fit a position", u)
	}
	return int64(u), nil
}
