package sqlserver

import (
	"strings"
	"testing"
)

func TestFits(t *testing.T) {
	for _, tt := range []struct {
		s    string
		n    int
		want bool
	}{
		{"", 64, true},
		{strings.Repeat("a", 64), 64, true},
		{strings.Repeat("a", 65), 64, false},
		{strings.Repeat("é", 64), 64, true},  // 128 bytes, 64 code units
		{strings.Repeat("😀", 32), 64, true},  // two code units each
		{strings.Repeat("😀", 33), 64, false}, // 66 code units
	} {
		if got := fits(tt.s, tt.n); got != tt.want {
			t.Errorf("fits(%d bytes, %d) = %v, want %v", len(tt.s), tt.n, got, tt.want)
		}
	}
}

// TestLookupsOfLongKeysFindNothing: a key longer than the column is not cut
// to one that is in it; the lookup finds nothing without asking the server.
func TestLookupsOfLongKeysFindNothing(t *testing.T) {
	c, w, p := tripStores(t)
	long := strings.Repeat("a", 65)
	if _, ok, err := p.Shipment(t.Context(), long); ok || err != nil {
		t.Errorf("Shipment(65 characters) = %v, %v; want not found", ok, err)
	}
	if _, ok, err := p.Operation(t.Context(), long); ok || err != nil {
		t.Errorf("Operation(65 characters) = %v, %v; want not found", ok, err)
	}
	if trips, _ := c.reset(); trips != 0 {
		t.Errorf("%d round trips for keys that cannot exist, want 0", trips)
	}
	_ = w
}
