package command

import (
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/dropoff-dev/dropoff/src/shipment"
)

// KindDelete cancels a shipment: DELETE, no payload. The shipment stays as a
// tombstone one version up.
const KindDelete Kind = "shipment.delete"

var cancel = Spec{
	Kind:   KindDelete,
	Name:   "delete",
	Method: http.MethodDelete,
	Path:   shipmentPath,
	// A message body is "{}"; any JSON object is taken, and ignored.
	Decode: func(body []byte) (Payload, error) {
		_, err := decodeObject(body)
		return nil, err
	},
	Decide: func(c Command, cur shipment.Shipment, exists bool, now time.Time) (shipment.Shipment, shipment.ChangeType, error) {
		return shipment.Cancel(cur, exists, c.IfMatch, now)
	},
	Sample: func(_ *rand.Rand, cur shipment.Shipment, live bool) (Payload, bool) {
		return nil, live
	},
}
