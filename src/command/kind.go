package command

import (
	"math/rand/v2"
	"time"

	"github.com/dropoff-dev/dropoff/src/shipment"
)

// Kind is what a command does; it travels as the message subject.
type Kind string

// Spec is one command kind, whole: everything the command API, the message
// decoder, the worker, the synchronous baseline, the dead-letter recorder,
// the store suite and the load generator need to know about it. Each kind is
// one file of this package (upsert.go, patch.go, cancel.go) and one line of
// specs below; docs/extending.md walks through adding one.
type Spec struct {
	Kind Kind
	// Name is the kind's short name: in the load tool's --mix and in docs.
	Name string
	// Method and Path are the HTTP route that sends it, in gin's syntax; the
	// path names the shipment as :id.
	Method, Path string
	// Media are the media types its request body may have; none: the
	// request has no body, and one sent is not read.
	Media []string
	// Decode reads and checks a payload: a request body, or a message body
	// (which is checked as strictly). Its errors are *shipment.ValidationError
	// or *BodyError. For a kind without Media it is given "{}".
	Decode func(body []byte) (Payload, error)
	// Decide is the command's effect on its shipment's current state (exists
	// false when the id was never used): the next state, or a business
	// failure (shipment's errors, see operation.ErrorFor). It never touches
	// storage.
	Decide func(c Command, cur shipment.Shipment, exists bool, now time.Time) (shipment.Shipment, shipment.ChangeType, error)
	// Sample is a payload that Decide accepts for cur, a live shipment (or
	// none when live is false and the kind can create one; ok false when it
	// cannot): the load generator's and the store suite's commands.
	Sample func(r *rand.Rand, cur shipment.Shipment, live bool) (p Payload, ok bool)
}

// shipmentPath is the route of the commands that act on a shipment as a
// resource (PUT, PATCH, DELETE); a kind of another method has a path of its
// own, such as /v1/shipments/:id/reroute.
const shipmentPath = "/v1/shipments/:id"

// Payload is a command's kind-specific content (shipment.Fields,
// shipment.Patch, or nil for a cancel). It travels as the message body, as
// JSON.
type Payload any

// specs are the command kinds, in the order docs and the load mix list them.
var specs = []*Spec{&upsert, &patch, &cancel}

// Specs returns every command kind.
func Specs() []Spec {
	out := make([]Spec, len(specs))
	for i, s := range specs {
		out[i] = *s
	}
	return out
}

// SpecOf returns the kind k, or false when k is not a command kind.
func SpecOf(k Kind) (Spec, bool) {
	for _, s := range specs {
		if s.Kind == k {
			return *s, true
		}
	}
	return Spec{}, false
}
