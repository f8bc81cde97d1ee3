package projector

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/dropoff-dev/dropoff/src/operation"
	"github.com/dropoff-dev/dropoff/src/store"
)

var errFakeDown = errors.New("fake: database unreachable")

// fakeFeed is an in-memory change feed. Positions may have gaps, as a
// rowversion-based feed has.
type fakeFeed struct {
	mu       sync.Mutex
	identity string // "" reads as "feed-1"
	changes  []store.Change
	readErrs int // fail the next n reads
	reads    int // ReadChanges calls
}

func (f *fakeFeed) Identity(ctx context.Context) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.identity == "" {
		return "feed-1", nil
	}
	return f.identity, nil
}

// add appends n entries, each position step apart from the last.
func (f *fakeFeed) add(n int, step int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var pos int64
	if len(f.changes) > 0 {
		pos = f.changes[len(f.changes)-1].Position
	}
	for range n {
		pos += step
		f.changes = append(f.changes, store.Change{
			Position:    pos,
			Operation:   operation.Operation{ID: fmt.Sprintf("op-%d", pos), Status: operation.Succeeded, CreatedAt: time.Now()},
			CommittedAt: time.Now(),
		})
	}
}

func (f *fakeFeed) positions() []int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]int64, len(f.changes))
	for i, c := range f.changes {
		out[i] = c.Position
	}
	return out
}

func (f *fakeFeed) ReadChanges(ctx context.Context, after int64, limit int) ([]store.Change, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads++
	if f.readErrs > 0 {
		f.readErrs--
		return nil, errFakeDown
	}
	var out []store.Change
	for _, c := range f.changes {
		if c.Position > after && len(out) < limit {
			out = append(out, c)
		}
	}
	return out, nil
}

func (f *fakeFeed) Head(ctx context.Context) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.changes) == 0 {
		return 0, nil
	}
	return f.changes[len(f.changes)-1].Position, nil
}

// fakeProjection is an in-memory projection that keeps its checkpoint with
// its data, as the real ones do, and records what it was asked to apply.
type fakeProjection struct {
	mu         sync.Mutex
	checkpoint int64
	cpOp       string // the operation at the checkpoint
	following  string
	applied    []int64 // positions committed, in order
	resent     int     // entries received at or below the checkpoint
	badHead    int     // batches whose feedHead was below their last position
	failNext   int     // the next n Applies fail and keep nothing
	lostAcks   int     // the next n Applies commit but report a failure
}

func (p *fakeProjection) Apply(ctx context.Context, changes []store.Change, feedHead int64) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.failNext > 0 {
		p.failNext--
		return errFakeDown
	}
	if feedHead < changes[len(changes)-1].Position {
		p.badHead++
	}
	for _, c := range changes {
		if c.Position <= p.checkpoint {
			p.resent++ // skipped, as the contract says; counted to catch a projector that resends
			continue
		}
		p.applied = append(p.applied, c.Position)
		p.checkpoint, p.cpOp = c.Position, c.Operation.ID
	}
	if p.lostAcks > 0 {
		p.lostAcks--
		return errors.New("fake: connection reset before the commit was acknowledged")
	}
	return nil
}

func (p *fakeProjection) Checkpoint(ctx context.Context) (store.Checkpoint, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return store.Checkpoint{Position: p.checkpoint, OperationID: p.cpOp, FeedIdentity: p.following}, nil
}

func (p *fakeProjection) Follow(ctx context.Context, identity string) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.following == "" {
		p.following = identity
	}
	return p.following, nil
}

type projectionState struct {
	checkpoint      int64
	applied         []int64
	resent, badHead int
}

func (p *fakeProjection) state() projectionState {
	p.mu.Lock()
	defer p.mu.Unlock()
	return projectionState{p.checkpoint, append([]int64(nil), p.applied...), p.resent, p.badHead}
}
