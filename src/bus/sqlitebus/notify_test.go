package sqlitebus

import "testing"

// A commit that frees one session wakes one acceptor, the oldest; a woken
// acceptor that leaves without looking passes its wake on; another process's
// commit wakes them all.
func TestAcceptorsAreWokenOnePerSession(t *testing.T) {
	n := newNotifier()
	a, b, c := n.waitAccept(), n.waitAccept(), n.waitAccept()
	n.wake(1, nil)
	if !closed(a.ch) || closed(b.ch) || closed(c.ch) {
		t.Fatalf("one session freed: woken a %v, b %v, c %v; want a only", closed(a.ch), closed(b.ch), closed(c.ch))
	}
	n.doneAccept(b) // b leaves unwoken: nothing to pass on
	n.wake(1, nil)
	if !closed(c.ch) {
		t.Fatal("the next wake did not reach c, the only one left")
	}
	d, e := n.waitAccept(), n.waitAccept()
	n.wake(1, nil)
	n.doneAccept(d) // woken, but leaving without looking: the wake goes to e
	if !closed(e.ch) {
		t.Fatal("a wake was lost when its acceptor left")
	}
	f, g := n.waitAccept(), n.waitAccept()
	n.wakeAll()
	if !closed(f.ch) || !closed(g.ch) {
		t.Fatal("wakeAll left an acceptor asleep")
	}
	if len(n.acceptQ) != 0 {
		t.Errorf("%d acceptors still queued, want none", len(n.acceptQ))
	}
}
