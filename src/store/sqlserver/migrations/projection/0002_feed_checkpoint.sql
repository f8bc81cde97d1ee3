-- The feed this projection follows (its identity), and the operation id of
-- the entry at the checkpoint: the projector checks, before every batch, that
-- the feed still has that entry there, and stops when it does not (the write
-- database was restored to an earlier point, say, and its rowversions start
-- again below the checkpoint) instead of skipping entries.

IF COL_LENGTH(N'dbo.projector_state', N'feed_identity') IS NULL
    ALTER TABLE dbo.projector_state ADD feed_identity NVARCHAR(36) NULL;
GO

IF COL_LENGTH(N'dbo.projector_state', N'checkpoint_operation_id') IS NULL
    ALTER TABLE dbo.projector_state ADD checkpoint_operation_id NVARCHAR(64) NULL;
