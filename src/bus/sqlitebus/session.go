package sqlitebus

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/dropoff-dev/dropoff/src/bus"
)

// candidates is how many free sessions one accept attempt looks at. Most
// attempts lock the first; the rest are for sessions that turn out empty.
const candidates = 4

// AcceptNextSession locks the free session whose oldest message has waited
// longest, and returns it. A session is free when it has messages and no
// live lock. It waits for one until ctx is done: bus.ErrNoSession when ctx's
// deadline passes first, ctx.Err() when ctx is cancelled.
func (q *Queue) AcceptNextSession(ctx context.Context) (bus.Session, error) {
	for {
		w := q.notify.waitAccept() // before looking, so no commit is missed
		s, retryAt, err := q.tryAccept(ctx)
		if s != nil || err != nil {
			q.notify.doneAccept(w)
			return s, err
		}
		if err := q.waitForSession(ctx, w, retryAt); err != nil {
			return nil, err
		}
	}
}

// tryAccept looks once: a session it locked, or none and when to look again
// at the latest (the earliest lock expiry; 0 for none).
func (q *Queue) tryAccept(ctx context.Context) (bus.Session, int64, error) {
	token := uuid.NewString()
	var id string
	var retryAt int64
	var first []*bus.ReceivedMessage
	var drained <-chan struct{}
	err := q.do(ctx, func(b *batch) (err error) {
		id, first, drained, retryAt, err = b.lockNextSession(token)
		return err
	})
	switch {
	case err != nil && ctx.Err() != nil:
		return nil, 0, acceptErr(ctx)
	case err != nil:
		return nil, 0, fmt.Errorf("sqlitebus: accept session: %w", err)
	case id != "" && ctx.Err() != nil:
		// Locked just as the caller gave up: hand it back at once, with
		// the messages it delivered.
		s := &session{q: q, id: id, token: token, outstanding: len(first)}
		_ = s.release(context.WithoutCancel(ctx)) // if this fails, the lock simply expires
		return nil, 0, acceptErr(ctx)
	case id != "":
		s, err := q.startSession(id, token)
		if err != nil {
			return nil, 0, err // not s: a nil *session is not a nil Session
		}
		s.prefetched, s.outstanding, s.drained = first, len(first), drained
		return s, 0, nil
	}
	return nil, retryAt, nil
}

// acceptErr is what AcceptNextSession returns when ctx ends: "no work" for a
// deadline, the cancellation itself otherwise.
func acceptErr(ctx context.Context) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return bus.ErrNoSession
	}
	return ctx.Err()
}

// waitForSession waits for a commit that may free a session, or for the
// moment the earliest lock runs out (retryAt, 0 for none), or for ctx.
// Leaving other than by its wake, it unregisters w, passing on a wake that
// came meanwhile.
func (q *Queue) waitForSession(ctx context.Context, w *acceptWaiter, retryAt int64) error {
	var expiry <-chan time.Time
	if retryAt != 0 {
		t := time.NewTimer(time.Duration(retryAt - q.now()))
		defer t.Stop()
		expiry = t.C
	}
	select {
	case <-w.ch:
		return nil // woken: w is off the list, and the caller looks next
	case <-expiry:
		q.notify.doneAccept(w)
		return nil
	case <-ctx.Done():
		q.notify.doneAccept(w)
		return acceptErr(ctx)
	case <-q.stop:
		q.notify.doneAccept(w)
		return bus.ErrClosed
	}
}

// lockNextSession locks a free session that still has messages: first one
// whose lock ran out (its holder died or hung, so its messages are tidied as
// taken over), else the free session whose oldest message has waited
// longest. It delivers the session's first messages (up to Prefetch) in the
// same transaction, which saves the first Receive a transaction of its own,
// and returns them with, when they were all there was, the channel that a
// later send to the session will close. When there is no session it returns
// the time the earliest live lock runs out.
func (b *batch) lockNextSession(token string) (id string, first []*bus.ReceivedMessage, drained <-chan struct{}, retryAt int64, err error) {
	until := b.now + int64(b.q.cfg.LockDuration)
	for _, pick := range []struct {
		query    string
		args     []any
		takeOver bool
	}{
		{"expiredSessions", []any{b.now, candidates}, true},
		{"freeSessions", []any{candidates}, false},
	} {
		ids, err := b.strings(pick.query, pick.args...)
		if err != nil {
			return "", nil, nil, 0, err
		}
		for _, id := range ids {
			n, err := b.exec("lockSession", id, token, until, b.now)
			if err != nil {
				return "", nil, nil, 0, err
			}
			if n == 0 {
				continue
			}
			if pick.takeOver {
				if _, _, err := b.tidySession(id, false); err != nil {
					return "", nil, nil, 0, err
				}
			}
			// Released or new, no message is marked delivered (a release
			// gives them all back); taken over, tidySession just made them
			// deliverable again.
			if b.q.cfg.Prefetch > 0 {
				wake := b.q.notify.sessionChan(id) // inside the transaction: no later send is missed
				first, more, err := b.deliver(id, token, b.q.cfg.Prefetch)
				if err != nil {
					return "", nil, nil, 0, err
				}
				if len(first) > 0 {
					if !more {
						drained = wake
					}
					return id, first, drained, 0, nil
				}
			}
			if _, has, err := b.scalar("oldestSeq", id); err != nil || has {
				// With prefetch, nothing deliverable yet messages left means
				// they are all expired or dead-lettered meanwhile; never
				// drop a session that has any.
				return id, nil, nil, 0, err
			}
			if _, err := b.exec("dropSession", id); err != nil {
				return "", nil, nil, 0, err
			}
		}
		if len(ids) == candidates {
			return "", nil, nil, b.now, nil // all empty so far; there may be more: look again now
		}
	}
	next, _, err := b.scalar("nextUnlock", b.now)
	return "", nil, nil, next, err
}

