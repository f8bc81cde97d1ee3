// Package sqlite is the embedded adapter of Dropoff's two databases: the
// write store with its change feed (OpenWriteStore) and the projection with
// its queries (OpenProjection), each in its own SQLite file, through the pure
// Go driver modernc.org/sqlite (no cgo).
//
// How it keeps the store contracts:
//
//   - Durability: the files run in WAL mode with synchronous=FULL, so a
//     committed transaction survives a crash or power loss.
//   - Writes are serialised: every write transaction starts with BEGIN
//     IMMEDIATE, which takes the database's single write lock up front — across
//     processes too, so the worker and the projector may be separate programs
//     sharing a file. Within a process writes go through one connection, so
//     they queue in database/sql instead of spinning on SQLITE_BUSY; between
//     processes the busy timeout makes a writer wait its turn.
//   - Change-feed positions come from an AUTOINCREMENT key allocated inside
//     that serialised transaction, so they commit in order: a reader can never
//     see position n+1 before n. (A plain rowid could reuse the position of a
//     deleted last row; AUTOINCREMENT never reuses one.)
//   - Reads use a separate pool of read-only connections, which WAL lets run
//     alongside the writer, each on a consistent snapshot.
//   - The schema is versioned by embedded migrations (migrations/), applied on
//     open inside one BEGIN IMMEDIATE transaction, so several processes may
//     open the same fresh file at once. (Switching a new file to WAL is the
//     one step SQLite refuses at once instead of waiting; it is retried.)
//
// Only the cmd/dropoff wiring and tests import this package; everything else
// depends on the ports in package store.
package sqlite
