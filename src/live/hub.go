package live

import (
	"errors"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/dropoff-dev/dropoff/src/defaults"
)

// Config sizes a Hub. Zero values take the defaults noted on each field;
// negative values are refused.
type Config struct {
	// Recent is how many events the ring keeps for the recent past: what a
	// page opened mid-lab is shown first, and where a reconnecting stream
	// resumes. Default 2048.
	Recent int
	// Buffer is how many events a subscriber may fall behind before it is
	// dropped. Default 512: a page on a slow network keeps up with a burst.
	Buffer int
	// MaxSubscribers bounds the streams open at once; past it Subscribe
	// refuses (ErrFull). Default 64.
	MaxSubscribers int
	// Now is the clock (nil: time.Now).
	Now func() time.Time
}

// ErrFull: the Hub has MaxSubscribers subscribers already.
var ErrFull = errors.New("live: too many subscribers")

// ErrClosed: the Hub is closed (the process is stopping).
var ErrClosed = errors.New("live: hub closed")

// Hub fans the pipeline's events out to subscribers and keeps the recent
// past. Its methods are safe for concurrent use. Publish never blocks.
type Hub struct {
	cfg Config
	// epoch names this Hub's run in event ids ("<epoch>-<seq>"), so that an id
	// from before a restart is not taken for one of this run.
	epoch string

	mu     sync.Mutex
	seq    uint64
	ring   []Event // the last len(ring) events, oldest first once full: ring[head]
	head   int
	subs   map[*Subscription]struct{}
	closed bool
}

// New returns an empty Hub.
func New(cfg Config) (*Hub, error) {
	err := defaults.Fill("live config",
		defaults.Of("Recent", &cfg.Recent, 2048),
		defaults.Of("Buffer", &cfg.Buffer, 512),
		defaults.Of("MaxSubscribers", &cfg.MaxSubscribers, 64))
	if err != nil {
		return nil, err
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Hub{cfg: cfg, epoch: strconv.FormatInt(cfg.Now().UnixNano(), 36),
		ring: make([]Event, 0, cfg.Recent), subs: map[*Subscription]struct{}{}}, nil
}

// Publish gives e its id (and its time, if it has none), keeps it in the
// ring and offers it to every subscriber. It never blocks: a subscriber
// whose buffer is full is dropped, and its stream ends. A closed Hub drops
// the event.
func (h *Hub) Publish(e Event) {
	if e.At.IsZero() {
		e.At = h.cfg.Now()
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	h.seq++
	e.ID = h.epoch + "-" + strconv.FormatUint(h.seq, 10)
	if len(h.ring) < cap(h.ring) {
		h.ring = append(h.ring, e)
	} else {
		h.ring[h.head] = e
		h.head = (h.head + 1) % len(h.ring)
	}
	for s := range h.subs {
		select {
		case s.c <- e:
		default:
			s.dropped = true
			h.removeLocked(s)
		}
	}
}

// Subscribe starts a subscription to every event published from now on,
// and returns with it the recent past the subscriber has not seen: the
// events after lastID, when the ring still holds it (resumed), or else
// every event the ring holds (resumed false: events were missed, or lastID
// is "" or from another run). Backlog and subscription join without a gap.
func (h *Hub) Subscribe(lastID string) (s *Subscription, backlog []Event, resumed bool, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case h.closed:
		return nil, nil, false, ErrClosed
	case len(h.subs) >= h.cfg.MaxSubscribers:
		return nil, nil, false, ErrFull
	}
	recent := h.recentLocked()
	backlog, resumed = recent, false
	if seq, ok := h.seqOf(lastID); ok {
		oldest := h.seq - uint64(len(recent)) // the seq before the ring's first
		if seq >= oldest && seq <= h.seq {
			backlog, resumed = recent[seq-oldest:], true
		}
	}
	s = &Subscription{c: make(chan Event, h.cfg.Buffer), hub: h}
	h.subs[s] = struct{}{}
	return s, backlog, resumed, nil
}

// Close ends every subscription and drops events published later. A process
// closes its Hub when it stops, so that no stream holds its shutdown.
func (h *Hub) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for s := range h.subs {
		h.removeLocked(s)
	}
}

// recentLocked copies the ring, oldest first.
func (h *Hub) recentLocked() []Event {
	out := make([]Event, 0, len(h.ring))
	out = append(out, h.ring[h.head:]...)
	return append(out, h.ring[:h.head]...)
}

// seqOf reads the sequence number of an id of this run.
func (h *Hub) seqOf(id string) (uint64, bool) {
	epoch, seq, ok := strings.Cut(id, "-")
	if !ok || epoch != h.epoch {
		return 0, false
	}
	n, err := strconv.ParseUint(seq, 10, 64)
	return n, err == nil
}

func (h *Hub) removeLocked(s *Subscription) {
	if _, ok := h.subs[s]; ok {
		delete(h.subs, s)
		close(s.c)
	}
}

// Subscription is one subscriber's stream of events.
type Subscription struct {
	c       chan Event
	hub     *Hub
	dropped bool // guarded by hub.mu
}

// Events delivers the events in order. It is closed when the subscription
// ends: Close, a closed Hub, or a subscriber that fell Buffer events behind
// (Dropped).
func (s *Subscription) Events() <-chan Event { return s.c }

// Dropped reports whether the Hub dropped the subscription for falling
// behind.
func (s *Subscription) Dropped() bool {
	s.hub.mu.Lock()
	defer s.hub.mu.Unlock()
	return s.dropped
}

// Close ends the subscription. It may be called more than once.
func (s *Subscription) Close() {
	s.hub.mu.Lock()
	defer s.hub.mu.Unlock()
	s.hub.removeLocked(s)
}
