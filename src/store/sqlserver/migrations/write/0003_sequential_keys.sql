-- Keys that grow: the feed's position (a rowversion) and, mostly, operation
-- ids (UUIDv7, ordered by time) put every new row on the last page of their
-- index, where concurrent inserts queue for the same page latch.
-- OPTIMIZE_FOR_SEQUENTIAL_KEY (SQL Server 2019+, Azure SQL) makes the engine
-- pace those inserts so the latch is not handed around in a convoy.

IF EXISTS (SELECT 1 FROM sys.indexes WHERE name = N'pk_change_feed'
           AND object_id = OBJECT_ID(N'dbo.change_feed') AND optimize_for_sequential_key = 0)
    ALTER INDEX pk_change_feed ON dbo.change_feed SET (OPTIMIZE_FOR_SEQUENTIAL_KEY = ON);
GO

IF EXISTS (SELECT 1 FROM sys.indexes WHERE name = N'pk_operations'
           AND object_id = OBJECT_ID(N'dbo.operations') AND optimize_for_sequential_key = 0)
    ALTER INDEX pk_operations ON dbo.operations SET (OPTIMIZE_FOR_SEQUENTIAL_KEY = ON);
