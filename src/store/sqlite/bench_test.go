package sqlite_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/dropoff-dev/dropoff/src/store/sqlite"
)

// BenchmarkRecord measures one command: one Update recording a new shipment,
// its operation and its feed entry, at each synchronous setting. It reports
// commits per command, which must be 1.
func BenchmarkRecord(b *testing.B) {
	for _, sync := range []string{"FULL", "NORMAL"} {
		b.Run("synchronous="+sync, func(b *testing.B) {
			s := openWrite(b, sqlite.Config{Synchronous: sync})
			i := 0
			for b.Loop() {
				i++
				if err := record(b.Context(), s, created(fmt.Sprintf("b%d", i), time.Unix(int64(i), 0))); err != nil {
					b.Fatalf("Record: %v", err)
				}
			}
			b.ReportMetric(float64(s.Commits())/float64(i), "commits/command")
		})
	}
}
