package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/dropoff-dev/dropoff/src/operation"
	"github.com/dropoff-dev/dropoff/src/shipment"
	"github.com/dropoff-dev/dropoff/src/store"
)

// The change feed is the changes table of the write database. Each entry is
// a self-contained snapshot (the operation and the shipment as the command
// left them) stored as JSON, so the projector never reads the live tables,
// which may have moved on since.
//
// Why a reader can never skip an entry: positions come from AUTOINCREMENT
// inside the write transaction, and write transactions are serialised (BEGIN
// IMMEDIATE). The transaction holding position n commits or rolls back before
// another one can take a higher position (the Updates sharing a transaction,
// group commit, commit their positions together), so every snapshot a reader
// sees holds a prefix of the feed. A rolled-back position (with its
// transaction, or with its Update's savepoint) is simply taken again by the
// next writer, and no reader saw it.

// changeDoc is the JSON payload of one feed entry. Its field names are a
// stored format, independent of the Go field names.
type changeDoc struct {
	Operation operationDoc `json:"operation"`
	Shipment  *shipmentDoc `json:"shipment,omitempty"`
	Change    string       `json:"change,omitempty"`
}

type operationDoc struct {
	ID              string           `json:"id"`
	Kind            string           `json:"kind"`
	ShipmentID      string           `json:"shipmentId"`
	Status          string           `json:"status"`
	ResourceVersion int64            `json:"resourceVersion"`
	Error           *operation.Error `json:"error,omitempty"`
	CreatedAt       string           `json:"createdAt"`
	LastUpdatedAt   string           `json:"lastUpdatedAt"`
}

type shipmentDoc struct {
	ID          string `json:"id"`
	Recipient   string `json:"recipient"`
	Destination string `json:"destination"`
	WeightGrams int    `json:"weightGrams"`
	Service     string `json:"service"`
	Status      string `json:"status"`
	Version     int64  `json:"version"`
	CreatedAt   string `json:"createdAt"`
	UpdatedAt   string `json:"updatedAt"`
	Deleted     bool   `json:"deleted,omitempty"`
}

// appendChange adds r's feed entry; the position is allocated here, inside
// the serialised write transaction.
func (t *writeTx) appendChange(ctx context.Context, r store.Record) error {
	doc := changeDoc{Operation: toOperationDoc(r.Operation), Change: string(r.Change)}
	if s := r.Shipment; s != nil {
		doc.Shipment = &shipmentDoc{
			ID: s.ID, Recipient: s.Recipient, Destination: s.Destination, WeightGrams: s.WeightGrams,
			Service: string(s.Service), Status: string(s.Status), Version: s.Version,
			CreatedAt: formatTime(s.CreatedAt), UpdatedAt: formatTime(s.UpdatedAt), Deleted: s.Deleted,
		}
	}
	payload, err := json.Marshal(doc)
	if err != nil {
		return fmt.Errorf("encode change: %w", err)
	}
	if _, err := t.stmt(ctx, t.st.appendChange).ExecContext(ctx,
		r.Operation.ID, r.Operation.ShipmentID, string(r.Change), string(payload), formatTime(t.now()),
		nullString(r.Traceparent)); err != nil {
		return fmt.Errorf("append change: %w", err)
	}
	return nil
}

func toOperationDoc(o operation.Operation) operationDoc {
	d := operationDoc{
		ID: o.ID, Kind: o.Kind, ShipmentID: o.ShipmentID, Status: string(o.Status),
		ResourceVersion: o.ResourceVersion,
		CreatedAt:       formatTime(o.CreatedAt), LastUpdatedAt: formatTime(o.LastUpdatedAt),
	}
	if o.Error != nil {
		e := *o.Error
		d.Error = &e
	}
	return d
}

// ReadChanges returns up to limit entries after position after, in order.
func (s *WriteStore) ReadChanges(ctx context.Context, after int64, limit int) (_ []store.Change, err error) {
	defer func() { err = classify(err) }()
	if limit < 1 {
		return nil, fmt.Errorf("sqlite: read changes: limit %d must be positive", limit)
	}
	rows, err := s.st.readChanges.QueryContext(ctx, after, limit)
	if err != nil {
		return nil, fmt.Errorf("read changes after %d: %w", after, err)
	}
	defer rows.Close()
	var changes []store.Change
	for rows.Next() {
		var position int64
		var payload, committed string
		var traceparent sql.NullString
		if err := rows.Scan(&position, &payload, &committed, &traceparent); err != nil {
			return nil, fmt.Errorf("read changes after %d: %w", after, err)
		}
		c, err := decodeChange(position, payload, committed)
		if err != nil {
			return nil, fmt.Errorf("read change %d: %w", position, err)
		}
		c.Traceparent = traceparent.String
		changes = append(changes, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read changes after %d: %w", after, err)
	}
	return changes, nil
}

// Head returns the highest committed position (0 for an empty feed).
func (s *WriteStore) Head(ctx context.Context) (int64, error) {
	var head int64
	if err := s.st.head.QueryRowContext(ctx).Scan(&head); err != nil {
		return 0, fmt.Errorf("read feed head: %w", classify(err))
	}
	return head, nil
}

// Identity returns the feed's identity, written once by the schema's
// migration (0002_feed_identity.sql).
func (s *WriteStore) Identity(ctx context.Context) (string, error) {
	var id string
	if err := s.db.read.QueryRowContext(ctx, "SELECT id FROM feed_identity").Scan(&id); err != nil {
		return "", fmt.Errorf("read feed identity: %w", classify(err))
	}
	return id, nil
}

func decodeChange(position int64, payload, committed string) (store.Change, error) {
	var doc changeDoc
	if err := json.Unmarshal([]byte(payload), &doc); err != nil {
		return store.Change{}, fmt.Errorf("decode payload: %w", err)
	}
	c := store.Change{Position: position, Change: shipment.ChangeType(doc.Change)}
	var err error
	if c.CommittedAt, err = parseTime(committed); err != nil {
		return store.Change{}, err
	}
	if c.Operation, err = fromOperationDoc(doc.Operation); err != nil {
		return store.Change{}, err
	}
	if d := doc.Shipment; d != nil {
		s := shipment.Shipment{
			ID: d.ID, Recipient: d.Recipient, Destination: d.Destination, WeightGrams: d.WeightGrams,
			Service: shipment.Service(d.Service), Status: shipment.Status(d.Status), Version: d.Version,
			Deleted: d.Deleted,
		}
		if s.CreatedAt, s.UpdatedAt, err = parseTimes(d.CreatedAt, d.UpdatedAt); err != nil {
			return store.Change{}, err
		}
		c.Shipment = &s
	}
	return c, nil
}

func fromOperationDoc(d operationDoc) (operation.Operation, error) {
	o := operation.Operation{
		ID: d.ID, Kind: d.Kind, ShipmentID: d.ShipmentID, Status: operation.Status(d.Status),
		ResourceVersion: d.ResourceVersion, Error: d.Error,
	}
	var err error
	o.CreatedAt, o.LastUpdatedAt, err = parseTimes(d.CreatedAt, d.LastUpdatedAt)
	return o, err
}

func parseTimes(a, b string) (time.Time, time.Time, error) {
	ta, err := parseTime(a)
	if err != nil {
		return time.Time{}, time.Time{}, err
	}
	tb, err := parseTime(b)
	return ta, tb, err
}
