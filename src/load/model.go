package load

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"

	"github.com/dropoff-dev/dropoff/src/shipment"
)

// model is what the generator knows of one shipment: the state its accepted
// commands will leave once applied, in order. Only one command of a shipment
// is in flight at a time, so the model is touched by one goroutine at a time.
type model struct {
	id       string
	live     bool  // created and not cancelled
	version  int64 // as the write side will have it: every applied change +1, a cancel included
	fields   shipment.Fields
	accepted []Accepted
}

// request is one HTTP request the generator sends, and what it must lead to.
type request struct {
	kind   Kind
	method string
	path   string
	body   []byte
	header http.Header
	// applies: the command must succeed (and leave a history entry); next is
	// the model once it has.
	applies bool
	next    model
}

// stepStatus moves a status one step forward, but never to delivered: a
// delivered shipment can take no command, and the run must keep its
// shipments busy.
func stepStatus(s shipment.Status) shipment.Status {
	for i, known := range shipment.Statuses {
		if known == s && i+2 < len(shipment.Statuses) {
			return shipment.Statuses[i+1]
		}
	}
	return s
}

var (
	recipients   = []string{"Ada Lovelace", "Grace Hopper", "Alan Turing", "Edsger Dijkstra", "Barbara Liskov"}
	destinations = []string{"12 St James's Square, London", "1 Main St, Springfield", "Rue de Rivoli 5, Paris", "Unter den Linden 1, Berlin"}
	services     = []shipment.Service{shipment.Standard, shipment.Express}
)

func pickOf[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

// next makes the request of kind k for the shipment. A patch or delete of a
// shipment that is not live becomes its (re-)PUT.
func (m *model) next(r *rand.Rand, k Kind) request {
	if !m.live && (k == Patch || k == Delete) {
		k = Put
	}
	path := "/v1/shipments/" + m.id
	req := request{kind: k, path: path, header: http.Header{}, next: *m}
	switch k {
	case Put:
		f := shipment.Fields{Recipient: pickOf(r, recipients), Destination: pickOf(r, destinations),
			WeightGrams: 1 + r.IntN(shipment.MaxWeightGrams), Service: pickOf(r, services)}
		if !m.live {
			req.next.fields = f
			req.next.fields.Status = shipment.Registered
		} else {
			f.Status = m.fields.Status // a replace keeps the status: say so
			req.next.fields = f
		}
		req.method, req.body, req.applies = http.MethodPut, mustJSON(f), true
		req.next.live = true
	case Patch:
		p := map[string]any{}
		switch r.IntN(3) {
		case 0:
			req.next.fields.Recipient = pickOf(r, recipients)
			p["recipient"] = req.next.fields.Recipient
		case 1:
			req.next.fields.Destination = pickOf(r, destinations)
			p["destination"] = req.next.fields.Destination
		default:
			req.next.fields.Service = pickOf(r, services)
			p["service"] = req.next.fields.Service
		}
		if r.IntN(4) == 0 {
			req.next.fields.Status = stepStatus(m.fields.Status)
			p["status"] = req.next.fields.Status
		}
		req.method, req.body, req.applies = http.MethodPatch, mustJSON(p), true
		req.header.Set("Content-Type", "application/merge-patch+json")
	case Delete:
		req.method, req.applies = http.MethodDelete, true
		req.next.live = false
	case Fail:
		// No shipment ever reaches this version during a run, so the
		// precondition fails (or, if the shipment is not live, NotFound).
		req.method, req.body = http.MethodPatch, mustJSON(map[string]string{"recipient": "Nobody"})
		req.header.Set("If-Match", fmt.Sprintf(`"%d"`, m.version+1_000_000))
	case Invalid:
		return invalidRequest(r, m.id)
	}
	if req.body != nil && req.header.Get("Content-Type") == "" {
		req.header.Set("Content-Type", "application/json")
	}
	if req.applies {
		req.next.version++
	}
	return req
}

// invalidRequest is one of the ways a request can be wrong that the command
// API must refuse with a 4xx, touching nothing.
func invalidRequest(r *rand.Rand, id string) request {
	req := request{kind: Invalid, method: http.MethodPut, path: "/v1/shipments/" + id, header: http.Header{}}
	req.header.Set("Content-Type", "application/json")
	switch r.IntN(5) {
	case 0:
		req.body = []byte(`{"recipient":"A","destination":"B","weightGrams":0,"service":"standard"}`)
	case 1:
		req.body = []byte(`{"recipient":"A","destination":"B","weightGrams":10,"service":"teleport"}`)
	case 2:
		req.body = []byte(`{"recipient":"A",`)
	case 3:
		req.method, req.body = http.MethodPatch, []byte(`{}`)
	default:
		req.header.Set("Content-Type", "text/plain")
		req.body = []byte("hello")
	}
	return req
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("load: marshal %T: %v", v, err)) // only plain maps and structs are marshalled
	}
	return b
}
