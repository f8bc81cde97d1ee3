-- Retention (docs/retention.md) deletes operations and idempotency keys
-- older than their window; these indexes find them without a scan. The feed
-- needs none: it is trimmed from its lowest positions, its clustered key.

IF NOT EXISTS (SELECT 1 FROM sys.indexes WHERE name = N'ix_operations_by_update' AND object_id = OBJECT_ID(N'dbo.operations'))
    CREATE NONCLUSTERED INDEX ix_operations_by_update ON dbo.operations (last_updated_at);
GO

IF NOT EXISTS (SELECT 1 FROM sys.indexes WHERE name = N'ix_idempotency_keys_by_age' AND object_id = OBJECT_ID(N'dbo.idempotency_keys'))
    CREATE NONCLUSTERED INDEX ix_idempotency_keys_by_age ON dbo.idempotency_keys (created_at);
