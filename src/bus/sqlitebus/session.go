package sqlitebus

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dropoff-dev/dropoff/src/bus"
)

// session is the hold on one session: its lock's token, and the goroutine
// that renews the lock.
type session struct {
	q     *Queue
	id    string
	token string

	closing   chan struct{} // closed by Close: stops renewal and wakes Receive
	renewDone chan struct{} // closed when the renewal goroutine has ended
	lost      chan struct{} // closed once the lock is known lost
	loseOnce  sync.Once
	closed    atomic.Bool

	// What this holder knows of its messages, so it can skip transactions
	// whose answer it knows. Guarded by mu.
	mu sync.Mutex
	// prefetched: delivered by the accept, not yet handed to Receive.
	prefetched []*bus.ReceivedMessage
	// outstanding counts messages delivered under this lock and not settled;
	// unsure is set when a settlement's outcome is unknown. A release with
	// none outstanding, surely, has no delivered message to give back.
	outstanding int
	unsure      bool
	// drained, when set, is the session's wake channel taken before the last
	// look that found every waiting message delivered: until it is closed
	// (a commit added messages to the session) there is nothing to receive,
	// and Receive waits without looking.
	drained <-chan struct{}
}

// startSession wraps a freshly locked session and starts renewing its lock.
func (q *Queue) startSession(id, token string) (*session, error) {
	s := &session{
		q: q, id: id, token: token,
		closing:   make(chan struct{}),
		renewDone: make(chan struct{}),
		lost:      make(chan struct{}),
	}
	if !q.goOwned(s.renewLoop) {
		return nil, bus.ErrClosed // the lock runs out on its own
	}
	return s, nil
}

// ID is the session id.
func (s *session) ID() string { return s.id }

// renewLoop extends the lock every LockDuration/2 until Close, or until the
// lock turns out lost. A renewal that fails for another reason (the file is
// busy) is retried at the next tick; the lock has half its duration left.
func (s *session) renewLoop() {
	defer close(s.renewDone)
	t := time.NewTicker(max(s.q.cfg.LockDuration/2, time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-s.closing:
			return
		case <-s.q.stop:
			return
		case <-t.C:
		}
		err := s.q.writer.Do(context.Background(), s.renew)
		switch {
		case errors.Is(err, bus.ErrLockLost):
			s.markLost()
			return
		case errors.Is(err, bus.ErrClosed):
			return
		case err != nil:
			s.q.cfg.Logger.Warn("sqlitebus: renew session lock", "session", s.id, "error", err)
		}
	}
}

// renew extends the lock if it is still ours and has not run out.
func (s *session) renew(b *batch) error {
	n, err := b.exec(b.q.st.renewLock, s.id, s.token, b.now+int64(s.q.cfg.LockDuration), b.now)
	if err != nil {
		return err
	}
	if n == 0 {
		return bus.ErrLockLost
	}
	return nil
}

// checkLock fails with bus.ErrLockLost unless the session's live lock is ours.
func (s *session) checkLock(b *batch) error {
	var token sql.NullString
	var until int64
	err := b.stmt(b.q.st.lockOf).QueryRowContext(b.ctx, s.id).Scan(&token, &until)
	if errors.Is(err, sql.ErrNoRows) {
		return bus.ErrLockLost
	}
	if err != nil {
		return fmt.Errorf("lockOf: %w", err)
	}
	if token.String != s.token || until <= b.now {
		return bus.ErrLockLost
	}
	return nil
}

func (s *session) markLost() { s.loseOnce.Do(func() { close(s.lost) }) }

// usable says why the session cannot be used, if it cannot.
func (s *session) usable() error {
	select {
	case <-s.lost:
		return bus.ErrLockLost
	default:
	}
	if s.closed.Load() || s.q.isClosed() {
		return bus.ErrClosed
	}
	return nil
}

// Close releases the lock: messages received and not settled become
// deliverable again, their delivery count as it was before they were
// received. It stops the renewal and waits for it. Closing twice is harmless.
func (s *session) Close(ctx context.Context) error {
	if !s.closed.CompareAndSwap(false, true) {
		return nil
	}
	close(s.closing)
	<-s.renewDone
	defer s.q.notify.forget(s.id)
	select {
	case <-s.lost:
		return nil // nothing of ours to release
	default:
	}
	// The release is queued, not waited for: whatever the caller does next
	// (accepting the next session, say) comes after it, and its commit is
	// shared with that work. Should it fail, the lock runs out by itself.
	s.releaseLater()
	return nil
}

// release gives the lock up, if it is still ours, and waits for it.
func (s *session) release(ctx context.Context) error {
	return lockGone(s.q.writer.Do(ctx, s.releaseOp()))
}

// releaseLater hands the release to the writer and returns: it is queued
// before anything the caller does next, and Queue.Close lets it finish.
func (s *session) releaseLater() {
	s.q.writer.Submit(s.releaseOp(), func(err error) {
		if err = lockGone(err); err != nil {
			s.q.cfg.Logger.Warn("sqlitebus: release session; its lock will run out instead", "session", s.id, "error", err)
		}
	})
}

// lockGone: a lock that ran out or was taken over leaves nothing to release.
func lockGone(err error) error {
	if errors.Is(err, bus.ErrLockLost) {
		return nil
	}
	return err
}

// releaseOp is the release: the messages delivered and not settled go back
// (their delivery count as before), and the session is unlocked, or dropped
// when it has no message left. When the holder settled everything it was
// given and no send has reached the session since its last look, the
// session is most likely empty: then one statement drops it, checking the
// lock and the emptiness itself, and only if that finds otherwise does the
// release look further.
func (s *session) releaseOp() func(b *batch) error {
	s.mu.Lock()
	clean := s.outstanding == 0 && !s.unsure
	likelyEmpty := clean && len(s.prefetched) == 0 && s.drained != nil && !closed(s.drained)
	s.mu.Unlock()
	return func(b *batch) error {
		if likelyEmpty {
			n, err := b.exec(b.q.st.dropIfEmpty, s.id, s.token, b.now)
			if err != nil || n == 1 {
				return err
			}
		}
		if err := s.checkLock(b); err != nil {
			return err
		}
		var oldest int64
		var has bool
		var err error
		if clean {
			oldest, has, err = b.scalar(b.q.st.oldestSeq, s.id)
		} else {
			oldest, has, err = b.tidySession(s.id, true)
		}
		if err != nil {
			return err
		}
		if has {
			_, err = b.exec(b.q.st.unlock, s.id, oldest)
			b.fx.wakeAccept++ // free again, with messages: work for one acceptor
		} else {
			_, err = b.exec(b.q.st.dropSession, s.id)
		}
		return err
	}
}
