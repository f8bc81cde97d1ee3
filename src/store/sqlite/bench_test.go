package sqlite_test

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dropoff-dev/dropoff/src/internal/cputime"
	"github.com/dropoff-dev/dropoff/src/store"
	"github.com/dropoff-dev/dropoff/src/store/sqlite"
)

// BenchmarkRecord measures one command at a time: one Update recording a new
// shipment, its operation and its feed entry, at each synchronous setting.
// With nobody else writing there is nothing to group, so it reports one
// commit per command.
func BenchmarkRecord(b *testing.B) {
	for _, mode := range []string{"FULL", "NORMAL"} {
		b.Run("synchronous="+mode, func(b *testing.B) {
			s := openWrite(b, sqlite.Config{Synchronous: mode})
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

// BenchmarkUpdateParallel measures commands recorded by 16 concurrent
// callers, as the worker's sessions record them at saturation. Group commit
// lets them share transactions: it reports commands per second and commits
// per command (below 1 when commits are shared).
func BenchmarkUpdateParallel(b *testing.B) {
	const callers = 16
	for _, mode := range []string{"FULL", "NORMAL"} {
		b.Run("synchronous="+mode, func(b *testing.B) {
			s := openWrite(b, sqlite.Config{Synchronous: mode})
			var next atomic.Int64
			var wg sync.WaitGroup
			b.ResetTimer()
			for range callers {
				wg.Go(func() {
					for i := next.Add(1); i <= int64(b.N); i = next.Add(1) {
						if err := record(b.Context(), s, created(fmt.Sprintf("p%d", i), time.Unix(i, 0))); err != nil {
							b.Errorf("Record: %v", err)
							return
						}
					}
				})
			}
			wg.Wait()
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "commands/s")
			b.ReportMetric(float64(s.Commits())/float64(b.N), "commits/command")
		})
	}
}

// BenchmarkProjectionOperation measures the query API's hottest read, GET
// /v1/operations/{id}: many goroutines reading one applied operation from
// the projection's read pool at once.
func BenchmarkProjectionOperation(b *testing.B) {
	p := openProjection(b, sqlite.Config{})
	r := created("s1", time.Unix(1, 0))
	c := store.Change{Position: 1, Operation: r.Operation, Shipment: r.Shipment, Change: r.Change, CommittedAt: time.Unix(1, 0)}
	if err := p.Apply(b.Context(), []store.Change{c}, 1); err != nil {
		b.Fatalf("Apply: %v", err)
	}
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			o, ok, err := p.Operation(b.Context(), r.Operation.ID)
			if err != nil || !ok || o.ID != r.Operation.ID {
				b.Errorf("Operation = %q, %v, %v; want %q, true, nil", o.ID, ok, err, r.Operation.ID)
				return
			}
		}
	})
}

// BenchmarkProjectionApply measures the projector's write: batches of 32
// changes, each a new shipment, applied with the caller's cancellable
// context as the projector applies them. It reports CPU per change.
func BenchmarkProjectionApply(b *testing.B) {
	const batch = 32
	p := openProjection(b, sqlite.Config{})
	changes := make([]store.Change, batch)
	pos := int64(0)
	start := cputime.Used()
	for b.Loop() {
		for i := range changes {
			pos++
			at := time.Unix(pos, 0)
			r := created(fmt.Sprintf("a%d", pos), at)
			changes[i] = store.Change{Position: pos, Operation: r.Operation, Shipment: r.Shipment, Change: r.Change, CommittedAt: at}
		}
		if err := p.Apply(b.Context(), changes, pos); err != nil {
			b.Fatalf("Apply: %v", err)
		}
	}
	b.ReportMetric(float64((cputime.Used()-start).Microseconds())/float64(pos), "cpu-µs/change")
}
