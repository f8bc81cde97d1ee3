-- Retention (docs/retention.md) deletes operations older than their window;
-- this index finds them without a scan. Shipments and their history are the
-- product's data and stay.
CREATE INDEX operations_by_update ON operations (last_updated_at);
