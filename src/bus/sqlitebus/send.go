package sqlitebus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/dropoff-dev/dropoff/src/bus"
)

// outgoing is a message ready for the writer: checked and encoded by the
// caller's goroutine, so the writer only writes.
type outgoing struct {
	id, session, subject, contentType string
	properties, body                  []byte
	ttl                               time.Duration
}

// Send stores msgs in one transaction, shared with whatever else is waiting
// for the writer, and returns once it has committed. A message whose ID was
// sent within the duplicate window is accepted and dropped.
func (q *Queue) Send(ctx context.Context, msgs ...bus.Message) error {
	out := make([]outgoing, len(msgs))
	for i, m := range msgs {
		o, err := q.prepareMessage(m)
		if err != nil {
			return err // names the adapter and the message already
		}
		out[i] = o
	}
	if len(out) == 0 {
		return nil
	}
	err := q.writer.Do(ctx, func(b *batch) error {
		for _, o := range out {
			if err := b.send(o); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return q.noteDamage(fmt.Errorf("sqlitebus: send %d messages: %w", len(out), err))
	}
	return nil
}

// prepareMessage checks m and encodes its properties. Like Service Bus, it
// gives a message without an ID a fresh one, and caps its time to live at the
// queue's default.
func (q *Queue) prepareMessage(m bus.Message) (outgoing, error) {
	if m.SessionID == "" {
		return outgoing{}, errors.New("sqlitebus: message has no SessionID: the queue requires sessions")
	}
	if m.TimeToLive < 0 {
		return outgoing{}, fmt.Errorf("sqlitebus: message %s: negative TimeToLive %v", m.ID, m.TimeToLive)
	}
	o := outgoing{
		id: m.ID, session: m.SessionID, subject: m.Subject, contentType: m.ContentType,
		body: m.Body, ttl: m.TimeToLive,
	}
	if o.id == "" {
		o.id = uuid.NewString()
	}
	if o.ttl == 0 || o.ttl > q.cfg.DefaultTimeToLive {
		o.ttl = q.cfg.DefaultTimeToLive
	}
	if len(m.Properties) > 0 {
		p, err := json.Marshal(m.Properties)
		if err != nil {
			return outgoing{}, fmt.Errorf("message %s: encode properties: %w", m.ID, err)
		}
		o.properties = p
	}
	return o, nil
}

// send writes one message, unless its id was seen within the window.
func (b *batch) send(o outgoing) error {
	// rememberID inserts the id, or refreshes it if it was last seen before
	// the window; it changes nothing (n == 0) for a duplicate.
	n, err := b.exec(b.q.st.rememberID, o.id, b.now, b.now-int64(b.q.cfg.DuplicateWindow))
	if err != nil || n == 0 {
		return err
	}
	if err := b.enqueue(o); err != nil {
		return err
	}
	b.fx.sent++
	return nil
}

// enqueue inserts the message, makes sure its session has a row, and wakes
// whoever waits for it after commit.
func (b *batch) enqueue(o outgoing) error {
	seq, err := b.insert(b.q.st.insertMessage, o.id, o.session, o.subject, o.contentType,
		o.properties, o.body, int64(o.ttl), b.now, b.now+int64(o.ttl))
	if err != nil {
		return err
	}
	added, err := b.exec(b.q.st.addSession, o.session, seq)
	if err != nil {
		return err
	}
	// A new session is work for one acceptor. A session that had a row
	// already is either free (an acceptor is on its way) or held (its
	// holder is woken below, and its release wakes an acceptor if needed).
	b.fx.wakeAccept += int(added)
	b.fx.wakeSessions = append(b.fx.wakeSessions, o.session)
	return nil
}
