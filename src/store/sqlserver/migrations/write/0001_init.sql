-- The write database: what the worker reads and writes, and the change feed.
--
-- Conventions of every migration here:
--   * each statement is guarded (IF OBJECT_ID(...) IS NULL), so a migration
--     also applies cleanly over objects someone created by hand;
--   * batches are separated by lines holding only GO, as in sqlcmd;
--   * ids compare byte for byte (COLLATE Latin1_General_100_BIN2): the
--     default collations ignore case, which would make shipments "a" and "A"
--     one row and sort pages differently from the SQLite store;
--   * text is NVARCHAR sized at twice the domain's limit in characters,
--     because NVARCHAR counts UTF-16 code units and a character outside the
--     Basic Multilingual Plane (an emoji) takes two;
--   * times are DATETIME2(7) in UTC.

IF OBJECT_ID(N'dbo.shipments', N'U') IS NULL
BEGIN
    CREATE TABLE dbo.shipments (
        id           NVARCHAR(64)  COLLATE Latin1_General_100_BIN2 NOT NULL,
        recipient    NVARCHAR(400) NOT NULL,
        destination  NVARCHAR(1000) NOT NULL,
        weight_grams INT           NOT NULL,
        service      NVARCHAR(16)  NOT NULL,
        status       NVARCHAR(32)  NOT NULL,
        version      BIGINT        NOT NULL,
        -- A cancelled shipment stays as a tombstone so that its version keeps
        -- growing if the id is used again.
        deleted      BIT           NOT NULL,
        created_at   DATETIME2(7)  NOT NULL,
        updated_at   DATETIME2(7)  NOT NULL,
        CONSTRAINT pk_shipments PRIMARY KEY CLUSTERED (id)
    );
END
GO

-- The inbox and the outcome of every command.
IF OBJECT_ID(N'dbo.operations', N'U') IS NULL
BEGIN
    CREATE TABLE dbo.operations (
        id               NVARCHAR(64)  COLLATE Latin1_General_100_BIN2 NOT NULL,
        kind             NVARCHAR(64)  NOT NULL,
        shipment_id      NVARCHAR(64)  COLLATE Latin1_General_100_BIN2 NOT NULL,
        status           NVARCHAR(16)  NOT NULL,
        resource_version BIGINT        NOT NULL,
        error_code       NVARCHAR(64)  NULL,
        error_message    NVARCHAR(MAX) NULL,
        created_at       DATETIME2(7)  NOT NULL,
        last_updated_at  DATETIME2(7)  NOT NULL,
        CONSTRAINT pk_operations PRIMARY KEY CLUSTERED (id)
    );
END
GO

IF OBJECT_ID(N'dbo.idempotency_keys', N'U') IS NULL
BEGIN
    CREATE TABLE dbo.idempotency_keys (
        key_digest     NVARCHAR(64) COLLATE Latin1_General_100_BIN2 NOT NULL,
        request_digest NVARCHAR(64) COLLATE Latin1_General_100_BIN2 NOT NULL,
        operation_id   NVARCHAR(64) COLLATE Latin1_General_100_BIN2 NOT NULL,
        created_at     DATETIME2(7) NOT NULL,
        CONSTRAINT pk_idempotency_keys PRIMARY KEY CLUSTERED (key_digest)
    );
END
GO

-- The change feed: one row per command, a copy of the operation and of the
-- shipment as that command left them. `position` is a ROWVERSION, stamped by
-- the server from the database's counter when the row is written; readers
-- order by it and bound every read with MIN_ACTIVE_ROWVERSION() (see
-- docs/change-feed.md for why the bound is needed). The rows are clustered on
-- it: new rows go at the end, and a read is one range seek. (A rowversion
-- changes when its row is updated, which is why it is usually a poor key;
-- feed rows are never updated.)
IF OBJECT_ID(N'dbo.change_feed', N'U') IS NULL
BEGIN
    CREATE TABLE dbo.change_feed (
        position             ROWVERSION    NOT NULL,
        committed_at         DATETIME2(7)  NOT NULL,
        change_type          NVARCHAR(16)  NOT NULL,
        -- the operation
        operation_id         NVARCHAR(64)  COLLATE Latin1_General_100_BIN2 NOT NULL,
        operation_kind       NVARCHAR(64)  NOT NULL,
        operation_shipment_id NVARCHAR(64) COLLATE Latin1_General_100_BIN2 NOT NULL,
        operation_status     NVARCHAR(16)  NOT NULL,
        resource_version     BIGINT        NOT NULL,
        error_code           NVARCHAR(64)  NULL,
        error_message        NVARCHAR(MAX) NULL,
        operation_created_at DATETIME2(7)  NOT NULL,
        operation_updated_at DATETIME2(7)  NOT NULL,
        -- the shipment as the command left it; NULLs when it changed none
        has_shipment         BIT           NOT NULL,
        shipment_id          NVARCHAR(64)  COLLATE Latin1_General_100_BIN2 NULL,
        recipient            NVARCHAR(400) NULL,
        destination          NVARCHAR(1000) NULL,
        weight_grams         INT           NULL,
        service              NVARCHAR(16)  NULL,
        status               NVARCHAR(32)  NULL,
        version              BIGINT        NULL,
        deleted              BIT           NULL,
        created_at           DATETIME2(7)  NULL,
        updated_at           DATETIME2(7)  NULL,
        CONSTRAINT pk_change_feed PRIMARY KEY CLUSTERED (position)
    );
END
GO

-- The worker's check of a projection against the write side lists live
-- shipments in id order.
IF NOT EXISTS (SELECT 1 FROM sys.indexes WHERE name = N'ix_shipments_live' AND object_id = OBJECT_ID(N'dbo.shipments'))
    CREATE NONCLUSTERED INDEX ix_shipments_live ON dbo.shipments (deleted, id);
