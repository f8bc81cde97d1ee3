-- Each feed entry keeps the W3C trace context (traceparent) of the worker's
-- transaction that wrote it, so that the projector's span can link to the
-- command's trace (docs/observability.md). NULL for entries written before,
-- and for records written with no trace context. A traceparent is 55
-- characters: version, trace id, span id and flags.

IF COL_LENGTH(N'dbo.change_feed', N'traceparent') IS NULL
    ALTER TABLE dbo.change_feed ADD traceparent VARCHAR(55) NULL;
