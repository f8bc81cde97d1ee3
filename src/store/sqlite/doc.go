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
//     sharing a file. Within a process writes go through one goroutine and one
//     connection (group commit, below); between processes the busy timeout
//     makes a writer wait its turn.
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
// # Group commit
//
// With synchronous=FULL a commit costs an fsync, far more than the
// statements of one command, so one transaction per command would cap the
// worker at a few thousand commands a second however many sessions it runs.
// So the WriteStore owns one writer goroutine (package groupcommit, set up
// in writer.go). Update hands fn to it and waits; the writer takes every
// Update waiting at that moment (up to 128), runs their fns one after another in one BEGIN IMMEDIATE transaction,
// each inside its own SAVEPOINT, commits once, and only then answers them
// all. Many concurrent commands share one fsync. Why a caller cannot tell:
//
//   - Each fn is atomic on its own. If it fails, ROLLBACK TO its savepoint
//     undoes exactly its work — feed position included — and the others'
//     stays; that caller gets its error, the rest commit.
//   - Nobody is answered before the fsync. Update returns nil only once the
//     transaction holding its work has committed, so the worker completes a
//     message only when its outcome is durable. If the transaction fails, no
//     work of it was kept, and every caller in it gets the error.
//   - The fns run one at a time, each seeing the work of all before it: the
//     same as some serial order of Updates, which is all the contract
//     promises. Positions are still allocated inside the transaction, so
//     commit order is position order.
//   - A caller whose ctx ends while it waits leaves at once and its fn never
//     runs. Once fn has run, the caller waits for the commit. Callers'
//     contexts never interrupt the shared transaction's statements (that
//     would abort everybody's work); a cancelled caller fails at its next
//     statement instead, and its savepoint is rolled back.
//
// A batch starts no new fn once it has run for 10ms, so a fn that blocks
// for long (holding the writer, as the single write connection always did)
// ends its batch: the callers before it are answered as soon as it returns,
// not after the fns queued behind it. One thing group commit does change: a
// fn must not block until an Update that started just before it has
// returned — that caller is answered only when the batch commits, after
// this fn. (No caller in Dropoff does; store.WriteStore does not promise it.)
//
// # Prepared statements
//
// Each store prepares the statements it runs often once, when it opens
// (statements.go): parsing the SQL of every call anew was the largest item of
// the whole system's CPU profile under load.
//
// Only the cmd/dropoff wiring and tests import this package; everything else
// depends on the ports in package store.
package sqlite
