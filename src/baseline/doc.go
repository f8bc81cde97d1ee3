// Package baseline is the synchronous baseline that Dropoff's asynchronous
// design is measured against (dropoff --mode sync, dropoff load --compare):
// the same command routes, the same checks and the same operation ids, but
// each command is applied to the write database inside its request, and the
// client gets its result at once (200, the operation Succeeded or Failed)
// instead of a 202 receipt. There is no queue and no worker.
//
// It runs the very same transaction as a worker does (worker.Decide: the
// inbox, the Idempotency-Key, the kind's decision and the record), so the
// only difference between the two modes is where the client waits. Dropoff
// does not recommend it; it exists so that the load tool can show what the
// queue buys (an answer whose latency does not depend on the database) and
// what it costs (the result comes later).
//
// It plugs into the command API as an httpapi.CommandSink; nothing in the
// core packages knows of it.
package baseline
