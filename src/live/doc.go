// Package live carries the pipeline's events to the live page: a command
// accepted, applied or failed, dead-lettered, visible in the projection, a
// lab control switched. Publishers (the command API's sender, the worker's
// and the projector's observers, or, in a query API running apart, a tail
// of the projection) hand each event to a Hub; the Hub keeps the recent past
// in a bounded ring and fans events out to its subscribers, the page's
// Server-Sent Events streams (httpapi/events.go).
//
// The rule that shapes it: the page must never slow the pipeline. Publish
// never blocks and never fails; a subscriber that does not keep up is
// dropped (its stream ends, and the browser reconnects where it left off,
// from the ring, if it is still there).
//
// It may import the domain (operation, shipment, command) and the ports
// (bus, store); httpapi and cmd/dropoff import it.
package live
