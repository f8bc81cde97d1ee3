// Package shipment is Dropoff's domain: one small aggregate whose changes must
// apply in order.
//
// It holds the rules that do not depend on where a shipment is stored or how a
// command reached it: field validation, the forward-only status machine, and
// how a replace, a merge patch or a cancel turns one version of a shipment into
// the next. Business failures are sentinel errors (ErrNotFound,
// ErrInvalidTransition, ErrPreconditionFailed), checked with errors.Is.
//
// It imports only the standard library, and every other package may import it.
package shipment
