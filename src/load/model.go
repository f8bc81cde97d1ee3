package load

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"

	"github.com/dropoff-dev/dropoff/src/command"
	"github.com/dropoff-dev/dropoff/src/shipment"
)

// model is what the generator knows of one shipment: the state its accepted
// commands will leave once applied, in order. Only one command of a shipment
// is in flight at a time, so the model is touched by one goroutine at a time.
type model struct {
	id       string
	cur      shipment.Shipment // as the write side will have it
	exists   bool              // the id has been used (cur may be a tombstone)
	live     bool              // created and not cancelled
	version  int64             // cur.Version: every applied change +1, a cancel included
	fields   shipment.Fields   // cur's fields, as GET shows them
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

// next makes the request of kind k for the shipment: a command kind's own
// sample (command.Spec.Sample), its outcome predicted by the kind's own
// decision. A kind that cannot apply to the shipment as it is (a patch or a
// cancel of one that is not live) becomes a kind that can: its (re-)PUT.
func (m *model) next(r *rand.Rand, k Kind) request {
	path := "/v1/shipments/" + m.id
	switch k {
	case Fail:
		// No shipment ever reaches this version during a run, so the
		// precondition fails (or, if the shipment is not live, NotFound).
		req := request{kind: k, method: http.MethodPatch, path: path, header: http.Header{}, next: *m,
			body: mustJSON(map[string]string{"recipient": "Nobody"})}
		req.header.Set("Content-Type", command.MediaJSON)
		req.header.Set("If-Match", fmt.Sprintf(`"%d"`, m.version+1_000_000))
		return req
	case Invalid:
		return invalidRequest(r, m.id)
	}
	spec, p := m.sample(r, k)
	req := request{kind: Kind(spec.Name), method: spec.Method, path: strings.Replace(spec.Path, ":id", m.id, 1),
		header: http.Header{}, next: *m}
	if len(spec.Media) > 0 {
		req.body = mustJSON(p)
		req.header.Set("Content-Type", spec.Media[0])
	}
	cmd := command.Command{ShipmentID: m.id, Kind: spec.Kind, Payload: p}
	next, _, err := spec.Decide(cmd, m.cur, m.exists, time.Time{})
	if req.applies = err == nil; req.applies {
		req.next.cur, req.next.exists, req.next.live, req.next.version = next, true, !next.Deleted, next.Version
		req.next.fields = shipment.Fields{Recipient: next.Recipient, Destination: next.Destination,
			WeightGrams: next.WeightGrams, Service: next.Service, Status: next.Status}
	}
	return req
}

// sample draws a payload of kind k for the shipment, or of the first kind
// that has one when k has none (a patch of a shipment that is not live).
func (m *model) sample(r *rand.Rand, k Kind) (command.Spec, command.Payload) {
	specs := command.Specs()
	for _, s := range specs {
		if Kind(s.Name) == k {
			if p, ok := s.Sample(r, m.cur, m.live); ok {
				return s, p
			}
		}
	}
	for _, s := range specs {
		if p, ok := s.Sample(r, m.cur, m.live); ok {
			return s, p
		}
	}
	panic("load: no command kind can apply to a shipment that is not live") // upsert can
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
