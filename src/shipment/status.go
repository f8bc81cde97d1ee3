package shipment

// Status is where a shipment is on its way. It only moves forward:
// registered → picked_up → in_transit → out_for_delivery → delivered.
// Steps may be skipped, never reversed, and delivered is final.
type Status string

// The statuses, in the order a shipment moves through them.
const (
	Registered     Status = "registered"
	PickedUp       Status = "picked_up"
	InTransit      Status = "in_transit"
	OutForDelivery Status = "out_for_delivery"
	Delivered      Status = "delivered"
)

// Statuses lists every status in forward order.
var Statuses = []Status{Registered, PickedUp, InTransit, OutForDelivery, Delivered}

// rank is the position of s in the forward order, or -1 for an unknown status.
func (s Status) rank() int {
	for i, known := range Statuses {
		if s == known {
			return i
		}
	}
	return -1
}

// Valid reports whether s is one of the known statuses.
func (s Status) Valid() bool { return s.rank() >= 0 }

// Final reports whether no change may follow s.
func (s Status) Final() bool { return s == Delivered }

// CanMoveTo reports whether a shipment at s may take status next. Staying at
// the same status is allowed (other fields may still change); going back is not.
func (s Status) CanMoveTo(next Status) bool {
	return next.Valid() && s.Valid() && next.rank() >= s.rank()
}

// Service is the delivery speed a sender paid for.
type Service string

// The services on offer.
const (
	Standard Service = "standard"
	Express  Service = "express"
)

// Valid reports whether s is a known service.
func (s Service) Valid() bool { return s == Standard || s == Express }
