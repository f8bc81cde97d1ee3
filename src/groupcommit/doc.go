// Package groupcommit is the group-commit writer shared by Dropoff's two
// SQLite adapters, the embedded bus (bus/sqlitebus) and the embedded store
// (store/sqlite).
//
// # Group commit
//
// With synchronous=FULL a commit costs an fsync, far more than the few
// statements of one caller, so one transaction per caller would cap an
// adapter at a few hundred or thousand writes a second however many callers
// it has. Instead a Writer owns one goroutine, the only one that writes. A
// caller hands it a function (Do) and waits. The writer takes every call
// waiting at that moment (up to MaxBatch), runs their functions one after
// another in one transaction, commits once, and only then answers them all:
// many concurrent callers share one fsync, and none is answered before its
// work is durable.
//
//   - Each call is atomic on its own. It runs in a savepoint; if its
//     function fails (or panics), the savepoint is rolled back: exactly its
//     own work is undone, the others' stays and commits, and its caller gets
//     its error.
//   - The commit's outcome reaches every caller of the batch: if the
//     transaction cannot begin or commit, or a savepoint statement fails
//     (which leaves the transaction in an unknown state), nothing of it is
//     kept and every caller it took gets that error — even one whose own
//     function failed, since what that function saw was never committed.
//   - Calls run one at a time, in the order they were queued, each seeing
//     the work of those before it: the same as some serial order.
//   - A caller whose ctx ends while its call waits in the queue withdraws it
//     and leaves at once: its function never runs. Once the writer has
//     started a call, its caller waits for the outcome whatever its ctx does
//     (the work may commit, and the caller must know). Exactly one of the two
//     wins, by compare-and-swap. A call the writer reaches after its ctx
//     ended is skipped and gets ctx.Err(), which a failed commit does not
//     replace (its work was never in the transaction).
//   - A panic in a caller's function is caught on the writer goroutine, its
//     savepoint rolled back, and raised again in the caller's goroutine, as
//     if the function had run there. The writer goes on.
//   - Submit hands a function over without waiting: it is queued before
//     Submit returns (so it runs before whatever the caller does next), and
//     its outcome goes to a callback. Close lets submitted calls finish.
//   - Close stops the writer between two batches: the batch in flight
//     commits, calls still queued are answered with Config.Closed without
//     running, and later calls fail with it at once.
//
// Between batches the writer runs the adapter's periodic work (Config.Tick,
// OnTick), which may run a batch of its own on the writer goroutine.
//
// # What the adapters choose
//
// Configuration, where the two adapters differ for a reason:
//
//   - MaxBatch: the bus takes 512 operations a batch, the store 128 Updates
//     (a store Update writes more, and holds its batch's callers longer).
//   - MaxBatchTime: the store's functions are its callers' code and may
//     block, so a store batch starts no new call after 10ms and the callers
//     before a slow one are answered when it returns. The bus's operations
//     are its own, take microseconds and never block: no bound.
//   - Unsaved: the bus's operations are written to fail, when they fail for
//     a reason of their own (a lost lock, say), before writing anything, so
//     they run without savepoints (two statements fewer each); a function
//     that fails after writing makes the writer roll the batch back and run
//     it again with savepoints. The store cannot promise that of its callers'
//     functions, nor run them twice, so every call has its savepoint.
//   - Closed, CloseWait, Tick and OnTick: each adapter's own error, bound on
//     waiting for submitted work at Close, and housekeeping.
//
// Where they differed for no reason, this package picks one rule:
//
//   - A batch of one call takes no savepoint (two statements saved): if the
//     call fails, the whole transaction is rolled back. The store did this;
//     the bus, when such a call failed after writing, ran it again in a
//     savepoint, only to roll that back too.
//   - A batch in which no call succeeded is rolled back, not committed
//     (the store's rule; the bus committed a transaction that had written
//     nothing). AfterCommit, and so each adapter's commit count and metrics
//     (the bus's operations-per-batch histogram included), sees only
//     committed batches.
//   - A queued call is withdrawn the moment its ctx ends (the store's rule;
//     the bus's callers waited until the writer reached the call and skipped
//     it, with the same result, later).
//   - When a savepoint statement fails, the calls taken so far fail with it
//     and those not yet reached go on to the next batch (the store's rule;
//     the bus failed them all without running them).
//   - The queue holds 4×MaxBatch calls (the bus's size; the store's held
//     MaxBatch), so a burst of callers queues instead of blocking on it.
//   - Every call's panic is caught (the store's rule; on the bus a panicking
//     operation ended the process). A submitted call has no caller to raise
//     it in: its callback gets an error describing it.
//   - Submitted calls that Close did not wait for (CloseWait ran out) get
//     Closed through their callback, instead of never hearing back.
package groupcommit
