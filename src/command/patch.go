package command

import (
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/dropoff-dev/dropoff/src/shipment"
)

// KindPatch changes some fields of a shipment: PATCH with a JSON merge patch
// (RFC 7396), a shipment.Patch payload.
const KindPatch Kind = "shipment.patch"

var patch = Spec{
	Kind:   KindPatch,
	Name:   "patch",
	Method: http.MethodPatch,
	Path:   shipmentPath,
	// The merge-patch type says exactly what the body is; plain JSON is
	// taken too.
	Media:  []string{MediaJSON, MediaMergePatch},
	Decode: func(body []byte) (Payload, error) { return decodePatch(body) },
	Decide: func(c Command, cur shipment.Shipment, exists bool, now time.Time) (shipment.Shipment, shipment.ChangeType, error) {
		return shipment.Merge(cur, exists, c.Payload.(shipment.Patch), c.IfMatch, now)
	},
	Sample: func(r *rand.Rand, cur shipment.Shipment, live bool) (Payload, bool) {
		if !live {
			return nil, false
		}
		var p shipment.Patch
		switch r.IntN(3) {
		case 0:
			p.Recipient = new(pick(r, sampleRecipients))
		case 1:
			p.Destination = new(pick(r, sampleDestinations))
		default:
			p.Service = new(pick(r, sampleServices))
		}
		if r.IntN(4) == 0 {
			p.Status = new(stepStatus(cur.Status))
		}
		return p, true
	},
}

// decodePatch reads a PATCH body. In a merge patch null means "remove the
// member"; every field of a shipment is required, so null is refused.
func decodePatch(body []byte) (shipment.Patch, error) {
	members, err := decodeObject(body)
	if err != nil {
		return shipment.Patch{}, err
	}
	var p shipment.Patch
	e := &fieldErrors{}
	for _, m := range members {
		if isNull(m.value) && m.name != "weightGrams" {
			e.add(fieldName(m.name), "cannot be removed (null): every field of a shipment is required")
			continue
		}
		switch m.name {
		case "recipient":
			p.Recipient = new(e.str(m))
		case "destination":
			p.Destination = new(e.str(m))
		case "service":
			p.Service = new(shipment.Service(e.str(m)))
		case "status":
			p.Status = new(shipment.Status(e.str(m)))
		case "weightGrams":
			e.add(m.name, "cannot be patched: the weight is fixed at registration; PUT the whole shipment to change it")
		default:
			e.add(fieldName(m.name), "is not a field a patch may change (recipient, destination, service, status)")
		}
	}
	return p, e.with(p.Validate())
}

// stepStatus moves a status one step forward, but never to delivered: a
// delivered shipment can take no command, and a load run must keep its
// shipments busy.
func stepStatus(s shipment.Status) shipment.Status {
	for i, known := range shipment.Statuses {
		if known == s && i+2 < len(shipment.Statuses) {
			return shipment.Statuses[i+1]
		}
	}
	return s
}
