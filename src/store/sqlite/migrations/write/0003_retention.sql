-- Retention (docs/retention.md) deletes operations and idempotency keys
-- older than their window; these indexes find them without a scan. The feed
-- needs none: it is trimmed from its lowest positions, which are its oldest.
CREATE INDEX operations_by_update ON operations (last_updated_at);
CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);
