package sqlitebus

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"github.com/dropoff-dev/dropoff/src/bus"
)

// PeekDeadLetters returns up to max dead letters with a sequence number at or
// above from, oldest first. It only reads, so it does not wait for the writer.
func (q *Queue) PeekDeadLetters(ctx context.Context, from int64, max int) ([]*bus.ReceivedMessage, error) {
	if q.isClosed() {
		return nil, bus.ErrClosed
	}
	if max < 1 {
		return nil, nil
	}
	rows, err := q.st.peekDLQ.QueryContext(ctx, from, max)
	if err != nil {
		return nil, fmt.Errorf("sqlitebus: peek dead letters: %w", err)
	}
	defer rows.Close()
	var out []*bus.ReceivedMessage
	for rows.Next() {
		m := new(bus.ReceivedMessage)
		if err := scanMessage(rows, m, &m.DeadLetterReason, &m.DeadLetterDescription); err != nil {
			return nil, fmt.Errorf("sqlitebus: peek dead letters: %w", err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlitebus: peek dead letters: %w", err)
	}
	return out, nil
}

// ResubmitDeadLetter puts a copy of dead letter seq back on the queue — same
// session, subject, content type, properties, body and time to live, a new
// message id and sequence number, delivery count 0 — and removes the dead
// letter, in one transaction. bus.ErrNotFound if there is no such dead letter.
func (q *Queue) ResubmitDeadLetter(ctx context.Context, seq int64) error {
	err := q.writer.Do(ctx, func(b *batch) error {
		var m bus.ReceivedMessage
		var reason, description string
		err := scanMessage(b.stmt(b.q.st.getDLQ).QueryRowContext(b.ctx, seq), &m, &reason, &description)
		if errors.Is(err, sql.ErrNoRows) {
			return bus.ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("getDLQ: %w", err)
		}
		o := outgoing{
			id: uuid.NewString(), session: m.SessionID, subject: m.Subject,
			contentType: m.ContentType, body: m.Body, ttl: m.TimeToLive,
		}
		if len(m.Properties) > 0 {
			if o.properties, err = json.Marshal(m.Properties); err != nil {
				return fmt.Errorf("encode properties: %w", err)
			}
		}
		if _, err := b.exec(b.q.st.rememberID, o.id, b.now, b.now); err != nil {
			return err
		}
		if err := b.enqueue(o); err != nil {
			return err
		}
		_, err = b.exec(b.q.st.deleteDLQ, seq)
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlitebus: resubmit dead letter %d: %w", seq, err)
	}
	return nil
}

// purgePage is how many dead letters a purge reads and removes at a time.
const purgePage = 100

// PurgeDeadLetters removes the dead letters, a page at a time: it reads a
// page, calls before on each message in order, then removes those before
// accepted in one transaction. A message dead-lettered meanwhile is not in
// the page, so it stays; one before fails on stays too, and the purge stops
// there with the error.
func (q *Queue) PurgeDeadLetters(ctx context.Context, before func(context.Context, *bus.ReceivedMessage) error) (int, error) {
	removed := 0
	for from := int64(0); ; {
		page, err := q.PeekDeadLetters(ctx, from, purgePage)
		if err != nil {
			return removed, fmt.Errorf("sqlitebus: purge dead letters: %w", err)
		}
		var accepted []int64
		var failed error
		for _, m := range page {
			if failed = before(ctx, m); failed != nil {
				failed = fmt.Errorf("sqlitebus: purge dead letters: message %d stays: %w", m.SequenceNumber, failed)
				break
			}
			accepted = append(accepted, m.SequenceNumber)
		}
		n, err := q.deleteDeadLetters(ctx, accepted)
		removed += n
		switch {
		case err != nil:
			return removed, fmt.Errorf("sqlitebus: purge dead letters: %w", err)
		case failed != nil:
			return removed, failed
		case len(page) < purgePage:
			return removed, nil
		}
		from = page[len(page)-1].SequenceNumber + 1
	}
}

// deleteDeadLetters removes the dead letters seqs in one transaction and
// returns how many were there.
func (q *Queue) deleteDeadLetters(ctx context.Context, seqs []int64) (int, error) {
	if len(seqs) == 0 {
		return 0, nil
	}
	var n int64
	err := q.writer.Do(ctx, func(b *batch) error {
		n = 0
		for _, seq := range seqs {
			k, err := b.exec(b.q.st.deleteDLQ, seq)
			if err != nil {
				return err
			}
			n += k
		}
		return nil
	})
	return int(n), err
}
