-- Retention (docs/retention.md) deletes operations older than their window;
-- this index finds them without a scan. Shipments and their history are the
-- product's data and stay.

IF NOT EXISTS (SELECT 1 FROM sys.indexes WHERE name = N'ix_operations_by_update' AND object_id = OBJECT_ID(N'dbo.operations'))
    CREATE NONCLUSTERED INDEX ix_operations_by_update ON dbo.operations (last_updated_at);
