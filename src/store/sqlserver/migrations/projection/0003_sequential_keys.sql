-- The projector applies a batch with OPENJSON, which needs compatibility
-- level 130 or more (Azure SQL Database starts new databases at 160, SQL
-- Server 2019 at 150): refuse an older level with what to do, rather than
-- fail at the first batch.

IF (SELECT compatibility_level FROM sys.databases WHERE name = DB_NAME()) < 130
    THROW 50000, N'the projection database runs at a compatibility level under 130, where OPENJSON does not exist: ALTER DATABASE CURRENT SET COMPATIBILITY_LEVEL = 150, then migrate again', 1;
GO

-- Operation ids are mostly UUIDv7, ordered by time: see the write
-- database's 0003_sequential_keys.sql.
IF EXISTS (SELECT 1 FROM sys.indexes WHERE name = N'pk_operations'
           AND object_id = OBJECT_ID(N'dbo.operations') AND optimize_for_sequential_key = 0)
    ALTER INDEX pk_operations ON dbo.operations SET (OPTIMIZE_FOR_SEQUENTIAL_KEY = ON);
