package backoff

import (
	"context"
	"testing"
	"time"
)

func TestDelayDoublesUpToTheCap(t *testing.T) {
	p := Policy{Initial: 100 * time.Millisecond, Max: time.Second}
	tests := []struct {
		n    int
		want time.Duration
	}{
		{0, 100 * time.Millisecond}, {1, 100 * time.Millisecond}, {2, 200 * time.Millisecond},
		{3, 400 * time.Millisecond}, {4, 800 * time.Millisecond}, {5, time.Second}, {1000, time.Second},
	}
	for _, tt := range tests {
		if got := p.Delay(tt.n); got != tt.want {
			t.Errorf("Delay(%d) = %v, want %v", tt.n, got, tt.want)
		}
	}
	if got := (Policy{Initial: time.Second, Max: time.Millisecond}).Delay(3); got != time.Second {
		t.Errorf("Delay with Max below Initial = %v, want Initial", got)
	}
	if got := (Policy{}).Delay(3); got != 0 {
		t.Errorf("zero Policy Delay = %v, want 0", got)
	}
}

func TestSleepEndsWithItsContext(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if Sleep(ctx, time.Hour) {
		t.Error("Sleep on a cancelled context reported the whole wait")
	}
	if !Sleep(t.Context(), time.Millisecond) {
		t.Error("Sleep(1ms) did not report the whole wait")
	}
}

func TestWithDefaults(t *testing.T) {
	got, err := Policy{Initial: time.Second}.WithDefaults()
	if err != nil || got != (Policy{Initial: time.Second, Max: Default.Max}) {
		t.Errorf("WithDefaults = %+v, %v; want the given Initial and the default Max", got, err)
	}
	for _, bad := range []Policy{{Initial: -1}, {Max: -1}, {Initial: time.Second, Max: time.Millisecond}} {
		if _, err := bad.WithDefaults(); err == nil {
			t.Errorf("WithDefaults(%+v) took it", bad)
		}
	}
}
