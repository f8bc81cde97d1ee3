// Package sqlitebus is the embedded bus: a durable queue with sessions, kept in
// its own SQLite file, that gives the Service Bus semantics documented in
// package bus. It is the default wherever there is no Azure: on a laptop, in
// tests and in the walkthroughs. Only package main and tests import it.
//
// # How it works
//
// Four tables (migrations/0001_init.sql): messages (the active queue),
// dead_letters, sessions (one row per session with messages, holding its
// lock: an owner token and a locked-until time), and message_ids (the
// duplicate-detection history).
//
//   - A session is free when its row's locked_until has passed. Accepting
//     one writes a fresh token and locked_until; the Session renews it every
//     LockDuration/2 until Close. A holder that crashes simply stops renewing,
//     and the lock runs out on its own.
//   - A delivered message carries the token of the lock it was delivered
//     under (messages.lock_token) and its raised delivery count. Settling it
//     checks that the token is still the live lock of its session. When its
//     holder closes the session, messages it left unsettled go back with the
//     count they had before (as on Service Bus: a close is no delivery
//     attempt). When a session whose lock ran out is accepted again, messages
//     left with the old token become deliverable again with their raised
//     count, or dead letters once it has reached the maximum.
//   - Time to live is checked lazily: a receiver that meets an expired message
//     moves it on, and a sweep once a second does the same for messages no one
//     is looking at.
//
// # Group commit
//
// Every write goes through one goroutine owned by the Queue (package
// groupcommit, set up in writer.go). It takes all operations waiting at that
// moment — sends, receives, settlements, lock renewals — runs them in a
// single BEGIN IMMEDIATE transaction (an operation that fails does so before
// writing, so it does not spoil the others'; one that fails after writing
// makes the writer run the batch again, each operation in a savepoint), commits (one fsync: WAL with synchronous=FULL), and only then
// answers every caller. Many concurrent Send calls therefore share one fsync,
// yet none returns before its message is on disk. Operations run in the order
// they were submitted, so a Send that returned is ordered before any Send
// that starts after it.
//
// # Several processes
//
// Several processes (or several Queue values) may open the same file: SQLite's
// WAL and BEGIN IMMEDIATE serialise writers, and a busy timeout makes them wait
// their turn. Receivers in the same Queue are woken the moment a commit makes
// work available; changes made by another process are noticed by polling
// SQLite's data_version every PollInterval.
//
// # Where it differs from Service Bus
//
// Sequence numbers are kept when a message is dead-lettered; there is no
// message size limit and no 5-minute cap on the lock duration; a message's
// time to live is capped by DefaultTimeToLive, as on Service Bus. And
// Queue.Close does not release the sessions still open: they stay locked until
// their lock runs out, as if the process had crashed.
package sqlitebus
