package sqlitebus

import "sync"

// notifier wakes waiting receivers the moment a commit makes work available,
// so that in one process a message is received without any polling delay.
//
// A waiter takes a channel before it looks for work and waits on it after
// finding none; a commit closes the channel. Taking the channel first means a
// commit that lands between "looked" and "waits" is never missed.
//
// Acceptors are woken one per session a commit frees (a new session, or a
// released one with messages left), oldest waiter first, not all at once: a
// worker with more slots than shipments have work would otherwise send every
// idle slot to look, at every send, for the one session there is. A wake is
// never lost: a waiter that leaves without looking after it (its context
// ended, or it found a session by itself meanwhile) passes it on.
type notifier struct {
	mu       sync.Mutex
	acceptQ  []*acceptWaiter          // AcceptNextSession callers, oldest first
	sessions map[string]chan struct{} // Receive callers, by session: new messages
}

// acceptWaiter is one AcceptNextSession caller between two looks.
type acceptWaiter struct {
	ch    chan struct{} // closed when woken
	woken bool          // guarded by notifier.mu
}

func newNotifier() *notifier {
	return &notifier{sessions: map[string]chan struct{}{}}
}

// waitAccept registers an acceptor about to look; it is woken at the next
// commit that frees a session for it.
func (n *notifier) waitAccept() *acceptWaiter {
	w := &acceptWaiter{ch: make(chan struct{})}
	n.mu.Lock()
	n.acceptQ = append(n.acceptQ, w)
	n.mu.Unlock()
	return w
}

// doneAccept unregisters w, which will not look again on this wake: if it
// was woken, the wake goes to the next waiter.
func (n *notifier) doneAccept(w *acceptWaiter) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if w.woken {
		n.wakeAcceptLocked(1)
		return
	}
	for i, x := range n.acceptQ {
		if x == w {
			n.acceptQ = append(n.acceptQ[:i], n.acceptQ[i+1:]...)
			return
		}
	}
}

// wakeAcceptLocked wakes the k oldest acceptors.
func (n *notifier) wakeAcceptLocked(k int) {
	for ; k > 0 && len(n.acceptQ) > 0; k-- {
		w := n.acceptQ[0]
		n.acceptQ[0] = nil
		n.acceptQ = n.acceptQ[1:]
		w.woken = true
		close(w.ch)
	}
}

// sessionChan is closed at the next commit that adds messages to session id.
func (n *notifier) sessionChan(id string) <-chan struct{} {
	n.mu.Lock()
	defer n.mu.Unlock()
	ch, ok := n.sessions[id]
	if !ok {
		ch = make(chan struct{})
		n.sessions[id] = ch
	}
	return ch
}

// forget drops the channel of a session that is no longer held here.
func (n *notifier) forget(id string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if ch, ok := n.sessions[id]; ok {
		close(ch)
		delete(n.sessions, id)
	}
}

// wake wakes one acceptor per session freed (accept) and the waiters of
// sessions ids.
func (n *notifier) wake(accept int, ids []string) {
	if accept == 0 && len(ids) == 0 {
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.wakeAcceptLocked(accept)
	for _, id := range ids {
		if ch, ok := n.sessions[id]; ok {
			close(ch)
			delete(n.sessions, id)
		}
	}
}

// wakeAll wakes every waiter: another process changed the file, and we do
// not know what.
func (n *notifier) wakeAll() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.wakeAcceptLocked(len(n.acceptQ))
	for id, ch := range n.sessions {
		close(ch)
		delete(n.sessions, id)
	}
}
