// Package sqlserver is the production adapter of Dropoff's two databases on
// SQL Server 2019+ or Azure SQL Database: the write store with its change feed
// (OpenWriteStore) and the projection with its queries (OpenProjection), each
// in its own database, through github.com/microsoft/go-mssqldb.
//
// How it keeps the store contracts:
//
//   - Connections: a sqlserver:// URL. With fedauth=… (Azure) it signs in
//     with Microsoft Entra ID through azidentity, using the azuread
//     connector; without, with a SQL login (the devcontainer). See dsn.go.
//   - Writes: Update is one READ COMMITTED transaction. Its reads take update
//     locks held to the end (UPDLOCK, no range locks), so two commands on the
//     same shipment take turns while commands on others run in parallel; a
//     command's writes are one batch (one round trip) that re-checks
//     (UPDATE … WHERE version = n-1, primary keys), and a lost race, a
//     duplicate key (2627, 2601) or a deadlock (1205) is reported as
//     store.ErrConflict, which is safe to retry. Strings go as NVARCHAR(MAX)
//     so that plans are reused (param.go).
//   - The change feed: each entry's position is a ROWVERSION, and every read
//     stops below MIN_ACTIVE_ROWVERSION(), so a reader never passes an entry
//     that may still commit. docs/change-feed.md explains why that bound is
//     needed here and not in SQLite.
//   - The projection: Apply writes a batch and its checkpoint in one
//     transaction, set-based from one JSON document (OPENJSON): three round
//     trips whatever the batch size; the queries page by key (id > cursor,
//     TOP (limit+1)).
//   - The schema: embedded, numbered T-SQL migrations (migrations/), recorded
//     in dbo.schema_migrations and applied on open under an application lock
//     (sp_getapplock), so replicas starting together apply each one once.
//     MigrateWrite and MigrateProjection do the same for `dropoff migrate`.
//   - Access: Init (for `dropoff dbinit`) runs as the Entra administrator,
//     applies the migrations and creates a database user for each role's
//     managed identity by SID, granting it only what its role needs.
//
// Its tests run the storetest suites when DROPOFF_TEST_SQLSERVER names a
// server (see testdb_test.go for how each test gets its database), and skip
// saying so otherwise; the T-SQL generation, parameters, grants, round trips,
// SID encoding, DSN handling and error classification are tested without a
// server.
//
// Only the cmd/dropoff wiring and tests import this package; everything else
// depends on the ports in package store.
package sqlserver
