package simulate_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/dropoff-dev/dropoff/src/simulate"
	"github.com/dropoff-dev/dropoff/src/store"
)

// countingStore counts the Updates that reach it; it runs no transaction.
type countingStore struct {
	store.WriteStore // nil: only Update is used
	updates          int
}

func (s *countingStore) Update(ctx context.Context, fn func(context.Context, store.WriteTx) error) error {
	s.updates++
	return fn(ctx, nil)
}

func TestDelayedWaitsBeforeUpdate(t *testing.T) {
	inner := &countingStore{}
	const delay = 30 * time.Millisecond
	d := simulate.Delayed{WriteStore: inner, Delay: delay}
	start := time.Now()
	var ranAfter time.Duration
	err := d.Update(t.Context(), func(context.Context, store.WriteTx) error {
		ranAfter = time.Since(start)
		return nil
	})
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	if inner.updates != 1 {
		t.Errorf("got %d inner Updates, want 1", inner.updates)
	}
	if ranAfter < delay {
		t.Errorf("the transaction ran after %v, want at least %v", ranAfter, delay)
	}
}

func TestDelayedStopsWithContext(t *testing.T) {
	inner := &countingStore{}
	d := simulate.Delayed{WriteStore: inner, Delay: time.Hour}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err := d.Update(ctx, func(context.Context, store.WriteTx) error { return nil })
	if !errors.Is(err, context.Canceled) {
		t.Errorf("got error %v, want context.Canceled", err)
	}
	if inner.updates != 0 {
		t.Errorf("got %d inner Updates, want 0", inner.updates)
	}
}

func TestDelayedZeroIsPassThrough(t *testing.T) {
	inner := &countingStore{}
	want := errors.New("fn failed")
	err := simulate.Delayed{WriteStore: inner}.Update(t.Context(), func(context.Context, store.WriteTx) error { return want })
	if !errors.Is(err, want) {
		t.Errorf("got error %v, want %v", err, want)
	}
}
