package defaults

import (
	"strings"
	"testing"
	"time"
)

func TestFill(t *testing.T) {
	var c struct {
		n, given int
		d        time.Duration
	}
	c.given = 7
	if err := Fill("test config", Of("N", &c.n, 3), Of("Given", &c.given, 3), Of("D", &c.d, time.Second)); err != nil {
		t.Fatal(err)
	}
	if c.n != 3 || c.given != 7 || c.d != time.Second {
		t.Errorf("filled %+v, want the zero fields at their defaults and the given one kept", c)
	}
	c.n, c.d = -1, -time.Second
	err := Fill("test config", Of("N", &c.n, 3), Of("D", &c.d, time.Second))
	if err == nil || !strings.Contains(err.Error(), "test config: N must not be negative") ||
		!strings.Contains(err.Error(), "test config: D must not be negative") {
		t.Errorf("Fill of negative fields = %v, want both named", err)
	}
}
