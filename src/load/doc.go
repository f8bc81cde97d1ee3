// Package load drives a running Dropoff over HTTP with a realistic mix of
// commands, measures it, and checks afterwards that nothing went wrong.
//
// # What it sends
//
// A fixed set of shipments, each with a model of its state kept by the
// generator: PUTs that create or replace, PATCHes that change fields and move
// the status forward, DELETEs (the shipment's next command is then a re-PUT),
// commands meant to fail (a PATCH with an If-Match no shipment has: the
// operation ends Failed, PreconditionFailed), and invalid requests that must
// be refused with a 4xx (counted as rejected, never sent to the worker).
// The model predicts the outcome of every command, so the history each
// shipment must end with is known in advance.
//
// Commands on one shipment are sent one at a time — the next only after the
// previous one was accepted — so their order is known; commands on different
// shipments run concurrently. Closed loop (Concurrency senders, each sending
// its next command as soon as the last is answered) or open loop (Rate
// commands a second on a fixed schedule; latency is measured from the
// scheduled time, so a slow server cannot hide its queueing).
//
// # What it measures
//
// Accept latency: request to 202 (or to the 200 of the synchronous baseline).
// Accept-to-visible latency: 202 to the operation seen terminal through
// GET /v1/operations/{id}, which the query API answers from the projection.
// Watching every operation would add a load of its own, so a sample is
// watched, within a budget: an accepted operation is sampled only while the
// watchers' GETs so far are at most PollBudget (0.1) times the commands sent,
// so measuring costs the target at most about one request in ten; the report
// says how many were watched and what they cost. Each of a few watchers holds
// up to 64 operations at a time and takes a new one only when it has room.
// Each is polled every PollInterval or every twentieth of its age, whichever
// is longer, so the figure is within about 5% while a backlog of seconds
// costs few requests.
//
// # What it checks
//
// After the run it drains — waits until the last operation of every
// shipment is terminal and the projection's checkpoint has reached the feed
// head — then reads every shipment's history and compares it with the
// commands accepted for it (Verify): lost, duplicated, out of order. It also
// compares every shipment's final state with the model, and, when the caller
// can see both databases, the projection with the write database.
//
// Only package main imports this package.
package load
