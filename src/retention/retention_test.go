package retention

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// fakeRows are rows with ages; Trim deletes those older than before.
type fakeRows struct {
	at    []time.Time
	calls int
	err   error
}

func (f *fakeRows) trim(_ context.Context, before time.Time, limit int) (int, error) {
	f.calls++
	if f.err != nil {
		return 0, f.err
	}
	n := 0
	kept := f.at[:0]
	for _, t := range f.at {
		if n < limit && t.Before(before) {
			n++
			continue
		}
		kept = append(kept, t)
	}
	f.at = kept
	return n, nil
}

func TestOnceTrimsEachJobToItsWindow(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	ops := &fakeRows{}
	for i := range 25 {
		ops.at = append(ops.at, now.Add(-time.Duration(i)*time.Hour)) // 0h … 24h old
	}
	feed := &fakeRows{at: []time.Time{now.Add(-time.Minute), now.Add(-time.Second)}}
	compacted := 0
	reg := prometheus.NewRegistry()
	tr, err := New(Config{Batch: 4, Now: func() time.Time { return now }, Registerer: reg,
		Compact: func(context.Context) error { compacted++; return nil }},
		Job{Name: "operations", Window: 12 * time.Hour, Trim: ops.trim},
		Job{Name: "feed", Window: 0, Trim: feed.trim})
	if err != nil {
		t.Fatal(err)
	}
	deleted, err := tr.Once(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if deleted["operations"] != 12 || len(ops.at) != 13 {
		t.Errorf("operations: deleted %d, %d left; want 12 (13h to 24h old) and 13", deleted["operations"], len(ops.at))
	}
	if ops.calls != 4 { // 4 + 4 + 4, then a batch with nothing: done
		t.Errorf("operations: %d deletes, want 4 (three full batches, then one that finds none)", ops.calls)
	}
	if deleted["feed"] != 2 || compacted != 1 {
		t.Errorf("feed: deleted %d, compacted %d; want 2 and 1", deleted["feed"], compacted)
	}
	if got := testutil.ToFloat64(tr.deleted.WithLabelValues("operations")); got != 12 {
		t.Errorf("metric: %v operations deleted, want 12", got)
	}
	if deleted, _ := tr.Once(t.Context()); deleted["operations"] != 0 || compacted != 1 {
		t.Errorf("a second pass deleted %v and compacted (%d in all); want nothing", deleted, compacted)
	}
}

func TestOnceBoundsAPassAndGoesOnAfterAFailure(t *testing.T) {
	now := time.Now()
	backlog := &fakeRows{}
	for range 100 {
		backlog.at = append(backlog.at, now.Add(-48*time.Hour))
	}
	broken := &fakeRows{err: errors.New("the database is down")}
	tr, err := New(Config{Batch: 10, MaxBatches: 3},
		Job{Name: "broken", Window: time.Hour, Trim: broken.trim},
		Job{Name: "backlog", Window: time.Hour, Trim: backlog.trim})
	if err != nil {
		t.Fatal(err)
	}
	deleted, err := tr.Once(t.Context())
	if err == nil {
		t.Error("a failing job: no error")
	}
	if deleted["backlog"] != 30 {
		t.Errorf("backlog: deleted %d in one pass, want 30 (3 batches of 10): a pass is bounded", deleted["backlog"])
	}
}

func TestNewRefusesBadJobs(t *testing.T) {
	if _, err := New(Config{}, Job{Name: "x", Window: -time.Hour, Trim: (&fakeRows{}).trim}); err == nil {
		t.Error("a negative window: no error")
	}
	if _, err := New(Config{}, Job{Name: "x"}); err == nil {
		t.Error("no trim: no error")
	}
}
