-- feed_identity names this database's change feed: one id, written once,
-- when the schema is created, that no other database has. A projection
-- records the identity of the feed it follows (projector_state.feed_identity
-- in the projection database), and the projector refuses a feed with another
-- one. A database restored from a backup, or a geo-secondary after failover,
-- keeps the identity; the projector's checkpoint check catches those.

IF OBJECT_ID(N'dbo.feed_identity', N'U') IS NULL
BEGIN
    CREATE TABLE dbo.feed_identity (
        id UNIQUEIDENTIFIER NOT NULL CONSTRAINT pk_feed_identity PRIMARY KEY
    );
END
GO

IF NOT EXISTS (SELECT 1 FROM dbo.feed_identity)
    INSERT INTO dbo.feed_identity (id) VALUES (NEWID());
