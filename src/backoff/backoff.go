// Package backoff paces retries: a delay that doubles from an initial value
// up to a cap, and a sleep that ends early when its context does. The worker,
// the projector and the program's start-up share it. Standard library only.
package backoff

import (
	"context"
	"errors"
	"time"
)

// Policy is a doubling backoff: Initial before the first retry, twice that
// before the second, and so on, never more than Max.
type Policy struct {
	Initial, Max time.Duration
}

// Default is the policy a retrying role takes where its configuration
// leaves one zero: 100ms, doubling to 5s.
var Default = Policy{Initial: 100 * time.Millisecond, Max: 5 * time.Second}

// WithDefaults fills a zero Initial or Max from Default, and refuses a
// negative one or a Max below Initial.
func (p Policy) WithDefaults() (Policy, error) {
	if p.Initial < 0 || p.Max < 0 {
		return p, errors.New("backoff: Initial and Max must not be negative")
	}
	if p.Initial == 0 {
		p.Initial = Default.Initial
	}
	if p.Max == 0 {
		p.Max = Default.Max
	}
	if p.Max < p.Initial {
		return p, errors.New("backoff: Max must be at least Initial")
	}
	return p, nil
}

// Delay is the wait before retry n (n >= 1; n < 1 counts as 1). A zero or
// negative Initial is no wait; a Max below Initial caps at Initial.
func (p Policy) Delay(n int) time.Duration {
	if p.Initial <= 0 {
		return 0
	}
	ceiling := max(p.Max, p.Initial)
	d := p.Initial
	for i := 1; i < n && d < ceiling; i++ {
		d *= 2
	}
	return min(d, ceiling)
}

// Sleep waits for d or until ctx is done, whichever comes first, and reports
// whether the whole wait passed.
func Sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
