package sqlitebus

import "sync"

// notifier wakes waiting receivers the moment a commit makes work available,
// so that in one process a message is received without any polling delay.
//
// A waiter takes a channel before it looks for work and waits on it after
// finding none; a commit closes the channel (and the next waiter gets a new
// one). Taking the channel first means a commit that lands between "looked"
// and "waits" is never missed.
type notifier struct {
	mu       sync.Mutex
	accept   chan struct{}            // AcceptNextSession callers: a session may be free
	sessions map[string]chan struct{} // Receive callers, by session: new messages
}

func newNotifier() *notifier {
	return &notifier{accept: make(chan struct{}), sessions: map[string]chan struct{}{}}
}

// acceptChan is closed at the next commit that may free a session.
func (n *notifier) acceptChan() <-chan struct{} {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.accept
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

// wake wakes the accept waiters (if accept) and the waiters of sessions ids.
func (n *notifier) wake(accept bool, ids []string) {
	if !accept && len(ids) == 0 {
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if accept {
		close(n.accept)
		n.accept = make(chan struct{})
	}
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
	close(n.accept)
	n.accept = make(chan struct{})
	for id, ch := range n.sessions {
		close(ch)
		delete(n.sessions, id)
	}
}
