// Package projector keeps the projection database up to date with the write
// database by following its change feed.
//
// The worker appends one entry to the change feed in the same transaction as
// every change it makes (package store). The projector reads the feed in
// position order from its checkpoint and applies each batch of entries to the
// projection together with the new checkpoint, in one projection transaction
// (store.Projection.Apply). That pairing is the whole trick:
//
//   - Exactly once. A batch and the checkpoint that says "applied up to
//     here" commit together or not at all, so a crash at any moment leaves a
//     checkpoint that matches what the projection holds. A new projector
//     starts from it and neither repeats nor misses an entry.
//   - Restart-safe after a failure. A failed Apply may still have committed
//     (the acknowledgement can be lost on the way back), so after any failure
//     the projector reads its checkpoint again from the projection rather than
//     trusting its own idea of it. It never advances past an entry it has not
//     seen applied.
//   - Never skipping. The feed only hands out an entry once no entry with a
//     lower position can still commit (store.Feed), so advancing the
//     checkpoint past what was read is safe even with concurrent writers.
//
// Operations travel the same feed as shipments and are applied in the same
// transaction, which is what gives clients read-your-writes: once an
// operation reads Succeeded, the shipment it changed shows that change.
//
// Run follows the feed for as long as its context lives, polling every
// PollInterval when the feed is drained.
// The lag between the two databases is exported as metrics.
//
// The projector sees the databases only through the store ports; only package
// main, which wires adapters, imports it.
package projector
