package projector

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/dropoff-dev/dropoff/src/backoff"
)

func testConfig() Config {
	return Config{BatchSize: 64, PollInterval: 5 * time.Millisecond, Retry: backoff.Policy{Initial: time.Millisecond, Max: 4 * time.Millisecond}}
}

func newProjector(t *testing.T, f *fakeFeed, p *fakeProjection, cfg Config) *Projector {
	t.Helper()
	pr, err := New(f, p, cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return pr
}

// run starts Run until the test ends or stop is called; stop cancels it and
// returns its error once it has returned.
func run(t *testing.T, pr *Projector) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- pr.Run(ctx) }()
	stopped := false
	var err error
	stop = func() error {
		if !stopped {
			stopped = true
			cancel()
			select {
			case err = <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("Run did not return within 10s of cancel")
			}
		}
		return err
	}
	t.Cleanup(func() { stop() })
	return stop
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func checkExactlyOnce(t *testing.T, f *fakeFeed, p *fakeProjection) {
	t.Helper()
	st := p.state()
	if diff := cmp.Diff(f.positions(), st.applied); diff != "" {
		t.Errorf("applied positions differ from the feed (-feed +applied):\n%s", diff)
	}
	if st.resent != 0 {
		t.Errorf("got %d entries sent again at or below the checkpoint, want 0", st.resent)
	}
	if st.badHead != 0 {
		t.Errorf("got %d batches with a feed head below their last position, want 0", st.badHead)
	}
}

// TestRunAppliesInOrderExactlyOnce: Run applies a long feed in order, each
// entry once, keeps following it as it grows, and exports its position.
func TestRunAppliesInOrderExactlyOnce(t *testing.T) {
	f, p := &fakeFeed{}, &fakeProjection{}
	f.add(1000, 1)
	reg := prometheus.NewRegistry()
	cfg := testConfig()
	cfg.Registerer = reg
	pr := newProjector(t, f, p, cfg)
	run(t, pr)
	waitFor(t, "the first 1000 entries", func() bool { return p.state().checkpoint == 1000 })
	f.add(10, 1)
	waitFor(t, "the entries added while running", func() bool { return p.state().checkpoint == 1010 })
	checkExactlyOnce(t, f, p)

	metrics := []struct {
		name string
		c    prometheus.Collector
		want float64
	}{
		{"applied_total", pr.metrics.appliedTotal, 1010},
		{"checkpoint", pr.metrics.checkpoint, 1010},
		{"feed_head", pr.metrics.feedHead, 1010},
		{"lag_entries", pr.metrics.lagEntries, 0},
	}
	for _, m := range metrics {
		if got := testutil.ToFloat64(m.c); got != m.want {
			t.Errorf("%s: got %v, want %v", m.name, got, m.want)
		}
	}
	if got := testutil.ToFloat64(pr.metrics.lagSeconds); got <= 0 {
		t.Errorf("lag_seconds: got %v, want > 0", got)
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var visible uint64
	for _, f := range families {
		if f.GetName() == "dropoff_projector_accept_to_visible_seconds" {
			visible = f.GetMetric()[0].GetHistogram().GetSampleCount()
		}
	}
	if visible != 1010 {
		t.Errorf("accept-to-visible observations: %d, want one per entry: 1010", visible)
	}
}

// TestRestartContinuesFromCheckpoint: a new projector on the same projection
// starts where the last one stopped, with no repeat.
func TestRestartContinuesFromCheckpoint(t *testing.T) {
	f, p := &fakeFeed{}, &fakeProjection{}
	f.add(100, 1)
	if err := drain(t.Context(), newProjector(t, f, p, testConfig())); err != nil {
		t.Fatalf("first Drain: %v", err)
	}
	f.add(50, 1)
	stop := run(t, newProjector(t, f, p, testConfig()))
	waitFor(t, "the rest applied", func() bool { return p.state().checkpoint == 150 })
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	f.add(5, 1)
	if err := drain(t.Context(), newProjector(t, f, p, testConfig())); err != nil {
		t.Fatalf("last Drain: %v", err)
	}
	checkExactlyOnce(t, f, p)
}

// TestFailuresAreRetriedWithoutSkipping: failed reads and applies, and an
// apply that committed but reported failure, all end with every entry
// applied once. Positions have gaps, as a rowversion feed has.
func TestFailuresAreRetriedWithoutSkipping(t *testing.T) {
	tests := []struct {
		name                        string
		readErrs, failNext, lostAck int
	}{
		{"failed reads", 3, 0, 0},
		{"failed applies", 0, 3, 0},
		{"applies committed but reported failed", 0, 0, 2},
		{"all of them", 2, 2, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, p := &fakeFeed{readErrs: tt.readErrs}, &fakeProjection{failNext: tt.failNext, lostAcks: tt.lostAck}
			f.add(300, 7)
			run(t, newProjector(t, f, p, testConfig()))
			waitFor(t, "the feed applied", func() bool { return p.state().checkpoint == 300*7 })
			checkExactlyOnce(t, f, p)
		})
	}
}

