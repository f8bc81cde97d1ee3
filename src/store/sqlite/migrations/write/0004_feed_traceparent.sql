-- Each feed entry keeps the W3C trace context (traceparent) of the worker's
-- transaction that wrote it, so that the projector's span can link to the
-- command's trace (docs/observability.md). NULL for entries written before,
-- and for records written with no trace context.
ALTER TABLE changes ADD COLUMN traceparent TEXT;
