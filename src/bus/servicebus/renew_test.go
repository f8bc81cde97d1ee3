package servicebus

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus"

	"github.com/dropoff-dev/dropoff/src/bus"
)

func TestRenewDelay(t *testing.T) {
	t0 := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	const lock = 60 * time.Second
	tests := []struct {
		name        string
		now         time.Time
		lockedUntil time.Time
		lastRenewed time.Time
		want        time.Duration
	}{
		{"fresh lock, service agrees", t0, t0.Add(lock), t0, 30 * time.Second},
		{"service time unknown", t0, time.Time{}, t0, 30 * time.Second},
		{"service says the lock ends sooner (clock skew)", t0, t0.Add(20 * time.Second), t0, 10 * time.Second},
		{"service says later: our clock wins", t0, t0.Add(5 * time.Minute), t0, 30 * time.Second},
		{"service time already past: ignored", t0, t0.Add(-time.Second), t0, 30 * time.Second},
		{"part of the way through", t0.Add(10 * time.Second), t0.Add(lock), t0, 20 * time.Second},
		{"overdue: the floor, not zero", t0.Add(50 * time.Second), time.Time{}, t0, 3 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := renewDelay(tt.now, tt.lockedUntil, tt.lastRenewed, lock); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

// renewingSession is a fake whose renewals extend the lock by a full
// LockDuration from the fake clock's now, as the service does.
func renewingSession(clock *fakeClock, lock time.Duration) *fakeSession {
	f := &fakeSession{id: "ship-1", lockedUntil: clock.Now().Add(lock)}
	f.renew = func(context.Context, int) error {
		f.mu.Lock()
		f.lockedUntil = clock.Now().Add(lock)
		f.mu.Unlock()
		return nil
	}
	return f
}

func TestRenewalSchedule(t *testing.T) {
	tb := newTestBus(t, Config{Settings: bus.Settings{LockDuration: time.Minute}})
	f := renewingSession(tb.clock, time.Minute)
	s := tb.accept(t, f)

	for i := 1; i <= 3; i++ {
		tm := tb.clock.nextTimer(t)
		if tm.d != 30*time.Second {
			t.Fatalf("wait %d: got %v, want 30s (half the lock)", i, tm.d)
		}
		tb.clock.advance(tm.d)
		tm.c <- tb.clock.Now()
		eventually(t, "renewal", func() bool { n, _, _ := f.snapshot(); return n == i })
	}
	if err := s.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n, _, _ := f.snapshot(); n != 3 {
		t.Errorf("got %d renewals, want 3 (none after Close)", n)
	}
}

func TestRenewalUsesServiceLockTime(t *testing.T) {
	// The service reports a lock ending in 20s (its clock ahead of ours):
	// renew at half that, not at half the configured duration.
	tb := newTestBus(t, Config{Settings: bus.Settings{LockDuration: time.Minute}})
	f := &fakeSession{id: "ship-1", lockedUntil: tb.clock.Now().Add(20 * time.Second)}
	tb.accept(t, f)
	if tm := tb.clock.nextTimer(t); tm.d != 10*time.Second {
		t.Errorf("got %v, want 10s", tm.d)
	}
}

func TestRenewalLockLost(t *testing.T) {
	for _, code := range []azservicebus.Code{azservicebus.CodeLockLost, azservicebus.CodeConnectionLost} {
		t.Run(string(code), func(t *testing.T) {
			tb := newTestBus(t, Config{})
			f := &fakeSession{id: "ship-1", renew: func(context.Context, int) error { return sbError(code) }}
			s := tb.accept(t, f)
			// A Receive waiting for messages ends as soon as the lock is lost.
			errc := make(chan error, 1)
			go func() {
				_, err := s.Receive(context.Background(), 1)
				errc <- err
			}()
			tm := tb.clock.nextTimer(t)
			tm.c <- time.Time{}
			select {
			case err := <-errc:
				if !errors.Is(err, bus.ErrLockLost) {
					t.Errorf("Receive: got %v, want ErrLockLost", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("Receive still waiting 5s after the lock was lost")
			}
			<-s.renewalDone // the renewal stopped by itself
			if n, _, _ := f.snapshot(); n != 1 {
				t.Errorf("got %d renewals, want 1 (no retry after a lost lock)", n)
			}
		})
	}
}

func TestRenewalRetriesTransientFailures(t *testing.T) {
	tb := newTestBus(t, Config{Settings: bus.Settings{LockDuration: time.Minute}})
	f := &fakeSession{id: "ship-1"}
	f.renew = func(_ context.Context, n int) error {
		if n == 1 {
			return errors.New("server busy")
		}
		return nil
	}
	s := tb.accept(t, f)

	tm := tb.clock.nextTimer(t)
	tb.clock.advance(tm.d)
	tm.c <- time.Time{}
	// Retry soon: the floor, LockDuration/20.
	if tm = tb.clock.nextTimer(t); tm.d != 3*time.Second {
		t.Fatalf("retry after a failure: got %v, want 3s", tm.d)
	}
	tb.clock.advance(tm.d)
	tm.c <- time.Time{}
	// Success: back to half the lock.
	if tm = tb.clock.nextTimer(t); tm.d != 30*time.Second {
		t.Fatalf("after a success: got %v, want 30s", tm.d)
	}
	if err := s.usable("test"); err != nil {
		t.Errorf("session after a transient failure: got %v, want usable", err)
	}
}

func TestRenewalGivesUpWhenTheLockHasRunOut(t *testing.T) {
	tb := newTestBus(t, Config{Settings: bus.Settings{LockDuration: time.Minute}})
	f := &fakeSession{id: "ship-1", renew: func(context.Context, int) error { return errors.New("server busy") }}
	s := tb.accept(t, f)
	for s.lost.Err() == nil {
		select {
		case tm := <-tb.clock.timers:
			tb.clock.advance(tm.d)
			tm.c <- time.Time{}
		case <-s.lost.Done():
		case <-time.After(5 * time.Second):
			t.Fatal("session not marked lost within 5s")
		}
	}
	<-s.renewalDone
	if _, err := s.Receive(t.Context(), 1); !errors.Is(err, bus.ErrLockLost) {
		t.Errorf("got %v, want ErrLockLost", err)
	}
	// 30s, then retries every 3s until a minute has passed since the accept.
	if n, _, _ := f.snapshot(); n != 11 {
		t.Errorf("got %d renewal attempts, want 11", n)
	}
}

func TestCloseWaitsForARenewalInFlight(t *testing.T) {
	tb := newTestBus(t, Config{})
	started := make(chan struct{})
	var returned bool // written by the renewal goroutine, read after Close
	f := &fakeSession{id: "ship-1"}
	f.renew = func(ctx context.Context, _ int) error {
		close(started)
		<-ctx.Done() // a slow renewal, cut short by Close
		time.Sleep(10 * time.Millisecond)
		returned = true
		return ctx.Err()
	}
	s := tb.accept(t, f)
	tm := tb.clock.nextTimer(t)
	tm.c <- time.Time{}
	<-started
	if err := s.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if !returned {
		t.Error("Close returned before the renewal did")
	}
	if s.lost.Err() == nil || errors.Is(context.Cause(s.lost), bus.ErrLockLost) {
		// Close cancels the lost context with ErrClosed, not a lock loss.
		t.Errorf("after Close: cause %v, want ErrClosed", context.Cause(s.lost))
	}
}

func TestBusCloseClosesSessions(t *testing.T) {
	tb := newTestBus(t, Config{})
	f1, f2 := &fakeSession{id: "a"}, &fakeSession{id: "b"}
	s1, s2 := tb.accept(t, f1), tb.accept(t, f2)
	if err := tb.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	for _, s := range []*Session{s1, s2} {
		select {
		case <-s.renewalDone:
		default:
			t.Errorf("session %s: renewal still running after Bus.Close", s.id)
		}
	}
	for _, f := range []*fakeSession{f1, f2} {
		if _, closes, _ := f.snapshot(); closes != 1 {
			t.Errorf("session %s: receiver closed %d times, want 1", f.id, closes)
		}
	}
	if tb.sender.closes != 1 || tb.client.closes != 1 {
		t.Errorf("sender closed %d, client closed %d times; want 1 and 1", tb.sender.closes, tb.client.closes)
	}
	// The worker's own Close of a session after Bus.Close is harmless.
	if err := s1.Close(t.Context()); err != nil {
		t.Errorf("Session.Close after Bus.Close: %v", err)
	}
	if err := tb.Close(t.Context()); err != nil {
		t.Errorf("second Bus.Close: %v", err)
	}
}

func TestNoGoroutineOutlivesClose(t *testing.T) {
	before := runtime.NumGoroutine()
	tb := newTestBus(t, Config{})
	for i := range 5 {
		s := tb.accept(t, renewingSession(tb.clock, time.Minute))
		if i%2 == 0 {
			go func() { _, _ = s.Receive(context.Background(), 1) }() // waiting when the bus closes
		}
	}
	if err := tb.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	eventually(t, "goroutines back to where they were", func() bool { return runtime.NumGoroutine() <= before })
}

// StopRenewal, the contract suite's crash, stops renewing and leaves the
// receiver open: nothing releases the session before its lock runs out.
func TestStopRenewalLeavesTheSessionLocked(t *testing.T) {
	tb := newTestBus(t, Config{Settings: bus.Settings{LockDuration: time.Minute}})
	f := renewingSession(tb.clock, time.Minute)
	s := tb.accept(t, f)
	tb.clock.nextTimer(t) // the first renewal is scheduled
	StopRenewal(s)
	renewals, closes, _ := f.snapshot()
	if renewals != 0 || closes != 0 {
		t.Errorf("after StopRenewal: %d renewals, %d closes, want none of either", renewals, closes)
	}
	select {
	case tm := <-tb.clock.timers:
		t.Errorf("a renewal timer (%v) started after StopRenewal", tm.d)
	default:
	}
}
