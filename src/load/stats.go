package load

import (
	"slices"
	"sync"
	"time"
)

// Percentile returns the p-th percentile (0 < p ≤ 100) of sorted by the
// nearest-rank method: the smallest value with at least p% of the values at
// or below it. Zero for no values.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(p/100*float64(len(sorted))+0.999999999) - 1
	return sorted[min(max(rank, 0), len(sorted)-1)]
}

// Latencies summarises a set of durations.
type Latencies struct {
	Count              int
	P50, P90, P99, Max time.Duration
}

// summarize sorts ds in place and summarises it.
func summarize(ds []time.Duration) Latencies {
	slices.Sort(ds)
	l := Latencies{Count: len(ds), P50: Percentile(ds, 50), P90: Percentile(ds, 90), P99: Percentile(ds, 99)}
	if len(ds) > 0 {
		l.Max = ds[len(ds)-1]
	}
	return l
}

// recorder collects durations from many goroutines.
type recorder struct {
	mu sync.Mutex
	ds []time.Duration
}

func (r *recorder) add(d time.Duration) {
	r.mu.Lock()
	r.ds = append(r.ds, d)
	r.mu.Unlock()
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.ds)
}

// summary summarises a copy of what was recorded so far.
func (r *recorder) summary() Latencies {
	r.mu.Lock()
	ds := slices.Clone(r.ds)
	r.mu.Unlock()
	return summarize(ds)
}

// errorCounts counts errors by kind, from many goroutines.
type errorCounts struct {
	mu sync.Mutex
	m  map[string]int64
}

func (e *errorCounts) add(kind string) {
	e.mu.Lock()
	if e.m == nil {
		e.m = map[string]int64{}
	}
	e.m[kind]++
	e.mu.Unlock()
}

func (e *errorCounts) snapshot() (map[string]int64, int64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	var total int64
	out := make(map[string]int64, len(e.m))
	for k, v := range e.m {
		out[k], total = v, total+v
	}
	return out, total
}
