package sqlite

import (
	"database/sql"
	"fmt"
	"time"

	"github.com/dropoff-dev/dropoff/src/operation"
	"github.com/dropoff-dev/dropoff/src/shipment"
)

// This file converts between Go values and columns, the same way for both
// databases.

// timeLayout is RFC 3339 in UTC with all nine fractional digits: it keeps
// every nanosecond (times round-trip exactly), reads well in the sqlite3
// shell, and sorts as text in time order.
const timeLayout = "2006-01-02T15:04:05.000000000Z07:00"

func formatTime(t time.Time) string { return t.UTC().Format(timeLayout) }

func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("parse time %q: %w", s, err)
	}
	return t, nil
}

// parseNullTime reads a nullable time column; NULL is the zero time.
func parseNullTime(s sql.NullString) (time.Time, error) {
	if !s.Valid {
		return time.Time{}, nil
	}
	return parseTime(s.String)
}

// nullString is s for a nullable column: "" is NULL.
func nullString(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

// scanner is a *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

// shipmentColumns are the columns scanShipment reads, in its order. The write
// database adds deleted; the projection holds live shipments only.
const shipmentColumns = "id, recipient, destination, weight_grams, service, status, version, created_at, updated_at"

// scanShipment reads shipmentColumns, then extra into their destinations.
func scanShipment(row scanner, extra ...any) (shipment.Shipment, error) {
	var s shipment.Shipment
	var created, updated string
	dest := append([]any{&s.ID, &s.Recipient, &s.Destination, &s.WeightGrams,
		&s.Service, &s.Status, &s.Version, &created, &updated}, extra...)
	if err := row.Scan(dest...); err != nil {
		return shipment.Shipment{}, err
	}
	var err error
	if s.CreatedAt, err = parseTime(created); err != nil {
		return shipment.Shipment{}, err
	}
	if s.UpdatedAt, err = parseTime(updated); err != nil {
		return shipment.Shipment{}, err
	}
	return s, nil
}

// shipmentArgs are s's values for shipmentColumns.
func shipmentArgs(s shipment.Shipment) []any {
	return []any{s.ID, s.Recipient, s.Destination, s.WeightGrams, string(s.Service),
		string(s.Status), s.Version, formatTime(s.CreatedAt), formatTime(s.UpdatedAt)}
}

// operationColumns are the columns of an operations table, in scanOperation's order.
const operationColumns = "id, kind, shipment_id, status, resource_version, error_code, error_message, created_at, last_updated_at"

func scanOperation(row scanner) (operation.Operation, error) {
	var o operation.Operation
	var code, message sql.NullString
	var created, updated string
	if err := row.Scan(&o.ID, &o.Kind, &o.ShipmentID, &o.Status, &o.ResourceVersion,
		&code, &message, &created, &updated); err != nil {
		return operation.Operation{}, err
	}
	if code.Valid {
		o.Error = &operation.Error{Code: operation.ErrorCode(code.String), Message: message.String}
	}
	var err error
	if o.CreatedAt, err = parseTime(created); err != nil {
		return operation.Operation{}, err
	}
	if o.LastUpdatedAt, err = parseTime(updated); err != nil {
		return operation.Operation{}, err
	}
	return o, nil
}

// operationArgs are o's values for operationColumns; no error is NULL.
func operationArgs(o operation.Operation) []any {
	var code, message sql.NullString
	if o.Error != nil {
		code = sql.NullString{String: string(o.Error.Code), Valid: true}
		message = sql.NullString{String: o.Error.Message, Valid: true}
	}
	return []any{o.ID, o.Kind, o.ShipmentID, string(o.Status), o.ResourceVersion,
		code, message, formatTime(o.CreatedAt), formatTime(o.LastUpdatedAt)}
}

// placeholders returns n comma-separated question marks.
func placeholders(n int) string {
	b := make([]byte, 0, 2*n)
	for i := range n {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '?')
	}
	return string(b)
}
