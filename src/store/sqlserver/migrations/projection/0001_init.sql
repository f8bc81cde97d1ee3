-- The projection database: what the query API reads, kept by the projector.
-- Same conventions as the write database's migrations (guards, GO batches,
-- BIN2 ids, NVARCHAR at twice the character limit, DATETIME2(7) in UTC).

-- Live shipments only: a cancel deletes the row (its history stays).
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
        created_at   DATETIME2(7)  NOT NULL,
        updated_at   DATETIME2(7)  NOT NULL,
        CONSTRAINT pk_shipments PRIMARY KEY CLUSTERED (id)
    );
END
GO

-- GET /v1/shipments?status= pages through one status in id order.
IF NOT EXISTS (SELECT 1 FROM sys.indexes WHERE name = N'ix_shipments_status' AND object_id = OBJECT_ID(N'dbo.shipments'))
    CREATE NONCLUSTERED INDEX ix_shipments_status ON dbo.shipments (status, id);
GO

IF OBJECT_ID(N'dbo.history', N'U') IS NULL
BEGIN
    CREATE TABLE dbo.history (
        shipment_id  NVARCHAR(64) COLLATE Latin1_General_100_BIN2 NOT NULL,
        version      BIGINT       NOT NULL,
        change_type  NVARCHAR(16) NOT NULL,
        status       NVARCHAR(32) NOT NULL,
        at           DATETIME2(7) NOT NULL,
        operation_id NVARCHAR(64) COLLATE Latin1_General_100_BIN2 NOT NULL,
        CONSTRAINT pk_history PRIMARY KEY CLUSTERED (shipment_id, version)
    );
END
GO

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

-- The projector's checkpoint, in one row, written in the same transaction as
-- the entries it covers.
IF OBJECT_ID(N'dbo.projector_state', N'U') IS NULL
BEGIN
    CREATE TABLE dbo.projector_state (
        id                TINYINT      NOT NULL CONSTRAINT ck_projector_state_one_row CHECK (id = 1),
        applied_position  BIGINT       NOT NULL, -- the checkpoint (CHECKPOINT is a reserved word)
        feed_head         BIGINT       NOT NULL,
        last_committed_at DATETIME2(7) NULL,
        last_applied_at   DATETIME2(7) NULL,
        CONSTRAINT pk_projector_state PRIMARY KEY CLUSTERED (id)
    );
END
GO

IF NOT EXISTS (SELECT 1 FROM dbo.projector_state WHERE id = 1)
    INSERT INTO dbo.projector_state (id, applied_position, feed_head) VALUES (1, 0, 0);