// TestDrainStopsAtHead: Drain applies up to the head it saw and returns.
func TestDrainStopsAtHead(t *testing.T) {
	f, p := &fakeFeed{}, &fakeProjection{}
	if err := drain(t.Context(), newProjector(t, f, p, testConfig())); err != nil {
		t.Fatalf("Drain of an empty feed: %v", err)
	}
	f.add(500, 2)
	if err := drain(t.Context(), newProjector(t, f, p, testConfig())); err != nil {
		t.Fatalf("Drain: %v", err)
	}
	checkExactlyOnce(t, f, p)

	p.failNext = 1
	f.add(1, 1)
	if err := drain(t.Context(), newProjector(t, f, p, testConfig())); err == nil {
		t.Errorf("Drain with a failing apply: got nil error, want one")
	}
}

// TestRunReturnsOnCancel: Run returns nil on cancel, with no goroutine left,
// even while it backs off from failures.
func TestRunReturnsOnCancel(t *testing.T) {
	baseline := runtime.NumGoroutine()
	f, p := &fakeFeed{readErrs: 1 << 30}, &fakeProjection{}
	cfg := testConfig()
	cfg.Retry = backoff.Policy{Initial: time.Hour, Max: time.Hour}
	stop := run(t, newProjector(t, f, p, cfg))
	waitFor(t, "a failed read", func() bool { f.mu.Lock(); defer f.mu.Unlock(); return f.readErrs < 1<<30 })
	if err := stop(); err != nil {
		t.Errorf("Run: got %v, want nil", err)
	}
	waitFor(t, "the projector's goroutines to end", func() bool { return runtime.NumGoroutine() <= baseline })
}

func TestNewRejectsBadConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
	}{
		{"negative batch", Config{BatchSize: -1}},
		{"negative poll interval", Config{PollInterval: -time.Second}},
		{"cap below base backoff", Config{Retry: backoff.Policy{Initial: time.Second, Max: time.Millisecond}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New(&fakeFeed{}, &fakeProjection{}, tt.cfg); err == nil {
				t.Errorf("New: got nil error, want one")
			}
		})
	}
}

// TestReadySaysWhenStuck: while no step succeeds for StallAfter (the feed
// cannot be read), Ready fails with the reason; once steps succeed again it
// passes.
func TestReadySaysWhenStuck(t *testing.T) {
	f, p := &fakeFeed{}, &fakeProjection{}
	f.add(3, 1)
	f.readErrs = 1 << 30
	cfg := testConfig()
	cfg.StallAfter = 50 * time.Millisecond
	pr := newProjector(t, f, p, cfg)
	if err := pr.Ready(t.Context()); err != nil {
		t.Fatalf("Ready at start: %v", err)
	}
	run(t, pr)
	waitFor(t, "Ready to fail", func() bool { return pr.Ready(t.Context()) != nil })
	if err := pr.Ready(t.Context()); !errors.Is(err, errFakeDown) {
		t.Errorf("Ready = %v, want the feed's error in it", err)
	}
	f.mu.Lock()
	f.readErrs = 0
	f.mu.Unlock()
	waitFor(t, "Ready to pass again", func() bool { return pr.Ready(t.Context()) == nil })
	waitFor(t, "the entries applied", func() bool { return p.state().checkpoint == 3 })
}