// tidySession deals with the messages of session id still marked delivered,
// when no live lock can be holding them any more, and returns the session's
// oldest sequence number and whether it has any message left.
//
//   - released (its holder closed the session): each goes back as if it had
//     never been delivered, its delivery count lowered again. That is Service
//     Bus's rule (a session closed with messages unsettled does not raise
//     their count; docs/bus.md), and it means a worker that gives a session
//     back after a failure spends no delivery of the messages it had received
//     behind the failing one and never tried.
//   - taken over (the lock ran out: its holder died or hung): each is made
//     deliverable again with its raised count, since it may have been
//     attempted, or dead-lettered once that count has reached the maximum.
func (b *batch) tidySession(id string, released bool) (oldest int64, has bool, err error) {
	rows, err := b.query("delivered", id)
	if err != nil {
		return 0, false, err
	}
	type held struct{ seq, count int64 }
	var all []held
	for rows.Next() {
		var h held
		if err := rows.Scan(&h.seq, &h.count); err != nil {
			rows.Close()
			return 0, false, fmt.Errorf("delivered: %w", err)
		}
		all = append(all, h)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return 0, false, fmt.Errorf("delivered: %w", err)
	}
	limit := int64(b.q.cfg.MaxDeliveryCount)
	for _, h := range all {
		if released {
			_, err = b.exec("returnUndelivered", h.seq)
		} else if h.count >= limit {
			err = b.deadLetter(h.seq, bus.ReasonMaxDeliveryCountExceeded, fmt.Sprintf(
				"delivered %d times (the maximum is %d) and not settled before its session lock ended", h.count, limit))
		} else {
			_, err = b.exec("makeAvailable", h.seq)
		}
		if err != nil {
			return 0, false, err
		}
	}
	return b.scalar("oldestSeq", id)
}

// strings runs the statement name and returns its one text column.
func (b *batch) strings(name string, args ...any) ([]string, error) {
	rows, err := b.query(name, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

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
		err := s.q.do(context.Background(), s.renew)
		switch {
		case errors.Is(err, bus.ErrLockLost):
			s.markLost()
			return
		case errors.Is(err, bus.ErrClosed):
			return
		case err != nil:
			s.q.cfg.Logger.Warn("sqlitebus: renew session lock", "session", s.id, "err", err)
		}
	}
}

// renew extends the lock if it is still ours and has not run out.
func (s *session) renew(b *batch) error {
	n, err := b.exec("renewLock", s.id, s.token, b.now+int64(s.q.cfg.LockDuration), b.now)
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
	err := b.stmt("lockOf").QueryRowContext(b.ctx, s.id).Scan(&token, &until)
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
	return lockGone(s.q.do(ctx, s.releaseOp()))
}

// releaseLater hands the release to the writer and returns: it is queued
// before anything the caller does next, and Queue.Close lets it finish.
func (s *session) releaseLater() {
	s.q.submit(s.releaseOp(), func(err error) {
		if err = lockGone(err); err != nil {
			s.q.cfg.Logger.Warn("sqlitebus: release session; its lock will run out instead", "session", s.id, "err", err)
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
// when it has no message left.
func (s *session) releaseOp() func(b *batch) error {
	s.mu.Lock()
	clean := s.outstanding == 0 && !s.unsure
	s.mu.Unlock()
	return func(b *batch) error {
		if err := s.checkLock(b); err != nil {
			return err
		}
		var oldest int64
		var has bool
		var err error
		if clean {
			oldest, has, err = b.scalar("oldestSeq", s.id)
		} else {
			oldest, has, err = b.tidySession(s.id, true)
		}
		if err != nil {
			return err
		}
		if has {
			_, err = b.exec("unlock", s.id, oldest)
			b.fx.wakeAccept++ // free again, with messages: work for one acceptor
		} else {
			_, err = b.exec("dropSession", s.id)
		}
		return err
	}
}
