// Package worker applies the commands waiting on the bus to the write store.
//
// # Sessions: order within a shipment, concurrency across shipments
//
// The command API sends every command with SessionID = shipment id. The bus
// lets one receiver at a time hold a session, and hands out its messages in
// the order they were sent. The worker runs MaxSessions slots; each holds at
// most one session, processes its messages strictly one at a time — a message
// is settled before the next one starts — and releases the session when it
// has been idle for IdleTimeout, or held for MaxSessionHold while its
// messages kept coming, so that the slot can serve other shipments (the bus
// offers the session with the oldest waiting message next). Commands on one
// shipment therefore apply in order, while up to MaxSessions shipments
// progress at once and none waits behind a busy one for long.
//
// # One message, three endings
//
// Each message ends in one of three ways (see process in message.go):
//
//   - Complete, after its transaction committed. The transaction (one
//     store.WriteStore.Update) checks the inbox — an operation that already
//     has an outcome was applied before and is completed with no second
//     effect — then checks the Idempotency-Key, decides with the shipment
//     domain, and records the outcome together with the new state and its
//     change-feed entry. A business failure (NotFound, InvalidTransition,
//     PreconditionFailed, IdempotencyKeyReused) is such an outcome: the
//     operation is recorded Failed and the message completed.
//   - DeadLetter, at once, when the message is not a command this worker can
//     read (command.DecodeError): delivering it again cannot help.
//   - Abandon, after a backoff, when the transaction failed for good: an
//     error the store does not mark as passing, a panic (a bug, contained:
//     the process and the other sessions go on), or an outage longer than
//     MaxOutage. Nothing was kept, so trying again is safe. The bus delivers
//     the message again, its delivery count one higher, or dead-letters it
//     with MaxDeliveryCountExceeded past the queue's maximum. An abandon ends
//     the session hold: the messages received after it must not overtake it,
//     and closing the session hands them back with no delivery spent.
//
// # Outages cost nothing
//
// A transaction that fails with store.ErrUnavailable (the database down,
// failing over, locked by another process, its disk full) says nothing about
// the command, so the message is not abandoned: it is retried in place, with
// a backoff, while its session lock is renewed, for up to MaxOutage. No
// delivery is spent, and the commands behind it wait their turn. Meanwhile a
// circuit breaker keeps the other slots from taking new sessions (one probe
// per Retry.Max finds out when the database is back), and Ready says
// the database is down. A shutdown during the wait leaves the message
// unsettled; closing its session gives it back, its count unchanged.
//
// Completing happens after the commit, so a crash between the two delivers a
// message again although it was applied; the inbox is what makes that
// harmless. The same goes for a lost session lock (bus.ErrLockLost): the
// worker stops using the session at once and lets the next holder redo what
// was not settled.
//
// # Dead-lettered operations
//
// A message dead-lettered past its max delivery count never got an outcome,
// since its transactions kept failing. When Config.DeadLetters is set, a
// recorder peeks the dead-letter queue for new dead letters every
// DeadLetterScan, and all of it every DeadLetterRescan (a dead letter keeps
// its original sequence number, so one retried for long lands behind the
// cursor). It records each operation Failed with code DeadLettered, once the
// database answers again, unless it already has an outcome.
//
// # Shutdown
//
// When Run's context is cancelled the worker stops accepting sessions. A
// message already started finishes its transaction and its settlement, on a
// context that the shutdown does not cancel (bounded by MessageTimeout).
// Messages received but not started are left unsettled: closing the session
// releases them, and the bus delivers them again to the next worker. Run
// closes every session and waits for every goroutine before it returns.
//
// The worker sees the bus and the store only through their ports (packages bus
// and store); only package main, which wires adapters, imports it.
package worker
