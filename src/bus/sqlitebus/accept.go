package sqlitebus

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
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
	err := q.writer.Do(ctx, func(b *batch) (err error) {
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
//
// Locks run out rarely, so the look for them is made at most every
// expiredLookEvery while free sessions are found, and always before giving up:
// a session whose holder died waits that much longer past its lock's end,
// and the accepts in between save a statement each.
func (b *batch) lockNextSession(token string) (id string, first []*bus.ReceivedMessage, drained <-chan struct{}, retryAt int64, err error) {
	until := b.now + int64(b.q.cfg.LockDuration)
	lookedExpired := false
	// lookExpired tries the sessions whose lock ran out; done says the accept
	// has its answer in the results: a session, a look to make again now, or
	// a failure.
	lookExpired := func() (done bool) {
		lookedExpired = true
		ids, qerr := b.strings(b.q.st.expiredSessions, b.now, candidates)
		if qerr != nil {
			err = qerr
			return true
		}
		for _, eid := range ids {
			n, lerr := b.exec(b.q.st.lockSession, eid, token, until, b.now)
			if lerr != nil {
				err = lerr
				return true
			}
			if n == 0 {
				continue
			}
			found, f, d, cerr := b.claim(eid, token, true)
			if cerr != nil {
				err = cerr
				return true
			}
			if found {
				id, first, drained = eid, f, d
				return true
			}
		}
		if len(ids) == candidates {
			retryAt = b.now // all empty so far; there may be more: look again now
			return true
		}
		b.q.expiredLookAt = b.now + int64(expiredLookEvery(b.q.cfg.LockDuration))
		return false
	}
	if b.now >= b.q.expiredLookAt && lookExpired() {
		return id, first, drained, retryAt, err
	}
	for range candidates {
		var fid string
		err := b.stmt(b.q.st.lockFree).QueryRowContext(b.ctx, token, until).Scan(&fid)
		if errors.Is(err, sql.ErrNoRows) {
			break // no free session
		}
		if err != nil {
			return "", nil, nil, 0, fmt.Errorf("lockFree: %w", err)
		}
		b.fx.wrote = true
		b.changes++
		found, first, drained, err := b.claim(fid, token, false)
		if err != nil || found {
			return fid, first, drained, 0, err
		}
		// It was empty and is dropped; the next one.
	}
	if !lookedExpired && lookExpired() {
		return id, first, drained, retryAt, err
	}
	next, _, nerr := b.scalar(b.q.st.nextUnlock, b.now)
	return "", nil, nil, next, nerr
}

// expiredLookEvery is how often an accept looks for sessions whose lock ran
// out while it keeps finding free ones: a tenth of the lock's duration, at
// most 100ms.
func expiredLookEvery(lock time.Duration) time.Duration {
	return min(lock/10, 100*time.Millisecond)
}

// claim is the rest of an accept once session id is locked under token:
// tidy it if it was taken over, deliver its first messages, and keep it
// (found) if it has any. A session left with no message at all is dropped.
func (b *batch) claim(id, token string, takeOver bool) (found bool, first []*bus.ReceivedMessage, drained <-chan struct{}, err error) {
	if takeOver {
		if _, _, err := b.tidySession(id, false); err != nil {
			return false, nil, nil, err
		}
	}
	// Released or new, no message is marked delivered (a release gives them
	// all back); taken over, tidySession just made them deliverable again.
	if b.q.cfg.Prefetch > 0 {
		wake := b.q.notify.sessionChan(id) // inside the transaction: no later send is missed
		first, more, err := b.deliver(id, token, b.q.cfg.Prefetch)
		if err != nil {
			return false, nil, nil, err
		}
		if len(first) > 0 {
			if !more {
				drained = wake
			}
			return true, first, drained, nil
		}
	}
	if _, has, err := b.scalar(b.q.st.oldestSeq, id); err != nil || has {
		// With prefetch, nothing deliverable yet messages left means they
		// are all expired or dead-lettered meanwhile; never drop a session
		// that has any.
		return err == nil, nil, nil, err
	}
	if _, err := b.exec(b.q.st.dropSession, id); err != nil {
		return false, nil, nil, err
	}
	return false, nil, nil, nil
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
	rows, err := b.query(b.q.st.delivered, id)
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
			_, err = b.exec(b.q.st.returnUndelivered, h.seq)
		} else if h.count >= limit {
			err = b.deadLetter(h.seq, bus.ReasonMaxDeliveryCountExceeded, fmt.Sprintf(
				"delivered %d times (the maximum is %d) and not settled before its session lock ended", h.count, limit))
		} else {
			_, err = b.exec(b.q.st.makeAvailable, h.seq)
		}
		if err != nil {
			return 0, false, err
		}
	}
	return b.scalar(b.q.st.oldestSeq, id)
}

// strings runs the statement s and returns its one text column.
func (b *batch) strings(s *sql.Stmt, args ...any) ([]string, error) {
	rows, err := b.query(s, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, fmt.Errorf("%s: %w", b.q.st.name(s), err)
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
