package sqlserver

import (
	"bytes"
	"math"
	"math/rand/v2"
	"testing"
)

func TestPositionRoundTrip(t *testing.T) {
	for _, p := range []int64{0, 1, 255, 256, 0x7d0, 1 << 40, math.MaxInt64} {
		got, err := positionFromRowversion(rowversionOf(p))
		if err != nil || got != p {
			t.Errorf("positionFromRowversion(rowversionOf(%d)) = %d, %v; want %d", p, got, err, p)
		}
	}
}

// SQL Server compares rowversions as bytes, the feed compares positions as
// numbers: the two orders must agree.
func TestPositionOrderMatchesRowversionOrder(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 1000 {
		a, b := r.Int64N(1<<50), r.Int64N(1<<50)
		if a < b != (bytes.Compare(rowversionOf(a), rowversionOf(b)) < 0) {
			t.Fatalf("positions %d, %d order differently from their rowversions %x, %x", a, b, rowversionOf(a), rowversionOf(b))
		}
	}
}

func TestRowversionKnownBytes(t *testing.T) {
	// 0x00000000000007D1 is how SQL Server shows rowversion 2001.
	want := []byte{0, 0, 0, 0, 0, 0, 0x07, 0xd1}
	if got := rowversionOf(2001); !bytes.Equal(got, want) {
		t.Errorf("rowversionOf(2001) = %x, want %x", got, want)
	}
	if got := rowversionOf(-5); !bytes.Equal(got, make([]byte, 8)) {
		t.Errorf("rowversionOf(-5) = %x, want zeros", got)
	}
}

func TestPositionFromRowversionRejects(t *testing.T) {
	for _, b := range [][]byte{nil, {1, 2, 3}, make([]byte, 9), {0x80, 0, 0, 0, 0, 0, 0, 0}} {
		if p, err := positionFromRowversion(b); err == nil {
			t.Errorf("positionFromRowversion(%x) = %d, want an error", b, p)
		}
	}
}
