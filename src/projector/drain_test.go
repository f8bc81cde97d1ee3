package projector

import (
	"context"
	"fmt"
)

// drain applies every entry up to the feed's head as it is when drain
// starts, then returns. It returns the first error instead of retrying.
func drain(ctx context.Context, p *Projector) error {
	target, err := p.feed.Head(ctx)
	if err != nil {
		return fmt.Errorf("drain: read feed head: %w", err)
	}
	cp, err := p.attach(ctx)
	if err != nil {
		return fmt.Errorf("drain: %w", err)
	}
	for cp.Position < target {
		n, next, err := p.step(ctx, cp)
		if err != nil {
			return fmt.Errorf("drain: %w", err)
		}
		if n == 0 {
			return fmt.Errorf("drain: the feed's head is %d, but nothing follows %d", target, cp.Position)
		}
		cp = next
	}
	return nil
}
