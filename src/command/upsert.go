package command

import (
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/dropoff-dev/dropoff/src/shipment"
)

// KindUpsert creates a shipment, or replaces every field of one: PUT, with a
// shipment.Fields payload.
const KindUpsert Kind = "shipment.upsert"

var upsert = Spec{
	Kind:   KindUpsert,
	Name:   "put",
	Method: http.MethodPut,
	Path:   shipmentPath,
	Media:  []string{MediaJSON},
	Decode: func(body []byte) (Payload, error) { return decodeFields(body) },
	Decide: func(c Command, cur shipment.Shipment, exists bool, now time.Time) (shipment.Shipment, shipment.ChangeType, error) {
		return shipment.Put(cur, exists, c.ShipmentID, c.Payload.(shipment.Fields), c.IfMatch, now)
	},
	Sample: func(r *rand.Rand, cur shipment.Shipment, live bool) (Payload, bool) {
		f := shipment.Fields{Recipient: pick(r, sampleRecipients), Destination: pick(r, sampleDestinations),
			WeightGrams: 1 + r.IntN(shipment.MaxWeightGrams), Service: pick(r, sampleServices)}
		if live {
			f.Status = cur.Status // a replace keeps the status: say so
		}
		return f, true
	},
}

// decodeFields reads a PUT body: a full shipment. Members are decoded one by
// one rather than with json.Unmarshal into shipment.Fields: Unmarshal would
// take null as "not given", report only the first type error, and say nothing
// useful about 1.5 grams. Only JSON types are checked here; every rule about
// values is the shipment's Validate.
func decodeFields(body []byte) (shipment.Fields, error) {
	members, err := decodeObject(body)
	if err != nil {
		return shipment.Fields{}, err
	}
	var f shipment.Fields
	e := &fieldErrors{}
	for _, m := range members {
		switch m.name {
		case "recipient":
			f.Recipient = e.str(m)
		case "destination":
			f.Destination = e.str(m)
		case "weightGrams":
			e.weight(m, &f.WeightGrams)
		case "service":
			f.Service = shipment.Service(e.str(m))
		case "status":
			// Fields treats "" as "not given"; given explicitly, it is wrong.
			if f.Status = shipment.Status(e.str(m)); f.Status == "" && !e.has(m.name) {
				e.add(m.name, "must not be empty; leave status out to keep it (or to register a new shipment)")
			}
		default:
			e.add(fieldName(m.name), "is not a field of a shipment (recipient, destination, weightGrams, service, status)")
		}
	}
	return f, e.with(f.Validate())
}
