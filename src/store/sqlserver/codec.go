package sqlserver

import (
	"database/sql"
	"time"

	"github.com/dropoff-dev/dropoff/src/operation"
	"github.com/dropoff-dev/dropoff/src/shipment"
)

// Column lists shared by the queries and the scanners below: a query selects
// them in this order, a scanner reads them in this order.
const (
	shipmentColumns  = "id, recipient, destination, weight_grams, service, status, version, created_at, updated_at"
	operationColumns = "id, kind, shipment_id, status, resource_version, error_code, error_message, created_at, last_updated_at"
)

// scanner is a *sql.Row or *sql.Rows.
type scanner interface {
	Scan(dest ...any) error
}

func shipmentDest(s *shipment.Shipment) []any {
	return []any{&s.ID, &s.Recipient, &s.Destination, &s.WeightGrams, &s.Service, &s.Status, &s.Version, &s.CreatedAt, &s.UpdatedAt}
}

// scanShipment reads shipmentColumns.
func scanShipment(r scanner) (shipment.Shipment, error) {
	var s shipment.Shipment
	err := r.Scan(shipmentDest(&s)...)
	s.CreatedAt, s.UpdatedAt = s.CreatedAt.UTC(), s.UpdatedAt.UTC()
	return s, err
}

// scanWriteShipment reads shipmentColumns followed by deleted (the write side).
func scanWriteShipment(r scanner) (shipment.Shipment, error) {
	var s shipment.Shipment
	err := r.Scan(append(shipmentDest(&s), &s.Deleted)...)
	s.CreatedAt, s.UpdatedAt = s.CreatedAt.UTC(), s.UpdatedAt.UTC()
	return s, err
}

// scanOperation reads operationColumns.
func scanOperation(r scanner) (operation.Operation, error) {
	var o operation.Operation
	var code, message sql.NullString
	err := r.Scan(&o.ID, &o.Kind, &o.ShipmentID, &o.Status, &o.ResourceVersion, &code, &message, &o.CreatedAt, &o.LastUpdatedAt)
	if code.Valid {
		o.Error = &operation.Error{Code: operation.ErrorCode(code.String), Message: message.String}
	}
	o.CreatedAt, o.LastUpdatedAt = o.CreatedAt.UTC(), o.LastUpdatedAt.UTC()
	return o, err
}

// operationArgs are the named parameters @op_id … @op_updated_at of an
// operation, in operationColumns' order.
func operationArgs(o operation.Operation) []any {
	code, message := nullStr(), nullStr()
	if o.Error != nil {
		code, message = str(string(o.Error.Code)), str(o.Error.Message)
	}
	return []any{
		sql.Named("op_id", str(o.ID)), sql.Named("op_kind", str(o.Kind)), sql.Named("op_shipment_id", str(o.ShipmentID)),
		sql.Named("op_status", str(string(o.Status))), sql.Named("op_resource_version", o.ResourceVersion),
		sql.Named("op_error_code", code), sql.Named("op_error_message", message),
		sql.Named("op_created_at", utc(o.CreatedAt)), sql.Named("op_updated_at", utc(o.LastUpdatedAt)),
	}
}

// shipmentArgs are the named parameters @s_id … @s_updated_at of a shipment.
func shipmentArgs(s shipment.Shipment) []any {
	return []any{
		sql.Named("s_id", str(s.ID)), sql.Named("s_recipient", str(s.Recipient)), sql.Named("s_destination", str(s.Destination)),
		sql.Named("s_weight_grams", int64(s.WeightGrams)), sql.Named("s_service", str(string(s.Service))),
		sql.Named("s_status", str(string(s.Status))), sql.Named("s_version", s.Version), sql.Named("s_deleted", s.Deleted),
		sql.Named("s_created_at", utc(s.CreatedAt)), sql.Named("s_updated_at", utc(s.UpdatedAt)),
	}
}

// utc prepares a time for a DATETIME2 column. The driver sends a time.Time as
// DATETIMEOFFSET, and SQL Server converts that to DATETIME2 by dropping the
// offset, not by converting to UTC: so the time must be in UTC already.
func utc(t time.Time) time.Time { return t.UTC() }

// collect scans every row and closes rows.
func collect[T any](rows *sql.Rows, scan func(scanner) (T, error)) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
