package cputime_test

import (
	"runtime"
	"testing"
	"time"

	"github.com/dropoff-dev/dropoff/src/internal/cputime"
)

// TestUsedGrowsWithWork spins until the process has used 20ms more CPU
// than at the start, and fails if that takes more than 10 seconds of wall
// time: a reading stuck at zero or a unit off by a factor of 100 fails.
func TestUsedGrowsWithWork(t *testing.T) {
	if runtime.GOOS != "windows" && runtime.GOOS != "linux" && runtime.GOOS != "darwin" && runtime.GOOS != "freebsd" {
		t.Skipf("cputime reads nothing on %s", runtime.GOOS)
	}
	start, began := cputime.Used(), time.Now()
	if start <= 0 {
		t.Fatalf("Used() = %v at the start; want a positive time (the test binary has run already)", start)
	}
	x := 0
	for cputime.Used()-start < 20*time.Millisecond {
		if time.Since(began) > 10*time.Second {
			t.Fatalf("Used() grew by %v in %v of spinning; want 20ms", cputime.Used()-start, time.Since(began))
		}
		for i := range 100000 {
			x += i
		}
	}
	if spent := cputime.Used() - start; spent > time.Since(began)*time.Duration(runtime.NumCPU())+50*time.Millisecond {
		t.Errorf("Used() grew by %v in %v of wall time on %d CPUs: more than possible", spent, time.Since(began), runtime.NumCPU())
	}
	_ = x
}
