// Package operation is the receipt a client gets for a command: an Operation
// with an id to watch, a status that ends Succeeded or Failed, and, when it
// failed, an error code (Azure REST API guidelines, long-running operations).
//
// It also owns operation ids: time-ordered UUIDv7 for ordinary commands, and
// ids derived from an Idempotency-Key (UUIDv8) so that a retry gets the same
// one. Only the shipment domain and the standard library (plus the uuid
// package) are imported; every other package may import it.
package operation
